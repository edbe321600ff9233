"""dSprites-style sprites: one binary mask per (shape, scale, orientation), placed by slicing.

Geometry (pixel units on the 64x64 canvas, x right, y down):
- a sprite's bounding size at scale 1 is ``SIDE`` = 21 px (about a third of the canvas): the square
  is 21x21, the ellipse 21 x 10.5 (long axis horizontal at orientation 0), the heart (the implicit
  curve ``(x^2+y^2-1)^3 = x^2 y^3``, lobes up, point down) 21 px wide; scale multiplies all lengths.
- orientation rotates counter-clockwise (as displayed) about the centre of the bounding box.
- the centre sits on pixel ``16 + i`` for position index ``i`` = 0..31 (1 px per step, centres at
  0.26..0.74 of the canvas), so a mask of ``WINDOW`` = 33 px placed at offset ``i`` never clips.
- masks are rendered with 8x8 supersampling and kept where coverage >= 1/2.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

CANVAS = 64
WINDOW = 33  # mask side in px; the sprite centre is the centre of pixel (16, 16)
POSITIONS = CANVAS - WINDOW + 1  # 32 integer placements per axis
SIDE = 21.0  # bounding size of a sprite at scale 1, px
SUPERSAMPLE = 8
ELLIPSE_ASPECT = 0.5  # short / long axis
# the implicit heart spans x in [-1.139, 1.139], y in [-1, 1.236]: centre and half-width
_HEART_HALF = 1.139
_HEART_YC = 0.118


def _inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Point-in-shape test in units where the sprite's bounding box is [-1, 1]^2 (y up)."""
    if shape == 0:  # square
        return np.maximum(np.abs(u), np.abs(v)) <= 1.0
    if shape == 1:  # ellipse
        w = v / ELLIPSE_ASPECT
        return u * u + w * w <= 1.0
    x2 = u * _HEART_HALF
    x2 *= x2
    y = v * _HEART_HALF + _HEART_YC
    t = x2 + y * y - 1.0
    return t * t * t <= x2 * y * y * y


def render_masks(scales: np.ndarray, angles: np.ndarray, num_shapes: int = 3) -> np.ndarray:
    """Binary masks for every (shape, scale, angle): bool (num_shapes, S, A, WINDOW, WINDOW).

    Vectorised over scales and supersampled pixels; loops only over shapes x angles.
    """
    ss = SUPERSAMPLE
    d = ((np.arange(WINDOW * ss) + 0.5) / ss - WINDOW / 2).astype(np.float32)
    X, Y = d[None, :], -d[:, None]  # offsets from the centre, y up
    half = (SIDE * np.asarray(scales, dtype=np.float32) / 2)[:, None, None]
    out = np.empty((num_shapes, len(scales), len(angles), WINDOW, WINDOW), dtype=bool)
    for a, theta in enumerate(angles):
        c, s = float(np.cos(theta)), float(np.sin(theta))  # python floats keep float32
        u = (c * X + s * Y)[None] / half  # rotate points by -theta = shape by +theta
        v = (-s * X + c * Y)[None] / half
        for shape in range(num_shapes):
            cover = _inside(shape, u, v).reshape(len(scales), WINDOW, ss, WINDOW, ss)
            out[shape, :, a] = cover.sum(axis=(2, 4)) * 2 >= ss * ss
    return out


def compose(masks: np.ndarray, pos_x: np.ndarray, pos_y: np.ndarray) -> np.ndarray:
    """Masks bool (n, WINDOW, WINDOW) placed at positions (n,), (n,) -> 0/1 uint8 (n, 64, 64)."""
    n = len(masks)
    out = np.zeros((n, CANVAS, CANVAS), dtype=np.uint8)
    # one flat fancy assignment (much faster than 3 broadcast index arrays)
    window = (np.arange(WINDOW)[:, None] * CANVAS + np.arange(WINDOW)[None, :]).ravel()
    corner = np.arange(n) * CANVAS * CANVAS + np.asarray(pos_y) * CANVAS + np.asarray(pos_x)
    out.reshape(-1)[(corner[:, None] + window[None, :]).ravel()] = masks.reshape(-1)
    return out


def packed_placements(mask: np.ndarray) -> np.ndarray:
    """All POSITIONS^2 placements of one mask, bit-packed: uint8 (posX, posY, 64, 8).

    Packs the 33 mask rows once per horizontal offset, then every vertical offset is a window
    of a zero-padded column of packed rows (no per-image work).
    """
    ar = np.arange(WINDOW)
    pos = np.arange(POSITIONS)[:, None, None]
    shifted = np.zeros((POSITIONS, WINDOW, CANVAS), dtype=bool)
    shifted[pos, ar[None, :, None], pos + ar[None, None, :]] = mask[None]
    rows = np.packbits(shifted, axis=-1)  # (posX, WINDOW, 8)
    pad = np.zeros((POSITIONS, CANVAS + POSITIONS - 1, CANVAS // 8), dtype=np.uint8)
    pad[:, POSITIONS - 1 : POSITIONS - 1 + WINDOW] = rows
    win = sliding_window_view(pad, CANVAS, axis=1)  # (posX, a, 8, 64): rows a..a+63
    # posY = j puts the mask at rows j..j+32, i.e. the window starting at a = POSITIONS-1-j
    return win[:, ::-1].transpose(0, 1, 3, 2)
