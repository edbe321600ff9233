"""Tile images (N,C,H,W) in [0,1] into one picture; encode pictures as PNG and animated GIF."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..io import atomic_write_bytes


def make_grid(
    images: torch.Tensor | np.ndarray, ncol: int, pad: int = 2, pad_value: float = 0.5
) -> torch.Tensor:
    """(N,C,H,W) -> (C, rows*(H+pad)+pad, ncol*(W+pad)+pad), row-major order.

    Cells past N (when N is not a multiple of ``ncol``) are filled with ``pad_value``. The tiling
    is done in NumPy: small copies like these are slower through torch's thread pool.
    """
    arr = images.detach().float().cpu().numpy() if torch.is_tensor(images) else images
    arr = np.asarray(arr, dtype=np.float32)
    n, c, h, w = arr.shape
    rows = max(-(-n // ncol), 1)
    out = np.full((c, rows * (h + pad) + pad, ncol * (w + pad) + pad), pad_value, np.float32)
    cells = np.full((rows * ncol, c, h, w), pad_value, np.float32)
    cells[:n] = arr
    # view the padded picture as (C, rows, H+pad, ncol, W+pad) and drop the cells in
    body = out[:, pad:, pad:].reshape(c, rows, h + pad, ncol, w + pad)
    body[:, :, :h, :, :w] = cells.reshape(rows, ncol, c, h, w).transpose(2, 0, 3, 1, 4)
    return torch.from_numpy(out)


def to_image(grid: torch.Tensor | np.ndarray, scale: int = 1) -> Image.Image:
    """A (C,H,W) picture in [0,1] (C = 1 or 3) as a Pillow image, nearest-neighbour upscaled."""
    arr = grid.detach().float().cpu().numpy() if torch.is_tensor(grid) else np.asarray(grid)
    arr = np.rint(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8).transpose(1, 2, 0)
    arr = arr[..., 0] if arr.shape[2] == 1 else arr
    img = Image.fromarray(np.ascontiguousarray(arr))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return img


def png_bytes(img: Image.Image) -> bytes:
    """The PNG encoding of a Pillow image."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def gif_bytes(frames: Sequence[Image.Image], duration_ms: int = 160) -> bytes:
    """An animated GIF that loops forever, ``duration_ms`` per frame.

    Grey-scale frames keep their exact grey levels (256-entry grey palette); colour frames are
    quantised to one adaptive palette each.
    """
    if not frames:
        raise ValueError("an animation needs at least one frame")
    pal = [p.convert("L") if p.mode == "L" else p.convert("RGB") for p in frames]
    if all(p.mode == "L" for p in pal):
        grey_palette = [g for g in range(256) for _ in range(3)]
        conv = []
        for p in pal:
            q = Image.frombytes("P", p.size, p.tobytes())  # grey level = palette index
            q.putpalette(grey_palette)
            conv.append(q)
        pal = conv
    else:
        pal = [p.quantize(colors=256, method=Image.Quantize.MEDIANCUT) for p in pal]
    buf = io.BytesIO()
    pal[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=pal[1:],
        duration=duration_ms,
        loop=0,
        optimize=False,
        disposal=1,
    )
    return buf.getvalue()


def save_png(grid: torch.Tensor, path: str | Path, scale: int = 1) -> Path:
    """Write a (C,H,W) grid in [0,1] (C = 1 or 3) as a PNG, nearest-neighbour upscaled."""
    atomic_write_bytes(path, png_bytes(to_image(grid, scale)))
    return Path(path)
