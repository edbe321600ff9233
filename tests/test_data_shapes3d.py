"""The official Shapes3D h5 loader, on small synthetic h5 files (skipped without h5py)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from disentangled.data import download as dl
from disentangled.data import grid, load_dataset, shapes3d
from disentangled.data.arrays import ArrayData
from disentangled.data.shapes3d import Shapes3DStream, labels_to_factors, load_official
from disentangled.data.shapes3d_procedural import FACTOR_NAMES, FACTOR_SIZES, FACTOR_VALUES
from disentangled.errors import DataError, UserError

N = 300


def values_of(factors: np.ndarray) -> np.ndarray:
    """Factor indices (n, 6) -> the official label values (n, 6) float64."""
    cols = [FACTOR_VALUES[name][factors[:, k]] for k, name in enumerate(FACTOR_NAMES)]
    return np.stack(cols, 1)


def pixels_of(codes: np.ndarray) -> np.ndarray:
    """Distinct, reproducible pixels per flat index: uint8 (n, 64, 64, 3)."""
    base = (codes[:, None, None, None] * np.array([7, 11, 13])) % 251
    ramp = np.arange(64)[None, :, None, None] + np.arange(64)[None, None, :, None]
    return ((base + ramp) % 256).astype(np.uint8)


def write_h5(path: Path, codes: np.ndarray, **override) -> Path:
    h5py = pytest.importorskip("h5py")
    factors = grid.unravel_np(codes, FACTOR_SIZES)
    arrays = {"images": pixels_of(codes), "labels": values_of(factors)}
    arrays.update(override)
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            if value is not None:
                f.create_dataset(key, data=value, chunks=True, compression="gzip")
    return path


@pytest.fixture
def codes() -> np.ndarray:
    return np.random.default_rng(0).choice(shapes3d.NUM_IMAGES, N, replace=False)


@pytest.fixture
def good(tmp_path, codes) -> Path:
    return write_h5(tmp_path / shapes3d.FILENAME, codes)


def load_small(path: Path, **kw):
    kw.setdefault("sha256", dl.sha256(path))
    return load_official(path, expected_count=None, progress=False, **kw)


# ---- labels ---------------------------------------------------------------------------------


def test_labels_to_factors_round_trip() -> None:
    f = grid.unravel_np(np.arange(0, shapes3d.NUM_IMAGES, 997), FACTOR_SIZES)
    assert np.array_equal(labels_to_factors(values_of(f)), f)
    noisy = values_of(f) + 1e-9  # float noise is fine
    assert np.array_equal(labels_to_factors(noisy), f)


@pytest.mark.parametrize(("col", "value"), [(0, 0.05), (3, 0.7), (4, 4.0), (5, 31.0), (2, -0.1)])
def test_off_grid_labels_are_refused(col: int, value: float) -> None:
    f = values_of(grid.unravel_np(np.arange(5), FACTOR_SIZES))
    f[3, col] = value
    with pytest.raises(DataError, match=f"{FACTOR_NAMES[col]} value .*row 3"):
        labels_to_factors(f)


def test_the_official_grid_and_file_facts() -> None:
    assert shapes3d.NUM_IMAGES == 480_000
    assert shapes3d.URL == "https://storage.googleapis.com/3d-shapes/3dshapes.h5"
    assert len(shapes3d.SHA256) == 64 and int(shapes3d.SHA256, 16) >= 0


# ---- in memory and streamed -----------------------------------------------------------------


@pytest.mark.parametrize("in_memory", [True, False])
def test_good_file(good, codes, in_memory: bool) -> None:
    ds = load_small(good, in_memory=in_memory)
    assert isinstance(ds, ArrayData if in_memory else Shapes3DStream)
    assert ds.name == "shapes3d-official" and len(ds) == N and not ds.binary
    assert ds.factor_sizes == FACTOR_SIZES and ds.image_shape == (3, 64, 64)
    index = torch.tensor([5, 0, 299, 5, 17])  # unsorted, with a repeat
    expected = torch.from_numpy(pixels_of(codes[index.numpy()]).transpose(0, 3, 1, 2).copy())
    assert torch.equal(ds.images(index), expected)
    assert torch.equal(ds.batch(index, "cpu"), expected.float() / 255)
    f = ds.factors(index).numpy()
    assert np.array_equal(f, grid.unravel_np(codes[index.numpy()], FACTOR_SIZES))
    assert torch.equal(ds.images_for(f[::-1].copy()), expected.flip(0))
    absent = np.setdiff1d(np.arange(2000), codes)[:1]
    with pytest.raises(ValueError, match="not in the dataset"):
        ds.images_for(grid.unravel_np(absent, FACTOR_SIZES))


def test_streaming_reads_only_what_is_asked_and_survives_close(good, codes) -> None:
    ds = load_small(good, in_memory=False)
    a = ds.images(torch.arange(N))
    ds.close()
    assert torch.equal(ds.images(torch.arange(N)), a)  # reopened
    with pytest.raises(IndexError):
        ds.images(torch.tensor([N]))


def test_file_in_official_order(tmp_path) -> None:
    path = write_h5(tmp_path / "ordered.h5", np.arange(N))
    for in_memory in (True, False):
        ds = load_small(path, in_memory=in_memory, chunk_rows=64)
        assert torch.equal(
            ds.images_for(np.array([[0, 0, 0, 0, 1, 2]])), ds.images(torch.tensor([17]))
        )


def test_auto_mode_follows_available_memory(good, monkeypatch) -> None:
    need = N * 64 * 64 * 3
    monkeypatch.setattr(shapes3d, "available_memory", lambda: 2 * need + 1)
    assert isinstance(load_small(good), ArrayData)
    monkeypatch.setattr(shapes3d, "available_memory", lambda: 2 * need - 1)
    assert isinstance(load_small(good), Shapes3DStream)


def test_registry_subset(good, codes, monkeypatch) -> None:
    small = lambda *a, **kw: load_official(*a, expected_count=None, **kw)  # noqa: E731
    monkeypatch.setattr(shapes3d, "load_official", small)
    ds = load_dataset(
        "shapes3d-official", path=str(good.parent), subset=20, seed=1, sha256=dl.sha256(good),
        progress=False,
    )  # fmt: skip
    assert len(ds) == 20
    rows = ds.indices.numpy()
    f = ds.factors(torch.arange(20)).numpy()
    assert np.array_equal(f, grid.unravel_np(codes[rows], FACTOR_SIZES))


# ---- bad input ------------------------------------------------------------------------------


def test_missing_file_says_where_to_put_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path))
    with pytest.raises(DataError) as err:
        load_official(progress=False)
    msg = str(err.value)
    assert str(tmp_path / shapes3d.FILENAME) in msg and shapes3d.URL in msg
    assert shapes3d.SHA256 in msg and "data fetch shapes3d-official" in msg and "\n" not in msg


def test_checksum_mismatch(good) -> None:
    with pytest.raises(DataError, match="sha256 .* does not match"):
        load_official(good, expected_count=None, progress=False)  # the official checksum


def test_truncated_and_corrupt_files(good, tmp_path) -> None:
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="not a readable HDF5 file"):
        load_small(good)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(hashlib.sha256(b"x").digest() * 100)
    with pytest.raises(DataError, match="not a readable HDF5 file"):
        load_small(junk)


def test_damaged_image_chunks(tmp_path, codes) -> None:
    path = write_h5(tmp_path / "d.h5", codes)
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 4096] = bytes(4096)  # zero a stretch of compressed image chunks
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="corrupt"):
        load_small(path, in_memory=True)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"labels": None}, r"missing key\(s\) \['labels'\]"),
        ({"images": None}, r"missing key\(s\) \['images'\]"),
        ({"images": np.zeros((N, 32, 32, 3), np.uint8)}, "images is uint8"),
        ({"images": np.zeros((N, 64, 64, 3), np.float32)}, "images is float32"),
        ({"labels": np.zeros((N, 5))}, "labels is float64"),
        ({"labels": values_of(np.zeros((N, 6), np.int64))}, "repeat a factor combination"),
    ],
)
def test_wrong_contents(tmp_path, codes, override, match) -> None:
    path = write_h5(tmp_path / "bad.h5", codes, **override)
    with pytest.raises(DataError, match=match):
        load_small(path)


def test_wrong_row_count(good) -> None:
    with pytest.raises(DataError, match="expected 480000"):
        load_official(good, sha256=dl.sha256(good), progress=False)


def test_missing_h5py_says_how_to_install(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    (tmp_path / shapes3d.FILENAME).write_bytes(b"present")  # found, but unreadable without h5py
    with pytest.raises(UserError, match=r"pip install 'disentangled\[h5\]'"):
        load_official(tmp_path / shapes3d.FILENAME, progress=False)
