"""Fuzzed dataset files: every loader returns well-formed arrays or raises a one-line DataError.

Each format starts from a small valid file written here (and checked to load), then hypothesis
damages it: truncation at any byte, bit flips, overwritten runs, whole-file garbage, wrong shapes
and dtypes, forged header sizes. The property, per example: the load either succeeds with arrays
of the right dtype and shape (and, where the format carries checksums, the original content) or
raises :class:`DataError` with one line naming the file. Any other exception fails the test, as
does a load running past :data:`HANG_SECONDS`.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from disentangled.data import dsprites, dsprites_official, grid, image_folder, mnist, shapes3d
from disentangled.data.shapes3d_procedural import FACTOR_NAMES, FACTOR_SIZES, FACTOR_VALUES
from disentangled.errors import DataError, UserError

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HANG_SECONDS = 20.0  # a load of these few-KB files takes milliseconds; 20 s is a hang
SMALL_PEAK = 4 << 20  # bytes: forged headers claim gigabytes to exabytes; the files are < 300 KB


class Files(dict):
    """A fixture's files and reference arrays (a short repr in hypothesis' failure reports)."""

    def __repr__(self) -> str:
        return f"Files({', '.join(self)})"


# ---- damage ---------------------------------------------------------------------------------

positions = st.integers(0, 2**31)
damages = st.one_of(
    st.tuples(st.just("truncate"), positions),
    st.tuples(st.just("flip"), st.lists(st.tuples(positions, st.integers(0, 7)), min_size=1,
                                        max_size=4)),
    st.tuples(st.just("overwrite"), positions, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("garbage"), st.binary(max_size=600)),
)  # fmt: skip


def damage(data: bytes, spec: tuple) -> bytes:
    """Apply one damage ``spec`` (see ``damages``) to ``data``; positions wrap around its length."""
    kind = spec[0]
    if kind == "truncate":
        return data[: spec[1] % len(data)]  # 0 bytes included
    if kind == "garbage":
        return spec[1]
    out = bytearray(data)
    if kind == "flip":
        for pos, bit in spec[1]:
            out[pos % len(out)] ^= 1 << bit
    else:
        pos = spec[1] % len(out)
        out[pos : pos + len(spec[2])] = spec[2]
    return bytes(out)


def touched(data: bytes, spec: tuple) -> tuple[int, int] | None:
    """The byte range [lo, hi) a flip/overwrite damage changes (same length kept), else None."""
    if spec[0] == "flip":
        pos = [p % len(data) for p, _ in spec[1]]
        return min(pos), max(pos) + 1
    if spec[0] == "overwrite":
        lo = spec[1] % len(data)
        return (lo, lo + len(spec[2])) if lo + len(spec[2]) <= len(data) else None
    return None


# ---- the property ---------------------------------------------------------------------------


class Hang(Exception):
    """A load that ran past HANG_SECONDS."""


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Raise Hang in the main thread if the block runs longer than ``seconds``."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"still loading after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def outcome(load: Callable[[], Any], names: str) -> Any:
    """``load()``'s dataset, or None after a DataError whose one-line message contains ``names``.

    Every other exception, and a load that hangs, propagates and fails the test.
    """
    try:
        with within(HANG_SECONDS):
            return load()
    except DataError as exc:
        msg = str(exc)
        assert isinstance(exc, UserError) and msg and "\n" not in msg and "\r" not in msg
        assert names in msg, msg
        return None


@contextlib.contextmanager
def scratch(base: Path) -> Iterator[Path]:
    """A fresh folder per hypothesis example (h5py keeps files open by path: never reuse one)."""
    with tempfile.TemporaryDirectory(dir=base) as d:
        yield Path(d)


@contextlib.contextmanager
def python_peak() -> Iterator[list[int]]:
    """Peak bytes allocated through Python's allocators (numpy arrays, bytes) in the block."""
    tracemalloc.start()
    box: list[int] = []
    try:
        yield box
    finally:
        box.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


# ---- dSprites npz ---------------------------------------------------------------------------

N_SPRITES = 16


