"""MNIST and Fashion-MNIST from their IDX files (gzipped or not), resized once to 32x32 in memory.

Files are looked for in ``path`` (a folder), else in ``cache_dir()/mnist`` or
``cache_dir()/fashion-mnist`` (``$DISENTANGLED_DATA`` when set, else ``~/.cache/disentangled``).
They are downloaded from the original URLs only with ``download=True``, and then verified
against their published SHA-256. Every header is checked before anything is allocated: a wrong
magic number, an absurd or impossible item count, a truncated or corrupt file is a one-line
:class:`~disentangled.errors.DataError`.

The dataset has one factor, the class label (10 values); images are uint8 (N, 1, 32, 32).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
import torch.nn.functional as F

from disentangled.errors import ConfigError, DataError

from .base import GroundTruthData, Subset
from .download import ENV_VAR, cache_dir, download

IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension
SOURCE_SIZE = 28  # the files' image side
MAX_ITEMS = 10_000_000  # no IDX set of this kind comes near; anything above is a broken header
DEFLATE_MAX_RATIO = 1032  # deflate cannot expand a stream by more than this factor
CHUNK = 8192  # images decoded and resized per step
GZIP_MAGIC = b"\x1f\x8b"
SPLITS = ("train", "test")
STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class Source:
    """One IDX distribution: where it lives, its class names and the SHA-256 of each .gz file."""

    name: str
    folder: str  # sub-folder of the cache dir
    url: str  # the original distribution's base URL
    class_names: tuple[str, ...]
    sha256: dict[str, str]  # stem -> sha256 of stem.gz


MNIST = Source(
    name="mnist",
    folder="mnist",
    url="http://yann.lecun.com/exdb/mnist/",
    class_names=tuple(str(d) for d in range(10)),
    sha256={
        "train-images-idx3-ubyte": (
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
        ),
        "train-labels-idx1-ubyte": (
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
        ),
        "t10k-images-idx3-ubyte": (
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
        ),
        "t10k-labels-idx1-ubyte": (
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
        ),
    },
)
FASHION_MNIST = Source(
    name="fashion-mnist",
    folder="fashion-mnist",
    url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    sha256={
        "train-images-idx3-ubyte": (
            "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc"
        ),
        "train-labels-idx1-ubyte": (
            "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc"
        ),
        "t10k-images-idx3-ubyte": (
            "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229"
        ),
        "t10k-labels-idx1-ubyte": (
            "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf"
        ),
    },
)
NUM_CLASSES = 10


# ----------------------------------------------------------------------------- files


def data_folder(source: Source, path: str | os.PathLike | None = None) -> Path:
    """``path`` (a folder), else ``cache_dir()/<source.folder>``."""
    if path is None:
        return cache_dir() / source.folder
    p = Path(path).expanduser()
    if p.is_file():
        raise DataError(
            f"{source.name}: data.path must be the folder holding the IDX files, got the file {p}"
        )
    return p


def candidates(folder: Path, stem: str) -> list[Path]:
    """Accepted names of one file: ``stem.gz``, ``stem``, and ``stem`` with ``-idx`` as ``.idx``."""
    dotted = stem.replace("-idx", ".idx")
    return [folder / f"{stem}.gz", folder / stem, folder / f"{dotted}.gz", folder / dotted]


def find_file(
    source: Source, folder: Path, stem: str, *, download_missing: bool, progress: bool
) -> Path:
    """The first existing candidate, else the downloaded ``stem.gz`` (when asked), else DataError
    saying exactly where to put the file."""
    for p in candidates(folder, stem):
        if p.is_file():
            return p
    url = f"{source.url}{stem}.gz"
    dest = folder / f"{stem}.gz"
    if not download_missing:
        raise DataError(
            f"{source.name} file {stem}.gz not found: put it (gzipped or unpacked) in {folder} "
            f"(from {url}), or set ${ENV_VAR} to a folder holding {source.folder}/, or pass "
            f"data.path=FOLDER, or load with download=True"
        )
    return download(url, dest, sha256_hex=source.sha256[stem], progress=progress)


# ----------------------------------------------------------------------------- IDX reading


class _Reader:
    """Sequential reads from a raw or gzipped file, every failure a DataError naming the file.

    ``max_payload`` bounds the bytes the file can possibly hold after its header: exact for a raw
    file, its compressed size times the deflate expansion limit for a gzipped one.
    """

    def __init__(self, path: Path, stream: BinaryIO, gzipped: bool, size: int) -> None:
        self.path, self.stream, self.gzipped = path, stream, gzipped
        self.max_payload = size * DEFLATE_MAX_RATIO if gzipped else size

    def read(self, n: int, what: str) -> bytes:
        try:
            buf = self.stream.read(n)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{self.path}: corrupt or truncated {what} ({exc})") from None
        if len(buf) != n:
            raise DataError(
                f"{self.path}: file ends early in its {what} (truncated: {len(buf)} of {n} bytes)"
            )
        return buf

    def finish(self) -> None:
        """The file must end here (for gzip this also checks the CRC and length trailer)."""
        try:
            extra = self.stream.read(1)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{self.path}: corrupt or truncated end of file ({exc})") from None
        if extra:
            raise DataError(f"{self.path}: data past the size its header declares")


def _open(path: Path) -> tuple[_Reader, BinaryIO]:
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
        size = os.fstat(raw.fileno()).st_size
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
    return _Reader(path, stream, gzipped, size), raw


def _header(reader: _Reader, magic: int, ndim: int, kind: str) -> tuple[int, ...]:
    """Check the magic number and return the ``ndim`` big-endian dimension sizes."""
    head = reader.read(4 + 4 * ndim, "header")
    got, *dims = struct.unpack(f">I{ndim}I", head)
    if got != magic:
        raise DataError(
            f"{reader.path}: wrong magic number {got:#010x} (expected {magic:#010x}, IDX {kind}); "
            f"not an MNIST-format {kind} file"
        )
    if not 0 < dims[0] <= MAX_ITEMS:
        raise DataError(
            f"{reader.path}: header claims {dims[0]} items (expected 1 to {MAX_ITEMS}); "
            f"corrupt header"
        )
    return tuple(dims)


def _check_payload(reader: _Reader, payload: int, header: int, count: int, kind: str) -> None:
    """Refuse a header whose payload the file cannot hold (checked before any allocation)."""
    room = reader.max_payload - (0 if reader.gzipped else header)
    if payload > room:
        raise DataError(
            f"{reader.path}: header claims {count} {kind} ({payload} bytes) but the file can "
            f"hold at most {max(room, 0)} bytes; truncated or corrupt"
        )
    if not reader.gzipped and payload < room:
        raise DataError(f"{reader.path}: data past the size its header declares")


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (n, C, h, w) -> uint8 (n, C, size, size): bilinear with half-pixel centres.

    PyTorch's native uint8 kernel (fixed-point weights, channels-last) is used: it is 3-4x
    faster than going through float32 and differs from the rounded float result by at most 1.
    """
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    x = images.contiguous(memory_format=torch.channels_last)
    out = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return out.contiguous()


