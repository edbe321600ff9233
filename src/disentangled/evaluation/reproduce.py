"""Train a preset for several seeds (one run directory each) and print the discrete-code accuracy.

    python -m disentangled.evaluation.reproduce --preset jointvae-mnist --seeds 0 1 2 \\
        --out runs/jointvae-mnist [key=value ...]

A run directory that already exists is resumed from its last checkpoint (with its own saved
config) and not retrained once complete, so an interrupted reproduction picks up where it
stopped. Each seed's scores are also written to ``RUN/eval/discrete_code.json``. The test split
is used when the dataset has one (MNIST, Fashion-MNIST), else the training data.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from ..config import load_config
from ..errors import UserError
from ..io import atomic_write_text
from ..train import RunDir, train
from .discrete_code import evaluate_discrete_code, held_out_split


def run_seed(preset: str, seed: int, out: Path, overrides: list[str]) -> dict:
    """Train (or resume) one seed and score its discrete code; returns a summary dict."""
    folder = out / f"seed{seed}"
    if (folder / "config.yaml").is_file():
        run = RunDir.open(folder)
        cfg = run.load_config()
        resume = True
    else:
        cfg = load_config(preset=preset, overrides=[*overrides, f"seed={seed}"])
        run = RunDir.create(folder, cfg)
        resume = False
    start = time.perf_counter()
    session = train(cfg, run, resume=resume)
    seconds = time.perf_counter() - start
    test = held_out_split(cfg.data.name, cfg.data.path)
    split = "test" if test is not None else "train"
    scores = evaluate_discrete_code(session.model, test or session.dataset, session.device)
    summary = {
        "seed": seed,
        "run": str(folder),
        "step": session.step,
        "steps": cfg.train.steps,
        "train_seconds": round(seconds, 1),
        "split": split,
        "discrete_code": scores,
    }
    run.eval.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run.eval / "discrete_code.json", json.dumps(summary, indent=2) + "\n")
    return summary


def format_seed(s: dict) -> str:
    d = s["discrete_code"]["disc_0"]
    return (
        f"seed {s['seed']}: {s['split']} accuracy {d['accuracy_hungarian']:.4f} "
        f"(majority {d['accuracy_majority']:.4f}, NMI {d['nmi']:.4f}) at step {s['step']} of "
        f"{s['steps']}, {s['train_seconds']:.0f} s of training this call"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="jointvae-mnist")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=None, help="parent folder (default runs/PRESET)")
    ap.add_argument("overrides", nargs="*", metavar="key=value")
    args = ap.parse_args(argv)
    out = args.out or Path("runs") / args.preset
    print(f"# python -m disentangled.evaluation.reproduce {' '.join(argv or sys.argv[1:])}")
    try:
        results = []
        for seed in args.seeds:
            results.append(run_seed(args.preset, seed, out, list(args.overrides)))
            print(format_seed(results[-1]), flush=True)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    accs = [r["discrete_code"]["disc_0"]["accuracy_hungarian"] for r in results]
    print(f"median accuracy over {len(accs)} seed(s): {statistics.median(accs):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
