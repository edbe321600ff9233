"""The official dSprites npz loader and the download helpers, on small synthetic files."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from disentangled.data import download as dl
from disentangled.data import dsprites, dsprites_official, load_dataset
from disentangled.data.dsprites_official import load_official
from disentangled.errors import DataError

N = 64


class Boom:
    """Unpickling this creates the marker file: it must never happen."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def write_npz(path: Path, codes: np.ndarray, marker: Path, **override) -> Path:
    """An npz with the official keys: imgs rendered procedurally, a malicious pickled metadata."""
    classes = dsprites.grid.unravel_np(codes, dsprites.FACTOR_SIZES)
    arrays = {
        "imgs": dsprites.render(classes),
        "latents_classes": classes,
        "latents_values": classes.astype(np.float64),
        "metadata": np.array(Boom(marker), dtype=object),
    }
    arrays.update(override)
    np.savez_compressed(path, **arrays)
    return path


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "pwned"


@pytest.fixture
def codes() -> np.ndarray:
    return np.random.default_rng(0).choice(dsprites.NUM_IMAGES, N, replace=False)


@pytest.fixture
def good(tmp_path, codes, marker) -> Path:
    return write_npz(tmp_path / dsprites_official.FILENAME, codes, marker)


def load_small(path: Path, **kw):
    kw.setdefault("git_sha1", dl.git_blob_sha1(path))
    return load_official(path, expected_count=N, **kw)


def test_good_file_loads_without_unpickling(good, codes, marker) -> None:
    ds = load_small(good)
    assert not marker.exists()
    assert ds.name == "dsprites-official" and len(ds) == N and ds.binary
    assert ds.factor_sizes == dsprites.FACTOR_SIZES and ds.image_shape == (1, 64, 64)
    index = torch.arange(N)
    f = ds.factors(index)
    assert np.array_equal(f.numpy(), dsprites.grid.unravel_np(codes, dsprites.FACTOR_SIZES))
    expected = torch.from_numpy(dsprites.render(f.numpy()) * np.uint8(255)).unsqueeze(1)
    assert torch.equal(ds.images(index), expected)
    assert torch.equal(ds.batch(index, "cpu"), expected.float() / 255)
    shuffled = f.numpy()[::-1]
    assert torch.equal(ds.images_for(shuffled), expected.flip(0))
    absent = np.setdiff1d(np.arange(1000), codes)[:1]
    with pytest.raises(ValueError, match="not in the dataset"):
        ds.images_for(dsprites.grid.unravel_np(absent, dsprites.FACTOR_SIZES))
    assert not marker.exists()


def test_file_in_official_order_needs_no_factor_table(tmp_path, marker) -> None:
    path = write_npz(tmp_path / "ordered.npz", np.arange(N), marker)
    ds = load_small(path, chunk_rows=10)  # several chunks, the last one short
    assert ds.codes is None
    assert ds.factors(torch.tensor([33])).tolist() == [[0, 0, 0, 0, 1, 1]]
    assert torch.equal(ds.images_for(np.array([[0, 0, 0, 0, 1, 1]])), ds.images(torch.tensor([33])))
    assert not marker.exists()


def test_path_resolution(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path / "data"))
    assert dl.cache_dir() == tmp_path / "data"
    assert dsprites_official.resolve_path() == tmp_path / "data" / dsprites_official.FILENAME
    assert dsprites_official.resolve_path(tmp_path) == tmp_path / dsprites_official.FILENAME
    assert dsprites_official.resolve_path(tmp_path / "x.npz") == tmp_path / "x.npz"
    monkeypatch.delenv(dl.ENV_VAR)
    assert dl.cache_dir() == Path.home() / ".cache" / "disentangled"


def test_missing_file_says_where_to_put_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path))
    with pytest.raises(DataError) as err:
        load_dataset("dsprites-official")
    msg = str(err.value)
    assert str(tmp_path / dsprites_official.FILENAME) in msg
    assert dsprites_official.URL in msg and "download=True" in msg and "\n" not in msg


def test_checksum_mismatch(good) -> None:
    with pytest.raises(DataError, match="git blob sha1 .* does not match"):
        load_official(good, expected_count=N)  # the official checksum
    with pytest.raises(DataError, match=dsprites_official.URL):
        load_official(good, expected_count=N)


def test_truncated_file(good, marker) -> None:
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="not a readable npz"):
        load_small(good)
    assert not marker.exists()


