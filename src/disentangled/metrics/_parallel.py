"""Independent fits on a thread per core (numpy and the scikit-learn solvers release the GIL)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> list[R]:
    """``[fn(x) for x in items]`` on up to ``workers`` threads (default: a thread per core);
    the results in the items' order. Only the wall time depends on the threads."""
    items = list(items)
    n = max(1, min(len(items), workers or available_cores()))
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, items))
