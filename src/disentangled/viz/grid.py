"""Tile images (N,C,H,W) in [0,1] into one picture and write PNGs with Pillow."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..io import atomic_write_bytes


def make_grid(
    images: torch.Tensor, ncol: int, pad: int = 2, pad_value: float = 0.5
) -> torch.Tensor:
    """(N,C,H,W) -> (C, rows*(H+pad)+pad, ncol*(W+pad)+pad), row-major order."""
    n, c, h, w = images.shape
    rows = -(-n // ncol)
    out = torch.full((c, rows * (h + pad) + pad, ncol * (w + pad) + pad), pad_value)
    for i in range(n):
        r, k = divmod(i, ncol)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        out[:, y : y + h, x : x + w] = images[i].float().cpu()
    return out


def save_png(grid: torch.Tensor, path: str | Path, scale: int = 1) -> Path:
    """Write a (C,H,W) grid in [0,1] (C = 1 or 3) as a PNG, nearest-neighbour upscaled."""
    arr = (grid.clamp(0, 1).mul(255).round().to(torch.uint8)).permute(1, 2, 0).numpy()
    arr = arr[..., 0] if arr.shape[2] == 1 else arr
    img = Image.fromarray(np.ascontiguousarray(arr))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)
