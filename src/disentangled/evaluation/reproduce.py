"""Train a preset for several seeds (one run directory each) and print the accuracy of its
categorical code as an unsupervised classifier of the test labels.

    python -m disentangled.evaluation.reproduce --preset jointvae-mnist --seeds 0 1 2 \\
        --out runs/jointvae-mnist [key=value ...]

A run directory that already exists is resumed from its last checkpoint with its own saved
config (the overrides of resumable keys such as ``steps`` and ``time_limit`` apply to it; the
others were fixed when it was created) and not retrained once complete, so an interrupted
reproduction picks up where it stopped. Each seed's scores are also written to
``RUN/eval/<file>``. The test split is used when the dataset has one (MNIST, Fashion-MNIST), else
the training data. :data:`DISCRETE_CODE` scores a JointVAE's categorical latents; the InfoGAN
driver (:mod:`disentangled.evaluation.infogan`) runs the same loop with its own scoring.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import RunConfig, apply_override, from_dict, load_config
from ..errors import UserError
from ..io import atomic_write_text
from ..train import RunDir, train
from .discrete_code import evaluate_discrete_code, held_out_split


@dataclass(frozen=True)
class Scoring:
    """How a reproduction scores a trained model: ``score(model, dataset, device)`` returns
    ``{"disc_i": {accuracy_hungarian, accuracy_majority, nmi, ...}}``, stored under ``key`` in the
    summary and written to ``RUN/eval/<file>``."""

    key: str
    file: str
    score: Callable[[Any, Any, Any], dict[str, dict[str, Any]]]


DESCRIPTION = "train a preset for several seeds and print the test accuracy of its categorical code"
DISCRETE_CODE = Scoring("discrete_code", "discrete_code.json", evaluate_discrete_code)
UNKNOWN_TIMING = {"train_seconds": None, "steps_per_second": None}  # complete before, no record


def open_seed_run(
    preset: str, seed: int, out: Path, overrides: list[str]
) -> tuple[RunConfig, RunDir, bool]:
    """(config, run directory ``out/seed{seed}``, whether it is resumed).

    An existing run keeps its saved config, with the overrides of the keys a resume may change
    applied (and saved); a new one is created from ``preset``, ``overrides`` and ``seed``."""
    from ..commands.train import RESUMABLE

    folder = Path(out) / f"seed{seed}"
    if (folder / "config.yaml").is_file():
        run = RunDir.open(folder)
        raw = run.load_config().to_dict()
        for item in overrides:
            if item.partition("=")[0].strip().split(".")[-1] in RESUMABLE:
                apply_override(raw, item)
        cfg = from_dict(raw)
        run.save_config(cfg)
        return cfg, run, True
    cfg = load_config(preset=preset, overrides=[*overrides, f"seed={seed}"])
    return cfg, RunDir.create(folder, cfg), False


def last_step(run: RunDir) -> int:
    """Step of the newest checkpoint of a run (0 when it has none)."""
    from ..train.checkpoint import list_checkpoints, load_checkpoint

    done = list_checkpoints(run.checkpoints)
    return load_checkpoint(done[-1]).step if done else 0


def run_seed(
    preset: str, seed: int, out: Path, overrides: list[str], scoring: Scoring = DISCRETE_CODE
) -> dict:
    """Train (or resume) one seed, score it with ``scoring`` on the test split (the training data
    when the dataset has none) and write the summary to ``RUN/eval/<scoring.file>``; returns
    ``{seed, run, step, steps, trained_this_call, train_seconds, steps_per_second, split,
    <scoring.key>: scores}``. The timing is this call's when it trained; a run that was already
    complete keeps what its earlier summary recorded (None when there is none)."""
    cfg, run, resume = open_seed_run(preset, seed, Path(out), overrides)
    first = last_step(run) if resume else 0
    start = time.perf_counter()
    session = train(cfg, run, resume=resume)
    seconds = time.perf_counter() - start
    test = held_out_split(cfg.data.name, cfg.data.path, cfg.data.size)
    trained = session.step > first
    if trained:
        times = timing(seconds, session.step - first)
    else:  # a complete run scored again keeps the training time its earlier summary recorded
        times = earlier_timing(run.eval / scoring.file, session.step) or UNKNOWN_TIMING
    summary = {
        "seed": seed,
        "run": str(run.path),
        "step": session.step,
        "steps": cfg.train.steps,
        "trained_this_call": trained,
        **times,
        "split": "test" if test is not None else "train",
        scoring.key: scoring.score(
            session.model, test if test is not None else session.dataset, session.device
        ),
    }
    run.eval.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run.eval / scoring.file, json.dumps(summary, indent=2) + "\n")
    return summary


def timing(seconds: float, steps: int) -> dict[str, float]:
    """``train_seconds`` and ``steps_per_second`` of ``steps`` trained in ``seconds``."""
    return {
        "train_seconds": round(seconds, 1),
        "steps_per_second": round(steps / max(seconds, 1e-9), 3),
    }


def earlier_timing(path: Path, step: int) -> dict[str, float] | None:
    """The training time an earlier summary at ``path`` recorded for a run at ``step``, or None
    when there is no such summary (missing, unreadable, or written at another step)."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(old, dict) or old.get("step") != step:
        return None
    values = [old.get(k) for k in ("train_seconds", "steps_per_second")]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    return {"train_seconds": values[0], "steps_per_second": values[1]}