def read_images(path: Path, size: int = 32) -> torch.Tensor:
    """An IDX image file -> uint8 (N, 1, size, size), decoded and resized CHUNK images at a time."""
    reader, raw = _open(path)
    with raw, reader.stream:
        n, rows, cols = _header(reader, IMAGES_MAGIC, 3, "images")
        if (rows, cols) != (SOURCE_SIZE, SOURCE_SIZE):
            raise DataError(f"{path}: images are {rows}x{cols}, expected 28x28")
        per = rows * cols
        _check_payload(reader, n * per, 16, n, "images")
        out = torch.empty((n, 1, size, size), dtype=torch.uint8)
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            buf = reader.read(m * per, "image data")
            chunk = torch.frombuffer(bytearray(buf), dtype=torch.uint8).view(m, 1, rows, cols)
            out[start : start + m] = resize(chunk, size)
        reader.finish()
    return out


def read_labels(path: Path, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """An IDX label file -> long (N,) with values in 0..num_classes-1."""
    reader, raw = _open(path)
    with raw, reader.stream:
        (n,) = _header(reader, LABELS_MAGIC, 1, "labels")
        _check_payload(reader, n, 8, n, "labels")
        labels = np.frombuffer(reader.read(n, "label data"), dtype=np.uint8)
        reader.finish()
    if n and int(labels.max()) >= num_classes:
        raise DataError(f"{path}: label {int(labels.max())} is out of range 0..{num_classes - 1}")
    return torch.from_numpy(labels.astype(np.int64))


# ----------------------------------------------------------------------------- dataset


class LabelledImages(GroundTruthData):
    """Images held as one uint8 tensor (N, C, H, W) with one class-label factor.

    ``factors`` returns the labels as (B, 1). There is no factor grid, so ``images_for`` is refused.
    """

    binary = False
    factor_names = ("label",)

    def __init__(
        self, name: str, images: torch.Tensor, labels: torch.Tensor, class_names: tuple[str, ...]
    ) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N,C,H,W), got {images.dtype} {images.shape}")
        if labels.shape != (images.shape[0],):
            raise ValueError(f"labels {tuple(labels.shape)} do not match {images.shape[0]} images")
        self.name = name
        self.images_u8 = images
        self.labels = labels.long()
        self.class_names = tuple(class_names)
        self.factor_sizes = (len(class_names),)
        self.image_shape = tuple(images.shape[1:])  # type: ignore[assignment]

    def __len__(self) -> int:
        return int(self.images_u8.shape[0])

    def images(self, index: torch.Tensor) -> torch.Tensor:
        return self.images_u8.index_select(0, index.to("cpu", torch.long))

    def factors(self, index: torch.Tensor) -> torch.Tensor:
        return self.labels.index_select(0, index.to("cpu", torch.long)).unsqueeze(1)

    def images_for(self, factors: np.ndarray) -> torch.Tensor:
        raise DataError(
            f"{self.name} is a labelled image set, not a grid of factor combinations; "
            f"metrics that render images for chosen factors cannot run on it"
        )


