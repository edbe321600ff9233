"""Optional TensorBoard logging of training scalars and pictures (needs ``tensorboard``).

``metrics.jsonl`` stays the record of a run; this writes the same numbers as TensorBoard events.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import UserError

NOT_LOGGED = frozenset({"step", "event", "message"})


class TensorBoardLogger:
    """Event files in ``folder``. ``scalars`` logs a metrics record (``*_dims`` lists as one
    scalar per dimension, ``key/0``, ``key/1``, ...); ``images`` logs a (C,H,W) grid in [0,1];
    ``traversals`` draws and logs a model's traversal grid."""

    def __init__(self, folder: str | Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError(
                "TensorBoard logging needs the tensorboard package: pip install tensorboard "
                "(or set train.tensorboard=false)"
            ) from None
        self.folder = Path(folder)
        self._writer = SummaryWriter(log_dir=str(self.folder))

    def scalars(self, step: int, record: dict[str, Any]) -> None:
        """Every finite number of ``record`` under its key; lists per element."""
        for key, value in record.items():
            if key in NOT_LOGGED:
                continue
            if isinstance(value, list):
                for i, v in enumerate(value):
                    if _finite(v):
                        self._writer.add_scalar(f"{key}/{i}", float(v), step)
            elif _finite(value):
                self._writer.add_scalar(key, float(value), step)

    def images(self, step: int, name: str, grid: torch.Tensor) -> None:
        """A (C,H,W) picture in [0,1], C = 1 or 3."""
        if grid.dim() != 3 or grid.shape[0] not in (1, 3):
            raise ValueError(f"expected a (C,H,W) picture, C = 1 or 3, got {tuple(grid.shape)}")
        picture = grid.detach().float().cpu().clamp(0, 1)
        self._writer.add_image(name, picture, step, dataformats="CHW")

    def traversals(self, step: int, model, dataset, device, name: str = "traversals") -> None:
        """The labelled traversal grid of one fixed seed image (prior mode, latents by mean KL over
        256 data images), as :meth:`images` ``name``."""
        from .traversal_figures import render_traversals

        t = render_traversals(model, dataset, device, seeds=1, animate=False, sample_size=256)
        picture = torch.from_numpy(np.asarray(t.grids[0].convert("L"), dtype=np.float32) / 255.0)
        self.images(step, name, picture[None])

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> TensorBoardLogger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
