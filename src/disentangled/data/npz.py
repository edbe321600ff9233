"""Reading arrays out of an .npz without unpickling and without holding a whole array in memory."""

from __future__ import annotations

import contextlib
import math
import os
import tokenize
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from disentangled.errors import DataError

# what a damaged zip / deflate stream / .npy header raises while being opened or read: zipfile
# raises NotImplementedError (a flipped version, flag or compression method) and RuntimeError
# (a flipped "encrypted" flag); numpy's header parser TokenError or SyntaxError on mangled text
READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    NotImplementedError,
    RuntimeError,
    SyntaxError,
    tokenize.TokenError,
)


class ArrayStream:
    """One C-ordered array inside an npz, read row chunk by row chunk (``shape``, ``dtype``).

    ``size`` is the member's uncompressed size in bytes (from the zip directory): a header whose
    shape needs more or fewer bytes than that is refused before anything is read or allocated.
    """

    def __init__(self, path: Path, key: str, fp: IO[bytes], size: int | None = None) -> None:
        self.path, self.key, self._fp = path, key, fp
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        if dtype.hasobject or fortran or not shape or min(shape) < 0:
            raise DataError(
                f"{path}: '{key}' is not a plain C-ordered numeric array (dtype {dtype}, "
                f"shape {shape}); this is not a valid dataset file"
            )
        self.shape: tuple[int, ...] = tuple(shape)
        self.dtype: np.dtype = dtype
        # exact integers: a forged header's dimensions may multiply past 2**63
        self._row_bytes = math.prod(shape[1:]) * dtype.itemsize
        self.nbytes = shape[0] * self._row_bytes
        if size is not None and (held := size - fp.tell()) != self.nbytes:
            raise DataError(
                f"{path}: '{key}' declares shape {self.shape} ({self.nbytes} bytes) but holds "
                f"{held} bytes; truncated or corrupt"
            )

    def read(self, rows: int) -> np.ndarray:
        """The next rows: (rows, *shape[1:]); DataError if the stream ends early or is corrupt."""
        want = rows * self._row_bytes
        try:
            buf = self._fp.read(want)
        except READ_ERRORS as exc:
            raise DataError(f"{self.path}: '{self.key}' is corrupt ({exc})") from exc
        if len(buf) != want:
            raise DataError(f"{self.path}: '{self.key}' ends early (truncated file)")
        return np.frombuffer(buf, dtype=self.dtype).reshape(rows, *self.shape[1:])

    def finish(self) -> None:
        """Check that the stream ends here, which also makes zipfile verify the member's CRC."""
        try:
            extra = self._fp.read(1)
        except READ_ERRORS as exc:
            raise DataError(f"{self.path}: '{self.key}' is corrupt ({exc})") from exc
        if extra:
            raise DataError(f"{self.path}: '{self.key}' has data past its declared shape")


def keys(path: str | os.PathLike) -> list[str]:
    """Names of the arrays in the npz at ``path`` (its ``*.npy`` members), nothing read."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except READ_ERRORS as exc:
        raise DataError(f"{path}: not a readable npz file ({type(exc).__name__}: {exc})") from exc
    return [n[: -len(".npy")] for n in names if n.endswith(".npy")]


@contextlib.contextmanager
def open_array(path: str | os.PathLike, key: str) -> Iterator[ArrayStream]:
    """Open array ``key`` of the npz at ``path`` for streaming. Only the .npy header is parsed
    (numpy's literal header reader, never pickle); object dtypes are refused with DataError."""
    path = Path(path)
    with contextlib.ExitStack() as stack:
        try:
            zf = stack.enter_context(zipfile.ZipFile(path))
            info = zf.getinfo(f"{key}.npy")
            fp = stack.enter_context(zf.open(info))
            stream = ArrayStream(path, key, fp, info.file_size)
        except DataError:
            raise
        except READ_ERRORS as exc:
            raise DataError(f"{path}: cannot read '{key}' ({type(exc).__name__}: {exc})") from exc
        yield stream