def load_source(
    source: Source,
    *,
    split: str = "train",
    path: str | os.PathLike | None = None,
    download_missing: bool = False,
    progress: bool = True,
    size: int = 32,
) -> LabelledImages:
    """Read one split of an IDX distribution (see the module docstring)."""
    if split not in SPLITS:
        raise ConfigError(f"{source.name}: split must be one of {', '.join(SPLITS)}, got {split!r}")
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 256:
        raise ConfigError(f"{source.name}: size must be an integer in [8, 256], got {size!r}")
    folder = data_folder(source, path)
    image_stem, label_stem = STEMS[split]
    files = [
        find_file(source, folder, s, download_missing=download_missing, progress=progress)
        for s in (image_stem, label_stem)
    ]
    images = read_images(files[0], size)
    labels = read_labels(files[1], len(source.class_names))
    if len(labels) != len(images):
        raise DataError(
            f"{files[1]}: {len(labels)} labels for the {len(images)} images of {files[0]}"
        )
    return LabelledImages(source.name, images, labels, source.class_names)


def _load(source: Source, subset, seed, path, split, download, progress, size) -> GroundTruthData:
    ds = load_source(
        source, split=split, path=path, download_missing=download, progress=progress, size=size
    )
    return ds if subset is None else Subset.random(ds, subset, seed)


def load_mnist(
    *,
    subset: int | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    split: str = "train",
    download: bool = False,
    progress: bool = True,
    size: int = 32,
) -> GroundTruthData:
    """Registry loader for MNIST (LeCun et al. 1998): ``split`` train (60,000) or test (10,000)."""
    return _load(MNIST, subset, seed, path, split, download, progress, size)


def load_fashion_mnist(
    *,
    subset: int | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    split: str = "train",
    download: bool = False,
    progress: bool = True,
    size: int = 32,
) -> GroundTruthData:
    """Registry loader for Fashion-MNIST (Xiao et al. 2017): train (60,000) or test (10,000)."""
    return _load(FASHION_MNIST, subset, seed, path, split, download, progress, size)
