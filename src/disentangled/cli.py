"""Command line: ``disentangled train | presets``.

Errors a user can cause end with one line on stderr and exit code 2; a diverged run exits 3.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import TrainingDiverged, UserError

# Keys that may change when a run is resumed; everything else is fixed by the run's config.
RESUMABLE_KEYS = {
    "steps",
    "train.steps",
    "time_limit",
    "train.time_limit",
    "progress",
    "train.progress",
    "log_every",
    "train.log_every",
    "checkpoint_every",
    "train.checkpoint_every",
    "device",
    "train.device",
    "keep_checkpoints",
    "train.keep_checkpoints",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as UserError (one line, exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="disentangled", description="Disentangled representation learning.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a model from a preset or config file")
    src = t.add_mutually_exclusive_group()
    src.add_argument("--preset", help="a shipped preset (see `disentangled presets`)")
    src.add_argument("--config", help="a YAML config file")
    src.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    t.add_argument("--out", metavar="DIR", help="run directory to create (default runs/NAME)")
    t.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    t.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")

    pr = sub.add_parser("presets", help="list the shipped presets, or print one")
    pr.add_argument("name", nargs="?", help="print this preset's YAML")
    return p


def cmd_presets(args: argparse.Namespace) -> int:
    from .config import preset_names, preset_summary, preset_text

    if args.name:
        print(preset_text(args.name), end="")
        return 0
    names = preset_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {preset_summary(name)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .config import apply_override, from_dict, load_config
    from .train import RunDir, train
    from .viz.run_figures import write_run_figures

    if args.resume:
        if args.out or args.overwrite:
            raise UserError("--resume continues a run in place; --out/--overwrite do not apply")
        run = RunDir.open(args.resume)
        raw = run.load_config().to_dict()
        for item in args.overrides:
            key = item.partition("=")[0].strip()
            if key not in RESUMABLE_KEYS:
                raise UserError(
                    f"cannot change {key!r} when resuming; changeable: steps, time_limit, "
                    "progress, "
                    "log_every, checkpoint_every, keep_checkpoints, device"
                )
            apply_override(raw, item)
        cfg = from_dict(raw)
        run.save_config(cfg)
    else:
        cfg = load_config(preset=args.preset, path=args.config, overrides=args.overrides)
        out = Path(args.out) if args.out else Path("runs") / cfg.name
        run = RunDir.create(out, cfg, overwrite=args.overwrite)
    session = train(cfg, run, resume=bool(args.resume))
    figures = write_run_figures(session.model, session.dataset, run.figures, session.device)
    last = session.history[-1] if session.history else {}
    print(f"run directory: {run.path}")
    print(
        f"  step {session.step}, loss {last.get('loss', float('nan')):.4g}, "
        f"recon {last.get('recon', float('nan')):.4g}, kl {last.get('kl', float('nan')):.4g} nats"
    )
    print(f"  checkpoint:  {sorted(run.checkpoints.iterdir())[-1]}")
    print(f"  metrics:     {run.metrics}")
    for name, path in figures.items():
        print(f"  {name + ':':<13}{path}")
    return 0


COMMANDS = {"train": cmd_train, "presets": cmd_presets}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TrainingDiverged as exc:
        print(f"error: training diverged: {exc}; the last good checkpoint is kept", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
