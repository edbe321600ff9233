"""Folders of images without factors (CelebA and friends), decoded once into a uint8 cache.

Every image file under the folder (recursively, sorted by path) is decoded, centre-cropped to a
square (``crop`` px, or the shorter side), resized to ``size`` x ``size`` (Lanczos) and stored in
one uint8 (N, C, size, size) array cached as .npy under ``cache_dir()/image_folder``. The cache
name carries a fingerprint of the folder (paths, sizes, modification times) and the options, so
a changed folder is decoded again. Unreadable files are skipped and counted (a warning names the
first few); a folder with no readable image is a DataError.

These datasets have no ground-truth factors (``factor_sizes == ()``): ``sample_factors``,
``images_for`` and ``index_of`` raise a DataError saying so, as do the metrics that need factors.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from disentangled.errors import ConfigError, DataError

from . import cache
from .arrays import ArrayData
from .base import GroundTruthData, Rng, Subset
from .download import ENV_VAR, atomic_write, cache_dir

NAME = "image-folder"
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
CACHE_VERSION = 1  # bump whenever the decoding changes: it enters the fingerprint
DEFAULT_SIZE = 64
NO_FACTORS = (
    "has no ground-truth factors (an image folder): sampling factors, images_for and the "
    "metrics that need factors do not apply"
)

CELEBA = "celeba"
CELEBA_SUBDIR = Path("celeba") / "img_align_celeba"
CELEBA_CROP = 148  # centre crop of the 178x218 aligned faces before resizing
CELEBA_PAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
CELEBA_ZIP = "img_align_celeba.zip"
CELEBA_DRIVE_ID = "0B7EVK8r0v71pZjFTYXZWM3FlRnM"  # Google Drive file id of the zip
CELEBA_MIRROR = "https://s3-us-west-1.amazonaws.com/udacity-dlnfd/datasets/celeba.zip"
CELEBA_MD5 = "00d2c5bc6d35e252742224ab0c1e8fcb"  # of img_align_celeba.zip
CELEBA_COUNT = 202_599


class ImageFolderData(ArrayData):
    """Images (N, C, size, size) uint8 in memory and no factors. ``files`` lists the source of
    each row (relative to ``root``); ``skipped`` the files that could not be read."""

    def __init__(
        self, *, name: str, images: np.ndarray, root: Path, files: list[str], skipped: list[str]
    ) -> None:
        super().__init__(
            name=name,
            images=images,
            factors=np.zeros((len(images), 0), dtype=np.int64),
            factor_names=(),
            factor_sizes=(),
            grid=False,
            no_images_for=NO_FACTORS,
        )
        self.root, self.files, self.skipped = root, files, skipped

    def _no_factors(self) -> DataError:
        return DataError(f"dataset {self.name!r} {NO_FACTORS}")

    def sample_factors(self, n: int, rng: Rng) -> np.ndarray:
        raise self._no_factors()

    def index_of(self, factors: np.ndarray) -> np.ndarray:
        raise self._no_factors()

    def images_for(self, factors: np.ndarray) -> torch.Tensor:
        raise self._no_factors()


def list_images(root: Path) -> list[str]:
    """Image files under ``root`` (by extension, case-insensitive), relative, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fn in filenames:
            if fn.lower().endswith(EXTENSIONS) and not fn.startswith("."):
                out.append(os.path.relpath(os.path.join(dirpath, fn), root))
    return sorted(out)