class Boom:
    """Unpickling this creates the marker file: it must never happen."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture(scope="module")
def sprites(tmp_path_factory) -> dict[str, Any]:
    """Valid official-format npz files (compressed and stored) with a malicious pickled entry."""
    base = tmp_path_factory.mktemp("npz")
    marker = base / "pwned"
    codes = np.random.default_rng(0).choice(dsprites.NUM_IMAGES, N_SPRITES, replace=False)
    classes = grid.unravel_np(codes, dsprites.FACTOR_SIZES)
    arrays = {
        "imgs": dsprites.render(classes),
        "latents_classes": classes,
        "metadata": np.array(Boom(marker), dtype=object),
    }
    files = {}
    for compressed, save in ((True, np.savez_compressed), (False, np.savez)):
        save(base / "good.npz", **arrays)
        files[compressed] = (base / "good.npz").read_bytes()
    ds = load_npz(base / "good.npz")
    assert len(ds) == N_SPRITES and not marker.exists()
    assert np.array_equal(ds.factors(torch.arange(N_SPRITES)).numpy(), classes)
    return Files(base=base, marker=marker, files=files, classes=classes, ds=ds)


def load_npz(path: Path, expected_count: int | None = N_SPRITES):
    return dsprites_official.load_official(
        path, git_sha1=None, expected_count=expected_count, progress=False
    )


@FUZZ
@given(compressed=st.booleans(), spec=damages)
def test_fuzzed_dsprites_npz(sprites, compressed, spec) -> None:
    """Damage is refused, or (zip CRCs) cannot have changed a single pixel or label."""
    data = damage(sprites["files"][compressed], spec)
    with scratch(sprites["base"]) as d:
        path = d / "fuzzed.npz"
        path.write_bytes(data)
        ds = outcome(lambda: load_npz(path), str(path))
    assert not sprites["marker"].exists()
    if ds is not None:
        good = sprites["ds"]
        assert ds.packed.dtype == torch.uint8 and torch.equal(ds.packed, good.packed)
        index = torch.arange(N_SPRITES)
        assert torch.equal(ds.factors(index), good.factors(index))


ZIP_FIELDS = {  # (signature, offset from it, new bytes) in every entry: what zipfile cannot honour
    "encrypted": (b"PK\x01\x02", 8, b"\x01\x00"),  # RuntimeError: password required
    "strong encryption": (b"PK\x01\x02", 8, b"\x40\x00"),  # NotImplementedError
    "compression method 99": (b"PK\x01\x02", 10, b"\x63\x00"),  # NotImplementedError
    "needs zip version 25.5": (b"PK\x01\x02", 6, b"\xff\x00"),  # NotImplementedError
    "patched data": (b"PK\x01\x02", 8, b"\x20\x00"),  # NotImplementedError
}


@pytest.mark.parametrize("field", sorted(ZIP_FIELDS))
def test_zip_headers_a_reader_cannot_honour(sprites, field) -> None:
    signature, offset, value = ZIP_FIELDS[field]
    data = bytearray(sprites["files"][True])
    start = data.find(signature)
    while start >= 0:
        data[start + offset : start + offset + len(value)] = value
        start = data.find(signature, start + 1)
    with scratch(sprites["base"]) as d:
        path = d / "flagged.npz"
        path.write_bytes(bytes(data))
        assert outcome(lambda: load_npz(path), str(path)) is None
    assert not sprites["marker"].exists()


dtypes = st.sampled_from(["u1", "i1", "<u2", ">i4", "<i8", ">i8", "<u8", "f4", "f8", "?", "c8"])
shapes = st.lists(st.sampled_from([0, 1, 3, 6, 64]), min_size=0, max_size=4).map(tuple)


@FUZZ
@given(
    n=st.integers(0, 4),
    imgs=st.one_of(st.just(None), st.tuples(dtypes, shapes), st.just("pickle")),
    classes=st.one_of(st.just(None), st.tuples(dtypes, shapes), st.just("pickle")),
    ones=st.booleans(),
)
def test_dsprites_npz_wrong_shapes_and_dtypes(sprites, n, imgs, classes, ones) -> None:
    """Exactly the files with uint8 0/1 imgs (n, 64, 64) and integer (n, 6) classes load."""
    marker = sprites["marker"]

    def array(spec, valid_shape, fill):
        if spec is None:
            return np.zeros(valid_shape, np.uint8) + fill
        if spec == "pickle":
            return np.array([Boom(marker)] * max(n, 1), dtype=object)
        dtype, shape = spec
        return (np.zeros(shape, np.int64) + fill).astype(dtype)

    imgs_arr = array(imgs, (n, 64, 64), int(ones))
    classes_arr = array(classes, (n, 6), 0)
    ok_imgs = imgs_arr.dtype == np.uint8 and imgs_arr.shape == (n, 64, 64)
    ok_classes = classes_arr.dtype.kind in "iu" and classes_arr.shape == (n, 6)
    with scratch(sprites["base"]) as d:
        path = d / "shaped.npz"
        np.savez(path, imgs=imgs_arr, latents_classes=classes_arr)
        ds = outcome(lambda: load_npz(path, expected_count=None), str(path))
    assert not marker.exists()
    assert (ds is not None) == (ok_imgs and ok_classes and n >= 1)
    if ds is not None:
        assert len(ds) == n and ds.image_shape == (1, 64, 64)
        assert torch.equal(ds.images(torch.arange(n)), torch.full((n, 1, 64, 64), 255 * ones))


def npy_header(shape: tuple[int, ...], descr: str) -> bytes:
    """A version 1.0 .npy header declaring ``shape`` and ``descr`` (nothing checked)."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    text += " " * (-(len(text) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