def format_seed(s: dict, key: str = DISCRETE_CODE.key) -> str:
    """One line: the first categorical's scores, the step reached and the training time."""
    d = s[key]["disc_0"]
    head = (
        f"seed {s['seed']}: {s['split']} accuracy {d['accuracy_hungarian']:.4f} "
        f"(majority {d['accuracy_majority']:.4f}, NMI {d['nmi']:.4f}) at step {s['step']} of "
        f"{s['steps']}, "
    )
    seconds, rate = s["train_seconds"], s["steps_per_second"]
    if s.get("trained_this_call", True):
        return f"{head}{seconds:.0f} s of training this call ({rate:.3g} steps/s)"
    if seconds is not None:  # the earlier summary's figures
        return f"{head}already trained ({seconds:.0f} s of training recorded, {rate:.3g} steps/s)"
    return f"{head}already trained (no training time recorded)"


def format_spread(accs: list[float]) -> str:
    """The median, minimum, maximum and spread (max − min) of the seeds' accuracies."""
    return (
        f"accuracy over {len(accs)} seed(s): median {statistics.median(accs):.4f}, "
        f"min {min(accs):.4f}, max {max(accs):.4f}, spread {max(accs) - min(accs):.4f}"
    )


def main(
    argv: list[str] | None = None,
    *,
    default_preset: str = "jointvae-mnist",
    scoring: Scoring = DISCRETE_CODE,
    module: str = "disentangled.evaluation.reproduce",
) -> int:
    """``python -m MODULE [--preset P] [--seeds S ..] [--out DIR] [key=value ..]``: train each
    seed (resuming unfinished runs), print each seed's accuracy, then the median and the spread.
    Exit code 2 with a one-line message on a user error."""
    ap = argparse.ArgumentParser(prog=f"python -m {module}", description=DESCRIPTION)
    ap.add_argument("--preset", default=default_preset)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=None, help="parent folder (default runs/PRESET)")
    ap.add_argument("overrides", nargs="*", metavar="key=value")
    args = ap.parse_args(argv)
    out = args.out or Path("runs") / args.preset
    print(f"# python -m {module} {' '.join(sys.argv[1:] if argv is None else argv)}")
    accs = []
    try:
        for seed in args.seeds:
            s = run_seed(args.preset, seed, out, list(args.overrides), scoring)
            accs.append(s[scoring.key]["disc_0"]["accuracy_hungarian"])
            print(format_seed(s, scoring.key), flush=True)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_spread(accs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