def decode(path: Path, size: int, crop: int | None, channels: int) -> np.ndarray | None:
    """One file -> uint8 (C, size, size), or None when it cannot be read as an image."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            mode = "RGB" if channels == 3 else "L"
            try:
                im = im.convert(mode)
            except ValueError:  # no direct conversion (LAB -> L): through RGB
                im = im.convert("RGB").convert(mode)
            w, h = im.size
            side = min(w, h) if crop is None else min(crop, w, h)
            left, top = (w - side) // 2, (h - side) // 2
            im = im.crop((left, top, left + side, top + side))  # the resize sees only this
            im = im.resize((size, size), Image.Resampling.LANCZOS)
            arr = np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError):
        return None
    return arr.transpose(2, 0, 1) if arr.ndim == 3 else arr[None]


def fingerprint(
    root: Path, files: Sequence[str], size: int, crop: int | None, channels: int
) -> str:
    """16 hex digits identifying the folder's files (path, bytes, mtime) and the options.

    A file that cannot be stat'ed (a broken link) enters as size -1: decoding will skip it.
    Names that are not valid UTF-8 enter as their raw bytes.
    """
    h = hashlib.sha256()
    head = {"v": CACHE_VERSION, "root": str(root.resolve()), "size": size, "crop": crop}
    h.update(json.dumps({**head, "channels": channels}).encode())
    for rel in files:
        try:
            st = (root / rel).stat()
            stamp = f"{st.st_size}\0{st.st_mtime_ns}"
        except OSError:
            stamp = "-1\0-1"
        h.update(f"\0{rel}\0{stamp}".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:16]


def decode_all(
    root: Path,
    files: Sequence[str],
    size: int,
    crop: int | None,
    channels: int,
    workers: int | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, list[str], list[str]]:
    """Decode every file (threads; Pillow releases the GIL while decoding and resizing).

    Returns images uint8 (n, C, size, size), the files kept and the files skipped.
    """
    from tqdm.auto import tqdm

    out = np.empty((len(files), channels, size, size), dtype=np.uint8)
    ok = np.zeros(len(files), dtype=bool)
    workers = workers or min(4, os.cpu_count() or 1)
    with (
        ThreadPoolExecutor(workers) as pool,
        tqdm(
            total=len(files), unit="img", desc=f"decoding {root.name}", disable=not progress
        ) as bar,
    ):
        results = pool.map(
            lambda rel: decode(root / rel, size, crop, channels), files, chunksize=64
        )
        for i, arr in enumerate(results):
            if arr is not None:
                out[i], ok[i] = arr, True
            bar.update(1)
    kept = [f for f, k in zip(files, ok, strict=True) if k]
    skipped = [f for f, k in zip(files, ok, strict=True) if not k]
    return (out if ok.all() else out[ok]), kept, skipped


def cache_root() -> Path:
    """Where decoded folders are cached: ``cache_dir()/image_folder``."""
    return cache_dir() / "image_folder"


def load_folder(
    path: str | os.PathLike,
    *,
    name: str = NAME,
    size: int = DEFAULT_SIZE,
    crop: int | None = None,
    channels: int = 3,
    workers: int | None = None,
    progress: bool = True,
    use_cache: bool = True,
    cache_folder: str | os.PathLike | None = None,
) -> ImageFolderData:
    """Decode (or read from the cache) every image under ``path``; see the module docstring."""
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"size must be a positive integer, got {size!r}")
    if crop is not None and (isinstance(crop, bool) or not isinstance(crop, int) or crop < 1):
        raise ConfigError(f"crop must be a positive integer or None, got {crop!r}")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"image folder not found: {root} is not a folder")
    files = list_images(root)
    if not files:
        kinds = ", ".join(EXTENSIONS)
        raise DataError(f"no images under {root} (looked for {kinds}, recursively)")
    key = fingerprint(root, files, size, crop, channels)
    folder = Path(cache_folder) if cache_folder is not None else cache_root()
    npy, meta = folder / f"{root.name}_{key}.npy", folder / f"{root.name}_{key}.json"
    if use_cache and meta.is_file():
        try:
            info = json.loads(meta.read_text())
            kept, skipped = list(info["kept"]), list(info["skipped"])
        except (OSError, ValueError, KeyError, TypeError):
            kept, skipped = [], []
        if kept:
            arr = cache.load(npy, (len(kept), channels, size, size), np.uint8)
            if arr is not None:
                return ImageFolderData(
                    name=name, images=arr, root=root, files=kept, skipped=skipped
                )
    arr, kept, skipped = decode_all(root, files, size, crop, channels, workers, progress)
    if skipped:
        first = ", ".join(skipped[:3])
        warnings.warn(
            f"{len(skipped)} of {len(files)} files under {root} could not be read as images "
            f"and were skipped (e.g. {first})",
            stacklevel=2,
        )
    if not kept:
        raise DataError(f"none of the {len(files)} image files under {root} could be read")
    if use_cache and cache.save(npy, arr):
        try:
            with atomic_write(meta) as f:
                f.write(json.dumps({"kept": kept, "skipped": skipped}).encode())
        except OSError as exc:
            warnings.warn(f"could not write cache file {meta}: {exc}", stacklevel=2)
    return ImageFolderData(name=name, images=arr, root=root, files=kept, skipped=skipped)


def load(
    *,
    subset: int | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    size: int = DEFAULT_SIZE,
    crop: int | None = None,
    channels: int = 3,
    workers: int | None = None,
    progress: bool = True,
    use_cache: bool = True,
) -> GroundTruthData:
    """Registry loader of ``image-folder``: ``path`` is the folder (required)."""
    if path is None:
        raise ConfigError("dataset 'image-folder' needs path=FOLDER (a folder of images)")
    ds = load_folder(
        path, size=size, crop=crop, channels=channels, workers=workers, progress=progress,
        use_cache=use_cache,
    )  # fmt: skip
    return ds if subset is None else Subset.random(ds, subset, seed)


def celeba_path(path: str | os.PathLike | None = None) -> Path:
    """The CelebA image folder: ``path`` if given, else ``cache_dir()/celeba/img_align_celeba``."""
    return Path(path).expanduser() if path is not None else cache_dir() / CELEBA_SUBDIR


def celeba_message(p: Path) -> str:
    """How to get CelebA by hand (it cannot be downloaded automatically)."""
    return (
        f"CelebA images not found at {p}: download {CELEBA_ZIP} from {CELEBA_PAGE} (Google Drive "
        f"file id {CELEBA_DRIVE_ID}; md5 {CELEBA_MD5}) and unzip it so that the {CELEBA_COUNT:,} "
        f"jpg files are in {p} (under ${ENV_VAR} if set, or pass path=FOLDER)"
    )


def load_celeba(
    *,
    subset: int | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    size: int = DEFAULT_SIZE,
    crop: int = CELEBA_CROP,
    workers: int | None = None,
    progress: bool = True,
    use_cache: bool = True,
) -> GroundTruthData:
    """Registry loader of ``celeba``: the aligned faces, centre-cropped to ``crop`` and resized."""
    p = celeba_path(path)
    if not p.is_dir():
        raise DataError(celeba_message(p))
    ds = load_folder(
        p, name=CELEBA, size=size, crop=crop, channels=3, workers=workers, progress=progress,
        use_cache=use_cache,
    )  # fmt: skip
    return ds if subset is None else Subset.random(ds, subset, seed)