huge = st.integers(2**31, 2**80)
forged_shapes = st.one_of(
    st.tuples(huge, st.just(64), st.just(64)),
    st.tuples(st.just(N_SPRITES), huge, huge),
    st.tuples(huge, st.just(6)),
    st.lists(st.integers(-(2**70), 2**70), min_size=1, max_size=5).map(tuple),
)


@FUZZ
@given(key=st.sampled_from(["imgs", "latents_classes"]), shape=forged_shapes,
       descr=st.sampled_from(["|u1", "<i8", "<f8"]), tail=st.binary(max_size=64))  # fmt: skip
def test_dsprites_npz_forged_sizes_allocate_nothing(sprites, key, shape, descr, tail) -> None:
    """A header claiming 2**31..2**80 rows (or dims whose product overflows int64) is refused
    before anything proportional to the claim is allocated."""
    good = sprites["files"][False]
    with scratch(sprites["base"]) as d:
        path = d / "forged.npz"
        path.write_bytes(good)
        with zipfile.ZipFile(path) as zin:
            members = {name: zin.read(name) for name in zin.namelist()}
        members[f"{key}.npy"] = npy_header(shape, descr) + tail
        with zipfile.ZipFile(path, "w") as zout:
            for name, payload in members.items():
                zout.writestr(name, payload)
        start = time.perf_counter()
        with python_peak() as peak:
            ds = outcome(lambda: load_npz(path, expected_count=None), str(path))
        assert ds is None
        assert peak[0] < SMALL_PEAK and time.perf_counter() - start < 5.0


# ---- MNIST / Fashion IDX --------------------------------------------------------------------

N_DIGITS = 12


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> dict[str, Any]:
    """Raw IDX bytes of one split (random pixels and labels), and that split loaded."""
    base = tmp_path_factory.mktemp("idx")
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (N_DIGITS, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, N_DIGITS, dtype=np.uint8)
    raw = {
        "images": struct.pack(">IIII", mnist.IMAGES_MAGIC, N_DIGITS, 28, 28) + images.tobytes(),
        "labels": struct.pack(">II", mnist.LABELS_MAGIC, N_DIGITS) + labels.tobytes(),
    }
    write_split(base, raw, gz=True)
    ds = mnist.load_source(mnist.MNIST, path=base, progress=False)
    assert torch.equal(ds.images_u8, mnist.resize(torch.from_numpy(images)[:, None], 32))
    assert torch.equal(ds.labels, torch.from_numpy(labels).long())
    return Files(base=base, raw=raw)


def write_split(folder: Path, raw: dict[str, bytes], gz: bool) -> dict[str, Path]:
    """The train split's two files (``stem.gz`` gzipped, or ``stem`` raw) in ``folder``."""
    paths = {}
    for kind, stem in zip(("images", "labels"), mnist.STEMS["train"], strict=True):
        paths[kind] = folder / (f"{stem}.gz" if gz else stem)
        paths[kind].write_bytes(gzip.compress(raw[kind], mtime=0) if gz else raw[kind])
    return paths


def gunzip(data: bytes) -> bytes | None:
    """The content of a gzip file as the standard library reads it, None when it cannot."""
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return None


