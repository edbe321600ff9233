"""Cost of the in-training information diagnostics at the default interval.

Trains the beta-VAE preset for ``--steps`` steps with the default diagnostics
(``diagnostics_every=1000``, ``diagnostics_samples=4096``; one diagnostics pass at step 1000 and
none at the end when steps = 1000) and measures, from the run's own log, the seconds spent in
diagnostics against the seconds spent training.

    python benchmarks/diagnostics_cost.py [--steps 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--every", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=4096)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        cmd = [
            sys.executable,
            "-m",
            "disentangled",
            "train",
            "--preset",
            "betavae-dsprites",
            "--out",
            str(run),
            f"steps={args.steps}",
            f"diagnostics_every={args.every}",
            f"diagnostics_samples={args.samples}",
            "progress=false",
            "log_every=50",
            f"checkpoint_every={args.steps}",
        ]
        subprocess.run(cmd, check=True, capture_output=True)
        recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in recs if "loss" in r]
    diag = [r for r in recs if r.get("kind") == "diagnostics"]
    total = train[-1]["time"]
    spent = sum(d["diagnostics_seconds"] for d in diag)
    print(f"# python {' '.join(sys.argv)}")
    print(
        f"{args.steps} steps in {total:.1f} s wall, of which {len(diag)} diagnostics passes "
        f"({args.samples} images each) took {spent:.2f} s"
    )
    print(
        f"diagnostics cost: {100 * spent / (total - spent):.1f} % of training time "
        f"at diagnostics_every={args.every}"
    )


if __name__ == "__main__":
    main()
