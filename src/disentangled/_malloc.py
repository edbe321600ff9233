"""glibc allocator tuning for training loops.

With glibc's defaults, the large activation buffers of a conv net are mmap-ed and returned to the
OS on every step, costing millions of page faults per minute on a CPU. Raising the mmap threshold,
the trim threshold and the top pad keeps that memory in the heap for reuse. Set
``DISENTANGLED_MALLOC_TUNING=0`` to leave the allocator alone. No effect outside glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

_done: bool | None = None


def tune_malloc() -> bool:
    """Apply the tuning once per process; returns whether it took effect."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if os.environ.get("DISENTANGLED_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith(
        "linux"
    ):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return _done
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)  # glibc's maximum on 64-bit
    ok &= mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024)
    ok &= mallopt(M_TOP_PAD, 64 * 1024 * 1024)
    _done = bool(ok)
    return _done
