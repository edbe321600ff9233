"""``disentangled presets [NAME]``: list the shipped presets, or print one."""

from __future__ import annotations

import argparse

from ..config import preset_names, preset_summary, preset_text

NAME = "presets"
HELP = "list the shipped presets, or print one"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="print this preset's YAML")


def run(args: argparse.Namespace) -> int:
    if args.name:
        print(preset_text(args.name), end="")
        return 0
    names = preset_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {preset_summary(name)}")
    return 0
