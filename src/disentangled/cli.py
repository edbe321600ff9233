"""Command line: ``disentangled <command>``; each command is a module in ``disentangled.commands``.

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Errors a user can cause end with one line on stderr and exit code 2; a diverged run exits 3.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from types import ModuleType

from . import commands
from .errors import TrainingDiverged, UserError


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as UserError (one line, exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def command_modules() -> list[ModuleType]:
    """Every module of ``disentangled.commands`` that defines a command, sorted by name."""
    mods = []
    for info in pkgutil.iter_modules(commands.__path__):
        if not info.name.startswith("_"):
            mod = importlib.import_module(f"{commands.__name__}.{info.name}")
            if hasattr(mod, "NAME") and hasattr(mod, "run"):
                mods.append(mod)
    return sorted(mods, key=lambda m: m.NAME)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    p = _Parser(prog="disentangled", description="Disentangled representation learning.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    table = {}
    for mod in command_modules():
        mod.add_arguments(sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP))
        table[mod.NAME] = mod
    return p, table


def main(argv: list[str] | None = None) -> int:
    try:
        parser, table = build_parser()
        args = parser.parse_args(argv)
        return int(table[args.command].run(args))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TrainingDiverged as exc:
        print(f"error: training diverged: {exc}; the last good checkpoint is kept", file=sys.stderr)
        return 3
    except KeyboardInterrupt as exc:
        print(f"interrupted{': ' + str(exc) if str(exc) else ''}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
