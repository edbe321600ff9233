"""The training loop, checkpoints and the run directory."""

from .checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from .loop import Session, build_session, train
from .rundir import RunDir

__all__ = [
    "RunDir",
    "Session",
    "build_session",
    "list_checkpoints",
    "load_checkpoint",
    "save_checkpoint",
    "train",
]
