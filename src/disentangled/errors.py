"""Errors a user can cause: the CLI turns them into one line and exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem with user input (config, data file, checkpoint): shown as one line, exit code 2."""

    def __str__(self) -> str:
        text = super().__str__()
        return text.replace("\r", "\\r").replace("\n", "\\n")


class ConfigError(UserError):
    """An invalid configuration value, key or preset."""


class DataError(UserError):
    """A missing, truncated, corrupt or wrong-shaped data file, or a checksum mismatch."""


class CheckpointError(UserError):
    """An unreadable or incompatible checkpoint."""


class RunWriteError(UserError):
    """The run directory cannot be written (disk full, read-only, permission denied)."""


class TrainingDiverged(Exception):
    """A non-finite loss term: training stops and the last good checkpoint is kept."""
