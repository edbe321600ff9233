"""Data files: cache directory, checksums, atomic writes and verified downloads.

Every user-causable problem (unreachable URL, checksum mismatch, unwritable folder) is a DataError
whose message says what went wrong and where the file belongs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from disentangled.errors import DataError

ENV_VAR = "DISENTANGLED_DATA"
_CHUNK = 1 << 20


def cache_dir() -> Path:
    """Where data files live: ``$DISENTANGLED_DATA`` if set, else ``~/.cache/disentangled``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "disentangled"


def _digest(path: Path, h: Any) -> str:
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def git_blob_sha1(path: str | os.PathLike) -> str:
    """``git hash-object`` of a file: sha1 of ``b"blob <size>\\0"`` followed by the content."""
    path = Path(path)
    h = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    return _digest(path, h)


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file."""
    return _digest(Path(path), hashlib.sha256())


def verify(
    path: str | os.PathLike,
    *,
    git_sha1: str | None = None,
    sha256_hex: str | None = None,
    hint: str = "",
) -> None:
    """Raise DataError unless the file matches the given checksums (None skips a check)."""
    path = Path(path)
    checks = [("git blob sha1", git_sha1, git_blob_sha1), ("sha256", sha256_hex, sha256)]
    for label, expected, fn in checks:
        if expected is None:
            continue
        got = fn(path)
        if got != expected.lower():
            raise DataError(
                f"{path}: {label} {got} does not match the expected {expected} "
                f"(corrupt, truncated or not the official file){hint}"
            )


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Write ``path`` all-or-nothing: a temp file in the same folder, fsync, then ``os.replace``.

    On any exception the temp file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as f:  # f.name is the temp path, e.g. for verifying before the rename
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    git_sha1: str | None = None,
    sha256_hex: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` with a progress bar, verify it, then rename it into place.

    Nothing is left at ``dest`` unless the checksums match. Raises DataError on failure.
    """
    from tqdm.auto import tqdm

    dest = Path(dest)
    hint = f"; download it by hand from {url} and put it at {dest}"
    try:
        with atomic_write(dest) as f, urllib.request.urlopen(url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress
            ) as bar:
                while chunk := resp.read(_CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
            f.flush()
            verify(f.name, git_sha1=git_sha1, sha256_hex=sha256_hex, hint=hint)
    except DataError:
        raise
    except OSError as exc:  # URLError, HTTPError, timeouts and disk errors are all OSErrors
        raise DataError(f"could not download {url} to {dest}: {exc}{hint}") from exc
    return dest
