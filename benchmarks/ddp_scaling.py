"""Data-parallel scaling on CPU: one process with all cores against ``torchrun`` with N processes
of one thread each, same global batch, same steps; images/s from the runs' own logs (median of the
logged windows after the first).

    python benchmarks/ddp_scaling.py [--steps 300] [--batch 64] [--procs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def rate(run: Path) -> float:
    recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rates = [r["images_per_s"] for r in recs if "images_per_s" in r][1:]
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--procs", type=int, default=2)
    args = ap.parse_args()
    common = [
        "--preset",
        "betavae-dsprites",
        f"steps={args.steps}",
        f"batch_size={args.batch}",
        "subset=50000",
        "progress=false",
        "diagnostics_every=0",
        "log_every=25",
        f"checkpoint_every={args.steps}",
    ]
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    with tempfile.TemporaryDirectory() as tmp:
        one, many = Path(tmp) / "one", Path(tmp) / "many"
        subprocess.run(
            [sys.executable, "-m", "disentangled", "train", "--out", str(one), *common],
            check=True,
            capture_output=True,
        )
        env = dict(os.environ, OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 2) // args.procs)))
        subprocess.run(
            [
                torchrun,
                "--standalone",
                f"--nproc_per_node={args.procs}",
                "-m",
                "disentangled",
                "train",
                "--out",
                str(many),
                *common,
            ],
            check=True,
            capture_output=True,
            env=env,
        )
        r1, rn = rate(one), rate(many)
    print(f"# python {' '.join(sys.argv)}")
    print(f"global batch {args.batch}, Burgess beta-VAE, {os.cpu_count()} CPUs")
    print(f"1 process:            {r1:8.0f} images/s")
    print(f"{args.procs} processes (gloo):  {rn:8.0f} images/s   ({rn / r1:.2f}x)")


if __name__ == "__main__":
    main()
