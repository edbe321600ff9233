"""``disentangled train``: train from a preset or config file, or resume a run."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError

NAME = "train"
HELP = "train a model from a preset or config file, or resume a run"

# Keys that may change when a run is resumed; everything else is fixed by the run's config.
RESUMABLE = (
    "steps",
    "time_limit",
    "progress",
    "log_every",
    "checkpoint_every",
    "keep_checkpoints",
    "device",
)


def add_arguments(t: argparse.ArgumentParser) -> None:
    src = t.add_mutually_exclusive_group()
    src.add_argument("--preset", help="a shipped preset (see `disentangled presets`)")
    src.add_argument("--config", help="a YAML config file")
    src.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    t.add_argument("--out", metavar="DIR", help="run directory to create (default runs/NAME)")
    t.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    t.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")


def run(args: argparse.Namespace) -> int:
    from ..config import apply_override, from_dict, load_config
    from ..train import RunDir, train
    from ..train.distributed import end_distributed, init_distributed
    from ..viz.run_figures import write_run_figures

    if args.resume:
        if args.out or args.overwrite:
            raise UserError("--resume continues a run in place; --out/--overwrite do not apply")
        run_dir = RunDir.open(args.resume)
        raw = run_dir.load_config().to_dict()
        for item in args.overrides:
            key = item.partition("=")[0].strip()
            if key.removeprefix("train.") not in RESUMABLE:
                raise UserError(
                    f"cannot change {key!r} when resuming; changeable: {', '.join(RESUMABLE)}"
                )
            apply_override(raw, item)
        cfg = from_dict(raw)
    else:
        cfg = load_config(preset=args.preset, path=args.config, overrides=args.overrides)
    info = init_distributed(cfg.train.device)
    if args.resume:
        if info.is_main:
            run_dir.save_config(cfg)
    else:
        out = Path(args.out) if args.out else Path("runs") / cfg.name
        run_dir = RunDir.create(out, cfg, overwrite=args.overwrite) if info.is_main else RunDir(out)
    if info.enabled:
        import torch.distributed as dist

        dist.barrier()  # the run directory exists before any rank trains
    clean = False
    try:
        session = train(cfg, run_dir, resume=bool(args.resume))
        clean = True
    finally:
        if info.enabled:
            end_distributed(clean)
    if not info.is_main:
        return 0
    figures = write_run_figures(session.model, session.dataset, run_dir.figures, session.device)
    last = session.history[-1] if session.history else {}
    print(f"run directory: {run_dir.path}")
    for line in summary_lines(session.model, session.step, last):
        print(f"  {line}")
    print(f"  checkpoint       {sorted(run_dir.checkpoints.iterdir())[-1]}")
    print(f"  metrics          {run_dir.metrics}")
    for name, path in figures.items():
        print(f"  {name:<16} {path}")
    return 0


def summary_lines(model, step: int, last: dict) -> list[str]:
    """The last logged terms: loss, reconstruction and KL of a VAE; an InfoGAN's losses, D's
    accuracies and L_I per code against H(c)."""
    from ..models.kind import is_generative_adversarial

    if is_generative_adversarial(model):
        from ..evaluation.infogan import training_summary

        first, *rest = training_summary(model.codes, last)
        return [f"step {step}: {first}", *rest]
    nan = float("nan")
    return [
        f"step {step}: loss {last.get('loss', nan):.4g}, "
        f"recon {last.get('recon', nan):.4g}, kl {last.get('kl', nan):.4g} nats"
    ]