def check_idx(ds, images: bytes, labels: bytes) -> None:
    """The loaded split holds exactly the pixels and labels of these IDX payloads."""
    n = len(labels) - 8
    pixels = torch.frombuffer(bytearray(images[16:]), dtype=torch.uint8).view(n, 1, 28, 28)
    assert ds.images_u8.dtype == torch.uint8 and ds.images_u8.shape == (n, 1, 32, 32)
    assert torch.equal(ds.images_u8, mnist.resize(pixels, 32))
    assert torch.equal(ds.labels, torch.tensor(list(labels[8:])))


@FUZZ
@given(kind=st.sampled_from(["images", "labels"]), gz=st.booleans(), spec=damages)
def test_fuzzed_idx_files(digits, kind, gz, spec) -> None:
    """Loads exactly when the (decompressed) file is still a consistent IDX file, and then
    returns its bytes; bit flips in pixel data are loadable, anything else is a DataError."""
    raw = dict(digits["raw"])
    with scratch(digits["base"]) as d:
        paths = write_split(d, raw, gz)
        data = damage(paths[kind].read_bytes(), spec)
        paths[kind].write_bytes(data)
        ds = outcome(lambda: mnist.load_source(mnist.MNIST, path=d, progress=False), str(d))
    content = gunzip(data) if gz else data
    good = digits["raw"][kind]
    head = 16 if kind == "images" else 8
    consistent = (
        content is not None
        and len(content) == len(good)
        and content[:head] == good[:head]
        and (kind == "images" or max(content[head:]) < 10)
    )
    assert (ds is not None) == consistent
    if ds is not None:
        raw[kind] = content
        check_idx(ds, raw["images"], raw["labels"])


@FUZZ
@given(
    kind=st.sampled_from(["images", "labels"]),
    gz=st.booleans(),
    magic=st.sampled_from([mnist.IMAGES_MAGIC, mnist.LABELS_MAGIC, 0x0D03, 0]),
    dims=st.lists(
        st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 10_000), st.sampled_from([0, 1, 28])),
        min_size=3,
        max_size=3,
    ),
    payload=st.integers(0, 4096),
)
def test_idx_forged_headers_fail_before_allocating(digits, kind, gz, magic, dims, payload) -> None:
    """A header claiming up to 2**32 - 1 items of 2**32 - 1 squared pixels fails before the
    output is allocated: no torch/numpy buffer larger than the deflate bound of the file."""
    ndim = 3 if kind == "images" else 1
    head = struct.pack(f">I{ndim}I", magic, *dims[:ndim])
    data = head + bytes(payload)
    assume(data != digits["raw"][kind])
    created: list[int] = []
    real_empty = torch.empty

    def empty(*size, **kw):
        shape = size[0] if len(size) == 1 and isinstance(size[0], tuple) else size
        created.append(int(np.prod(shape, dtype=object)))
        return real_empty(*size, **kw)

    with scratch(digits["base"]) as d:
        path = write_split(d, digits["raw"], gz)[kind]
        path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
        read = mnist.read_images if kind == "images" else mnist.read_labels
        with mock.patch.object(mnist.torch, "empty", empty), python_peak() as peak:
            ds = outcome(lambda: read(path), str(path))
        size = path.stat().st_size
    valid = magic == (mnist.IMAGES_MAGIC if kind == "images" else mnist.LABELS_MAGIC)
    valid &= dims[0] > 0 and (ndim == 1 or dims[1:] == [28, 28])
    valid &= payload == dims[0] * (784 if ndim == 3 else 1)
    assert (ds is not None) == valid
    bound = 2 * mnist.DEFLATE_MAX_RATIO * size  # what a file of this size can possibly hold
    assert sum(created) <= bound and peak[0] <= bound + SMALL_PEAK


