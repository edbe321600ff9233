"""Bit-packing of binary images: 8 pixels per byte, most significant bit first (``np.packbits``)."""

from __future__ import annotations

import sys

import numpy as np
import torch

_SHIFTS: dict[torch.device, torch.Tensor] = {}


def pack(images: np.ndarray) -> np.ndarray:
    """Binary images (n, ...) of 0/1 integers or bools -> packed uint8 (n, ceil(P/8)), P pixels."""
    flat = np.asarray(images).reshape(len(images), -1)
    return np.packbits(flat, axis=1)  # any nonzero pixel is a 1 bit


def _word_shifts(device: torch.device) -> torch.Tensor:
    """Right shifts taking the pixels of a little-endian int32 word in packbits order: (32,)."""
    shifts = _SHIFTS.get(device)
    if shifts is None:
        q = torch.arange(32, dtype=torch.int32)
        shifts = (8 * (q // 8) + 7 - q % 8).to(device)
        _SHIFTS[device] = shifts
    return shifts


def unpack(
    packed: torch.Tensor, num_pixels: int, dtype: torch.dtype = torch.uint8, on: int = 1
) -> torch.Tensor:
    """Packed uint8 (B, nbytes) -> pixels (B, P) of ``dtype``, 0 or ``on``, on the packed device.

    CPU: ``np.unpackbits`` (numpy's single-threaded cast beats torch's threaded one on small
    batches). Other devices: shifts of int32 words, vectorised on the device.
    """
    if packed.device.type == "cpu":
        px = np.unpackbits(packed.numpy(), axis=1, count=num_pixels)
        if on != 1:
            px *= np.uint8(on)
        if dtype == torch.float32:
            px = px.astype(np.float32)
        return torch.from_numpy(px).to(dtype)
    px = unpack_torch(packed, num_pixels)
    return (px * on if on != 1 else px).to(dtype)


def unpack_torch(packed: torch.Tensor, num_pixels: int) -> torch.Tensor:
    """Pure-torch unpacking (used on accelerators): uint8 (B, nbytes) -> 0/1 int (B, P)."""
    packed = packed.contiguous()
    if packed.shape[1] % 4 == 0 and sys.byteorder == "little":
        words = packed.view(torch.int32)
        px = (words.unsqueeze(-1) >> _word_shifts(packed.device)) & 1
    else:
        shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=packed.device)
        px = (packed.unsqueeze(-1) >> shifts) & 1
    return px.reshape(packed.shape[0], -1)[:, :num_pixels]
