"""The run directory: config.yaml, metrics.jsonl, checkpoints/, figures/, eval/, report.html."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ..config import RunConfig, from_dict, load_yaml
from ..errors import ConfigError, UserError
from ..io import atomic_write_text

MARKER = "config.yaml"


@dataclass(frozen=True)
class RunDir:
    """Paths of one run."""

    path: Path

    @property
    def config(self) -> Path:
        return self.path / MARKER

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def figures(self) -> Path:
        return self.path / "figures"

    @property
    def eval(self) -> Path:
        return self.path / "eval"

    @property
    def report(self) -> Path:
        return self.path / "report.html"

    @classmethod
    def create(cls, path: str | Path, cfg: RunConfig, *, overwrite: bool = False) -> RunDir:
        """Make a fresh run directory and write its config; never clobbers without ``overwrite``."""
        p = Path(path)
        if p.exists() and (not p.is_dir() or any(p.iterdir())):
            if not overwrite:
                raise UserError(
                    f"{p} already exists and is not empty; pass --overwrite to replace it"
                )
            if not (p / MARKER).is_file():
                raise UserError(
                    f"refusing to overwrite {p}: it is not a run directory (no {MARKER})"
                )
            shutil.rmtree(p)
        try:
            p.mkdir(parents=True, exist_ok=True)
            run = cls(p)
            run.checkpoints.mkdir(exist_ok=True)
            atomic_write_text(run.config, cfg.to_yaml())
        except OSError as exc:
            raise UserError(f"cannot create run directory {p}: {exc.strerror or exc}") from None
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run directory (must hold config.yaml)."""
        p = Path(path)
        if not (p / MARKER).is_file():
            raise UserError(f"{p} is not a run directory (no {MARKER})")
        return cls(p)

    def load_config(self) -> RunConfig:
        try:
            text = self.config.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {self.config}: {exc}") from None
        return from_dict(load_yaml(text, str(self.config)))

    def save_config(self, cfg: RunConfig) -> None:
        atomic_write_text(self.config, cfg.to_yaml())