def test_cli_on_a_corrupt_mnist_folder_is_one_line_and_exit_code_2(tmp_path) -> None:
    """``python -m disentangled train`` on a folder whose .gz files are not gzip."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    for stem in mnist.STEMS["train"]:
        (folder / f"{stem}.gz").write_bytes(b"PK\x03\x04 this is a zip, not gzip")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = ["train", "--preset", "jointvae-mnist", "--out", str(tmp_path / "run")]
    argv += [f"data.path={folder}", "steps=1", "progress=false"]
    proc = subprocess.run(
        [sys.executable, "-m", "disentangled", *argv],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr and "train-images-idx3-ubyte.gz" in lines[0]
    assert "wrong magic number" in lines[0]


# ---- Shapes3D h5 ----------------------------------------------------------------------------

N_SHAPES = 12


def shapes_values(codes: np.ndarray) -> np.ndarray:
    """Flat indices (n,) -> the official label values (n, 6) float64."""
    f = grid.unravel_np(codes, FACTOR_SIZES)
    return np.stack([FACTOR_VALUES[name][f[:, k]] for k, name in enumerate(FACTOR_NAMES)], 1)


def write_h5(path: Path, images: Any, labels: Any, **kw) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        for key, value in (("images", images), ("labels", labels)):
            if isinstance(value, tuple):  # (shape, dtype): declared, never written
                chunks = tuple(min(s, 64) for s in value[0])
                f.create_dataset(key, shape=value[0], dtype=value[1], chunks=chunks)
            else:
                f.create_dataset(key, data=value, **kw)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> dict[str, Any]:
    """Valid 3dshapes-format files: contiguous and gzip-chunked, and where the pixels lie."""
    h5py = pytest.importorskip("h5py")
    base = tmp_path_factory.mktemp("h5")
    codes = np.random.default_rng(2).choice(shapes3d.NUM_IMAGES, N_SHAPES, replace=False)
    pixels = np.random.default_rng(3).integers(0, 256, (N_SHAPES, 64, 64, 3), dtype=np.uint8)
    files = {}
    for compressed in (False, True):
        path = base / f"good{int(compressed)}.h5"
        kw = {"chunks": True, "compression": "gzip"} if compressed else {}
        write_h5(path, pixels, shapes_values(codes), **kw)
        files[compressed] = path.read_bytes()
    with h5py.File(base / "good0.h5", "r") as f:
        offset = f["images"].id.get_offset()  # contiguous: the raw pixels start here
    assert files[False][offset : offset + pixels.nbytes] == pixels.tobytes()
    ds = load_h5(base / "good1.h5", True)
    assert torch.equal(
        ds.images(torch.arange(N_SHAPES)), torch.from_numpy(pixels).permute(0, 3, 1, 2)
    )
    factors = grid.unravel_np(codes, FACTOR_SIZES)
    return Files(base=base, files=files, pixels=pixels, offset=offset, factors=factors)


def load_h5(path: Path, in_memory: bool, expected_count: int | None = None):
    return shapes3d.load_official(
        path, sha256=None, expected_count=expected_count, in_memory=in_memory, progress=False
    )


def read_all_h5(path: Path, in_memory: bool) -> Any:
    """Load and read every image and factor (a streamed set reads its pixels here)."""
    ds = load_h5(path, in_memory)
    try:
        index = torch.arange(len(ds))
        return ds, ds.images(index), ds.factors(index)
    finally:
        getattr(ds, "close", lambda: None)()


@FUZZ
@given(compressed=st.booleans(), in_memory=st.booleans(), spec=damages)
def test_fuzzed_shapes3d_h5(shapes, compressed, in_memory, spec) -> None:
    """Damage is refused or yields a well-formed set; flips confined to the contiguous pixel
    data must load, with exactly the flipped pixels."""
    good = shapes["files"][compressed]
    data = damage(good, spec)
    with scratch(shapes["base"]) as d:
        path = d / "fuzzed.h5"
        path.write_bytes(data)
        got = outcome(lambda: read_all_h5(path, in_memory), str(path))
    span = touched(good, spec)
    lo, hi = shapes["offset"], shapes["offset"] + shapes["pixels"].nbytes
    in_pixels = not compressed and span is not None and lo <= span[0] and span[1] <= hi
    if in_pixels:
        assert got is not None
        want = np.frombuffer(data[lo:hi], np.uint8).reshape(shapes["pixels"].shape).copy()
        assert torch.equal(got[1], torch.from_numpy(want).permute(0, 3, 1, 2))
        assert np.array_equal(got[2].numpy(), shapes["factors"])
    if got is not None:
        ds, images, factors = got
        assert images.dtype == torch.uint8 and images.shape == (len(ds), 3, 64, 64)
        f = factors.numpy()
        assert f.shape == (len(ds), 6) and (f >= 0).all() and (f < np.array(FACTOR_SIZES)).all()
        assert len(np.unique(f @ grid.strides(FACTOR_SIZES))) == len(ds)


@FUZZ
@given(
    n=st.integers(0, 5),
    image_dtype=st.sampled_from(["u1", "i1", "u2", "f4"]),
    image_shape=st.sampled_from([(64, 64, 3), (3, 64, 64), (64, 64), (32, 32, 3), (64, 64, 4)]),
    label_dtype=st.sampled_from(["f8", "f4", "f2", "i4", "u1", "?", "c8", "S4"]),
    label_cols=st.sampled_from([6, 5, 7]),
)
def test_shapes3d_h5_wrong_shapes_and_dtypes(
    shapes, n, image_dtype, image_shape, label_dtype, label_cols
) -> None:
    """Exactly the files with uint8 images (n, 64, 64, 3) and float labels (n, 6) load."""
    codes = np.arange(n) * 7919
    values = np.zeros((n, label_cols))
    values[:, : min(6, label_cols)] = shapes_values(codes)[:, : min(6, label_cols)]
    with scratch(shapes["base"]) as d:
        path = d / "shaped.h5"
        write_h5(path, np.zeros((n, *image_shape), image_dtype), values.astype(label_dtype))
        got = outcome(lambda: read_all_h5(path, True), str(path))
    ok = image_dtype == "u1" and image_shape == (64, 64, 3)
    ok &= label_dtype.startswith("f") and label_cols == 6 and n >= 1
    assert (got is not None) == ok
    if got is not None:
        assert np.array_equal(got[2].numpy(), grid.unravel_np(codes, FACTOR_SIZES))


@FUZZ
@given(
    rows=st.one_of(st.integers(shapes3d.NUM_IMAGES + 1, 2**40), st.integers(1, 2**40)),
    dims=st.one_of(st.just((64, 64, 3)), st.tuples(*[st.integers(1, 2**20)] * 3)),
    label_rows=st.one_of(st.just(None), st.integers(1, 2**40)),
)
def test_shapes3d_h5_forged_sizes_allocate_nothing(shapes, rows, dims, label_rows) -> None:
    """Declared-but-unwritten datasets claiming up to 2**40 rows (dims multiplying past 2**64)
    are refused before anything proportional to the claim is allocated."""
    assume(rows > shapes3d.NUM_IMAGES or dims != (64, 64, 3))
    labels = ((rows if label_rows is None else label_rows, 6), "f8")
    with scratch(shapes["base"]) as d:
        path = d / "forged.h5"
        try:
            write_h5(path, ((rows, *dims), "u1"), labels)
        except ValueError:  # HDF5 itself refuses dataspaces above 2**64 bytes
            assume(False)
        start = time.perf_counter()
        with python_peak() as peak:
            got = outcome(lambda: read_all_h5(path, True), str(path))
    assert got is None
    assert peak[0] < SMALL_PEAK and time.perf_counter() - start < 5.0


# ---- image folders --------------------------------------------------------------------------

FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif",
           "WEBP": ".webp", "PPM": ".ppm"}  # fmt: skip
SIDE = 8


def encoded(fmt: str, mode: str = "RGB", size: tuple[int, int] = (23, 17), seed: int = 0) -> bytes:
    rgb = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).convert(mode).save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> dict[str, Any]:
    """One small valid file per format, all of which load."""
    base = tmp_path_factory.mktemp("images")
    files = {fmt: encoded(fmt, seed=i) for i, fmt in enumerate(FORMATS)}
    root = base / "good"
    root.mkdir()
    for fmt, data in files.items():
        (root / f"x{FORMATS[fmt]}").write_bytes(data)
    ds = load_images(root)
    assert len(ds) == len(FORMATS) and not ds.skipped and ds.image_shape == (3, SIDE, SIDE)
    return Files(base=base, files=files)


def load_images(root: Path, channels: int = 3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skipped files and decompression-bomb warnings
        return image_folder.load_folder(
            root, size=SIDE, channels=channels, workers=1, progress=False, use_cache=False
        )


def check_folder(ds, files: list[str], channels: int) -> None:
    assert sorted(ds.files + ds.skipped) == sorted(files) and ds.files
    assert ds.array.dtype == np.uint8 and ds.array.shape == (len(ds.files), channels, SIDE, SIDE)


@FUZZ
@given(
    fmt=st.sampled_from(sorted(FORMATS)),
    spec=damages,
    with_good=st.booleans(),
    channels=st.sampled_from([1, 3]),
)
def test_fuzzed_image_folder(pictures, fmt, spec, with_good, channels) -> None:
    """A damaged image is decoded or skipped (and counted); a folder with nothing readable is a
    DataError naming it."""
    with scratch(pictures["base"]) as d:
        (d / f"damaged{FORMATS[fmt]}").write_bytes(damage(pictures["files"][fmt], spec))
        if with_good:
            (d / "good.png").write_bytes(pictures["files"]["PNG"])
        ds = outcome(lambda: load_images(d, channels), str(d))
        files = image_folder.list_images(d)
    if with_good:
        assert ds is not None and "good.png" in ds.files
    if ds is not None:
        check_folder(ds, files, channels)


def writable() -> list[tuple[str, str]]:
    """(format, mode) pairs Pillow can write."""
    out = []
    for fmt in sorted(FORMATS):
        for mode in ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "I;16", "F", "LAB"):
            with contextlib.suppress(OSError, ValueError, KeyError):
                encoded(fmt, mode, (3, 2))
                out.append((fmt, mode))
    return out


@FUZZ
@example(fmt_mode=("TIFF", "LAB"), size=(5, 3), channels=1)  # no direct LAB -> L conversion
@given(
    fmt_mode=st.sampled_from(writable()),
    size=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    channels=st.sampled_from([1, 3]),
)
def test_every_mode_and_size_pillow_writes_is_decoded(pictures, fmt_mode, size, channels) -> None:
    """Wrong 'shapes and dtypes' of images: any mode and size a format can hold loads resized."""
    fmt, mode = fmt_mode
    data = encoded(fmt, mode, size)
    with scratch(pictures["base"]) as d:
        (d / f"a{FORMATS[fmt]}").write_bytes(data)
        ds = outcome(lambda: load_images(d, channels), str(d))
    assert ds is not None and not ds.skipped
    check_folder(ds, [f"a{FORMATS[fmt]}"], channels)


def forge_size(fmt: str, data: bytes, width: int, height: int) -> bytes:
    """``data`` with its header's image size replaced (and the PNG header's CRC redone)."""
    out = bytearray(data)
    if fmt == "PNG":
        out[16:24] = struct.pack(">II", width, height)
        out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])))
    elif fmt == "BMP":
        out[18:26] = struct.pack("<ii", width, height)
    else:  # GIF: logical screen and first image descriptor are 16-bit
        out[6:10] = struct.pack("<HH", width & 0xFFFF, height & 0xFFFF)
    return bytes(out)


@FUZZ
@given(
    fmt=st.sampled_from(["PNG", "BMP", "GIF"]),
    width=st.integers(1, 2**31 - 1),
    height=st.integers(1, 2**31 - 1),
)
def test_image_headers_claiming_huge_sizes_fail_fast(pictures, fmt, width, height) -> None:
    """A tiny file whose header claims up to 2**31 x 2**31 pixels is skipped at once (Pillow's
    decompression-bomb limit, or the missing pixel data) without touching that memory."""
    assume(width * height >= 10**7 if fmt != "GIF" else (width & 0xFFFF) * (height & 0xFFFF) > 1000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with scratch(pictures["base"]) as d:
        (d / f"huge{FORMATS[fmt]}").write_bytes(
            forge_size(fmt, pictures["files"][fmt], width, height)
        )
        start = time.perf_counter()
        ds = outcome(lambda: load_images(d), str(d))
        elapsed = time.perf_counter() - start
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    if ds is not None:  # GIF: a small image on a large screen is still a small image
        check_folder(ds, [f"huge{FORMATS[fmt]}"], 3)
    else:
        assert elapsed < 2.0 and grown < 64 << 10


def test_broken_links_undecodable_names_and_empty_files_are_skipped(tmp_path, pictures) -> None:
    root = tmp_path / "odd"
    root.mkdir()
    (root / "good.png").write_bytes(pictures["files"]["PNG"])
    (root / "empty.jpg").write_bytes(b"")
    (root / "dir.png").mkdir()
    os.symlink(root / "nowhere.png", root / "broken.png")
    weird = os.fsencode(root) + b"/\xff\xfe.png"  # not UTF-8
    Path(os.fsdecode(weird)).write_bytes(pictures["files"]["PNG"])
    ds = load_images(root)
    assert ds.files == ["good.png", os.fsdecode(b"\xff\xfe.png")]
    assert ds.skipped == ["broken.png", "empty.jpg"]
    with pytest.warns(UserWarning, match="2 of 4 files"):
        cached = image_folder.load_folder(
            root, size=SIDE, progress=False, cache_folder=tmp_path / "c"
        )
    again = image_folder.load_folder(root, size=SIDE, progress=False, cache_folder=tmp_path / "c")
    assert again.files == cached.files and np.array_equal(again.array, ds.array)