def test_corrupt_compressed_data(good) -> None:
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("imgs.npy")
    data = bytearray(good.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    data[start : start + 64] = bytes(64)  # damage the deflate stream of imgs
    good.write_bytes(bytes(data))
    with pytest.raises(DataError, match="imgs"):
        load_small(good)


@pytest.mark.parametrize(
    "override, match",
    [
        ({"imgs": np.zeros((N, 32, 32), np.uint8)}, r"imgs is uint8 \(64, 32, 32\)"),
        ({"imgs": np.zeros((N, 64, 64), np.float32)}, "imgs is float32"),
        ({"imgs": np.full((N, 64, 64), 2, np.uint8)}, "other than 0 and 1"),
        ({"imgs": np.zeros((N + 1, 64, 64), np.uint8)}, "imgs is uint8"),
        ({"latents_classes": np.zeros((N, 5), np.int64)}, "latents_classes is int64"),
        ({"latents_classes": np.zeros((N, 6), np.float64)}, "latents_classes is float64"),
        ({"latents_classes": np.full((N, 6), 40, np.int64)}, "out of range"),
    ],
)
def test_wrong_shapes_and_dtypes(tmp_path, codes, marker, override, match) -> None:
    path = write_npz(tmp_path / "bad.npz", codes, marker, **override)
    with pytest.raises(DataError, match=match):
        load_small(path)
    assert not marker.exists()


def test_wrong_count_and_missing_keys(good, tmp_path) -> None:
    with pytest.raises(DataError, match="64 rows, expected 737280"):
        load_official(good, git_sha1=None)
    path = tmp_path / "nokeys.npz"
    np.savez(path, imgs=np.zeros((2, 64, 64), np.uint8))
    with pytest.raises(DataError, match="missing"):
        load_official(path, git_sha1=None, expected_count=2)
    path.write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match="not a readable npz"):
        load_official(path, git_sha1=None, expected_count=2)


@pytest.mark.parametrize("key", ["imgs", "latents_classes"])
def test_pickled_arrays_are_refused_not_executed(tmp_path, codes, marker, key) -> None:
    evil = np.array([Boom(marker)] * N, dtype=object)
    path = write_npz(tmp_path / "evil.npz", codes, marker, **{key: evil})
    with pytest.raises(DataError):
        load_small(path)
    assert not marker.exists()


def test_registry_loader_and_subset(good, marker) -> None:
    # the registry loader expects the full official file: the small one fails its checksum
    with pytest.raises(DataError, match="sha1"):
        load_dataset("dsprites-official", path=str(good.parent))
    with pytest.raises(DataError, match="64 rows"):
        load_dataset("dsprites-official", path=str(good), git_sha1=None)
    assert not marker.exists()


# ---- download helpers ----------------------------------------------------------------------


def test_git_blob_sha1_matches_git(tmp_path) -> None:
    path = tmp_path / "hello"
    path.write_bytes(b"hello\n")
    assert dl.git_blob_sha1(path) == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert dl.sha256(path) == hashlib.sha256(b"hello\n").hexdigest()


def test_download_verifies_then_renames(tmp_path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3_000_000))
    dest = tmp_path / "out" / "file.bin"
    url = src.as_uri()
    with pytest.raises(DataError, match="does not match"):
        dl.download(url, dest, git_sha1="0" * 40, progress=False)
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []
    got = dl.download(url, dest, git_sha1=dl.git_blob_sha1(src), sha256_hex=dl.sha256(src))
    assert got == dest and dest.read_bytes() == src.read_bytes()
    assert list(dest.parent.iterdir()) == [dest]
    with pytest.raises(DataError, match="could not download"):
        dl.download((tmp_path / "absent").as_uri(), tmp_path / "x", progress=False)


def test_atomic_write_leaves_nothing_on_error(tmp_path) -> None:
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), dl.atomic_write(target) as f:
        f.write(b"new")
        raise RuntimeError
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]
    with dl.atomic_write(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new"


def test_load_downloads_when_asked(tmp_path, good, monkeypatch) -> None:
    dest = tmp_path / "cache" / dsprites_official.FILENAME
    monkeypatch.setattr(dsprites_official, "URL", good.as_uri())
    ds = load_official(
        dest, download_missing=True, git_sha1=dl.git_blob_sha1(good), expected_count=N
    )
    assert len(ds) == N and dest.read_bytes() == good.read_bytes()


# ---- peak memory on a full-size file (slow) ------------------------------------------------


def write_full_size_npz(path: Path) -> None:
    """A full-size official-layout npz written in streamed chunks (never 3 GB in memory)."""
    classes = dsprites.grid.unravel_np(np.arange(dsprites.NUM_IMAGES), dsprites.FACTOR_SIZES)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("imgs.npy", "w", force_zip64=True) as fp:
            header = {"descr": "|u1", "fortran_order": False, "shape": (len(classes), 64, 64)}
            np.lib.format.write_array_header_1_0(fp, header)
            for s in range(0, len(classes), 32768):
                fp.write(dsprites.render(classes[s : s + 32768]).tobytes())
        for key, arr in [("latents_classes", classes), ("latents_values", classes * 1.0)]:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr)
            zf.writestr(f"{key}.npy", buf.getvalue())


@pytest.mark.slow
def test_full_size_file_peak_memory(tmp_path) -> None:
    path = tmp_path / dsprites_official.FILENAME
    write_full_size_npz(path)
    code = (
        "import json, resource, time, torch; t = time.perf_counter();"
        "from disentangled.data.dsprites_official import load_official;"
        f"ds = load_official({str(path)!r}, git_sha1=None); t = time.perf_counter() - t;"
        "from disentangled.data import dsprites;"
        "ref = dsprites.render_packed(torch.arange(0, len(ds), 997).numpy());"
        "same = bool((ds.packed[::997].numpy() == ref).all());"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024;"
        "print(json.dumps({'rss': rss, 'seconds': t, 'same': same, 'grid': ds.codes is None}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    print(res)
    assert res["same"] and res["grid"]
    assert res["rss"] < 1.0e9  # packed 377 MB + one 64 MB chunk + interpreter and torch
