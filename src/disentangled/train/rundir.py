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
            with RunLock(p):  # refuses while another process trains in it
                pass
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

    def lock(self) -> RunLock:
        """The run's exclusive lock (use as a context manager)."""
        return RunLock(self.path)

    def save_config(self, cfg: RunConfig) -> None:
        atomic_write_text(self.config, cfg.to_yaml())


class RunLock:
    """An exclusive lock on a run directory: ``RUN_DIR/.lock`` held with ``flock`` and holding the
    owner's pid and host. The kernel drops the lock when its process dies, so a lock left by a
    killed run is taken over safely (and said so); a live owner makes a second process refuse."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / ".lock"
        self._fd: int | None = None
        self.previous_owner: dict | None = None

    def acquire(self) -> RunLock:
        import fcntl
        import json
        import os
        import socket

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(fd)
            os.close(fd)
            who = (
                f"process {owner.get('pid')} on {owner.get('host')}" if owner else "another process"
            )
            raise UserError(
                f"{self.path.parent} is in use by {who}; wait for it or use another --out"
            ) from None
        self.previous_owner = _read_owner(fd) or None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        import os

        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_owner(fd: int) -> dict:
    import json
    import os

    try:
        data = os.pread(fd, 4096, 0)
        owner = json.loads(data) if data else {}
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}
