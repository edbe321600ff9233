"""The MNIST / Fashion-MNIST IDX loader: real files, synthetic files, resizing and bad input."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from disentangled.cli import main
from disentangled.config import load_config
from disentangled.data import download as dl
from disentangled.data import load_configured, load_dataset, mnist
from disentangled.data.mnist import MNIST, Source, load_source, read_images, read_labels, resize
from disentangled.errors import ConfigError, DataError
from disentangled.evaluation import held_out_split

REAL = Path("/work/shared/data/mnist")
needs_real = pytest.mark.skipif(
    not (REAL / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"the real MNIST files are not in {REAL}",
)


def idx_images(images: np.ndarray, magic: int = mnist.IMAGES_MAGIC) -> bytes:
    """IDX bytes of uint8 images (n, rows, cols)."""
    n, rows, cols = images.shape
    return struct.pack(">IIII", magic, n, rows, cols) + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray, magic: int = mnist.LABELS_MAGIC) -> bytes:
    return struct.pack(">II", magic, len(labels)) + labels.astype(np.uint8).tobytes()


def write_split(folder: Path, n: int = 20, split: str = "train", gz: bool = True, seed: int = 0):
    """Random 28x28 images and labels written as one split's two IDX files; returns them."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    stems = mnist.STEMS[split]
    for stem, data in zip(stems, (idx_images(images), idx_labels(labels)), strict=True):
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)
    return images, labels


def image_file(folder: Path) -> Path:
    return next(folder.glob("train-images*"))


# ----------------------------------------------------------------------------- real files


@needs_real
@pytest.mark.parametrize(
    "split, counts",
    [
        ("train", [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]),
        ("test", [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]),
    ],
)
def test_real_mnist_splits(split, counts):
    """Published class counts of each split; 32x32 uint8; resizing keeps the mean ink level."""
    ds = load_dataset("mnist", path=str(REAL), split=split)
    assert ds.name == "mnist" and ds.image_shape == (1, 32, 32) and not ds.binary
    assert ds.factor_names == ("label",) and ds.factor_sizes == (10,)
    assert ds.images_u8.dtype == torch.uint8 and ds.images_u8.shape == (sum(counts), 1, 32, 32)
    assert torch.bincount(ds.labels, minlength=10).tolist() == counts
    stem = mnist.STEMS[split][0]
    with gzip.open(REAL / f"{stem}.gz") as f:
        raw = np.frombuffer(f.read()[16:], dtype=np.uint8)
    # bilinear upsampling is a convex combination of pixels: the mean moves by border effects only
    assert abs(ds.images_u8.double().mean().item() - raw.mean()) < 0.5
    b = ds.batch(torch.tensor([0, 1]), "cpu")
    assert b.dtype == torch.float32 and b.min() >= 0.0 and b.max() <= 1.0


# ----------------------------------------------------------------------------- resizing


def test_resize_is_bilinear_with_half_pixel_centres():
    """A ramp along the columns: the output equals the closed-form interpolation to within 1."""
    ramp = np.tile(np.arange(28, dtype=np.float64) * 9, (28, 1))  # 0..243
    img = torch.from_numpy(ramp.astype(np.uint8))[None, None]
    out = resize(img, 32)[0, 0].double().numpy()
    src = np.clip((np.arange(32) + 0.5) * 28 / 32 - 0.5, 0, 27)
    expected = np.interp(src, np.arange(28), ramp[0])
    assert out.shape == (32, 32)
    assert np.abs(out - expected[None, :]).max() <= 1.0
    const = torch.full((3, 1, 28, 28), 77, dtype=torch.uint8)
    assert torch.equal(resize(const, 32), torch.full((3, 1, 32, 32), 77, dtype=torch.uint8))
    assert resize(const, 28) is const


def test_synthetic_gz_and_raw_files_read_alike(tmp_path):
    images, labels = write_split(tmp_path / "gz", gz=True)
    write_split(tmp_path / "raw", gz=False)
    a = load_dataset("mnist", path=str(tmp_path / "gz"))
    b = load_dataset("mnist", path=str(tmp_path / "raw"))
    assert torch.equal(a.images_u8, b.images_u8)
    expected = resize(torch.from_numpy(images)[:, None], 32)
    assert torch.equal(a.images_u8, expected)
    idx = torch.tensor([3, 0, 7])
    assert a.factors(idx).tolist() == [[int(labels[i])] for i in idx]
    native = load_dataset("mnist", path=str(tmp_path / "gz"), size=28)
    assert torch.equal(native.images_u8[:, 0], torch.from_numpy(images))


def test_dotted_names_test_split_and_subset(tmp_path):
    images, labels = write_split(tmp_path, n=30, split="test", gz=False)
    for stem in mnist.STEMS["test"]:
        (tmp_path / stem).rename(tmp_path / stem.replace("-idx", ".idx"))
    ds = load_dataset("mnist", path=str(tmp_path), split="test", subset=10, seed=3)
    assert len(ds) == 10
    rows = ds.indices
    assert torch.equal(ds.factors(torch.arange(10))[:, 0], torch.from_numpy(labels).long()[rows])


def test_fashion_mnist_loader(tmp_path, monkeypatch):
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path))
    write_split(tmp_path / "fashion-mnist", n=12)
    ds = load_dataset("fashion-mnist")
    assert ds.name == "fashion-mnist" and len(ds) == 12 and ds.class_names[9] == "Ankle boot"


def test_environment_variable_sets_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path))
    assert mnist.data_folder(MNIST) == tmp_path / "mnist"
    write_split(tmp_path / "mnist", n=5)
    assert len(load_dataset("mnist")) == 5


def test_labelled_images_refuse_factor_rendering(tmp_path):
    write_split(tmp_path, n=5)
    ds = load_dataset("mnist", path=str(tmp_path))
    with pytest.raises(DataError, match="not a grid"):
        ds.images_for(np.zeros((1, 1), dtype=np.int64))


# ----------------------------------------------------------------------------- bad input


def test_missing_files_say_exactly_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path))
    with pytest.raises(DataError) as err:
        load_dataset("mnist")
    msg = str(err.value)
    assert str(tmp_path / "mnist") in msg and "train-images-idx3-ubyte.gz" in msg
    assert MNIST.url in msg and "download=True" in msg and dl.ENV_VAR in msg
    assert "\n" not in msg


def test_path_must_be_a_folder(tmp_path):
    f = tmp_path / "file"
    f.write_bytes(b"x")
    with pytest.raises(DataError, match="folder"):
        load_dataset("mnist", path=str(f))


@pytest.mark.parametrize("gz", [True, False])
def test_wrong_magic_number(tmp_path, gz):
    write_split(tmp_path, gz=gz)
    path = image_file(tmp_path)
    data = idx_images(np.zeros((2, 28, 28), np.uint8), magic=0x00000801)
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DataError, match="wrong magic number 0x00000801"):
        load_dataset("mnist", path=str(tmp_path))


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("keep", [0.2, 0.6, 0.99])
def test_truncated_files(tmp_path, gz, keep):
    write_split(tmp_path, n=50, gz=gz)
    path = image_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(DataError, match="truncated") as err:
        load_dataset("mnist", path=str(tmp_path))
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_truncated_header(tmp_path):
    write_split(tmp_path, gz=False)
    image_file(tmp_path).write_bytes(b"\x00\x00\x08")
    with pytest.raises(DataError, match="ends early in its header"):
        load_dataset("mnist", path=str(tmp_path))


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("claimed", [0, mnist.MAX_ITEMS + 1, 4_000_000_000, 3_000_000])
def test_absurd_counts_are_refused_before_allocating(tmp_path, monkeypatch, gz, claimed):
    """A header claiming more images than the file can hold fails before the output exists."""
    write_split(tmp_path, gz=gz)
    path = image_file(tmp_path)
    data = struct.pack(">IIII", mnist.IMAGES_MAGIC, claimed, 28, 28) + bytes(784 * 4)
    path.write_bytes(gzip.compress(data) if gz else data)
    allocated = []
    real_empty = torch.empty
    monkeypatch.setattr(
        mnist.torch, "empty", lambda *a, **k: allocated.append(a) or real_empty(*a, **k)
    )
    with pytest.raises(DataError, match="claims") as err:
        read_images(path)
    assert allocated == []
    assert str(claimed) in str(err.value)


def test_trailing_data_and_wrong_image_size(tmp_path):
    write_split(tmp_path, gz=False)
    path = image_file(tmp_path)
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(DataError, match="past the size"):
        read_images(path)
    path.write_bytes(idx_images(np.zeros((2, 20, 20), np.uint8)))
    with pytest.raises(DataError, match="20x20, expected 28x28"):
        read_images(path)
    gz = tmp_path / "x.gz"
    gz.write_bytes(gzip.compress(idx_images(np.zeros((2, 28, 28), np.uint8)) + b"junk"))
    with pytest.raises(DataError, match="past the size"):
        read_images(gz)


def test_corrupt_gzip_stream(tmp_path):
    write_split(tmp_path, n=200, gz=True)
    path = image_file(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 40] = bytes(40)
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=str(path.name)):
        read_images(path)


def test_bad_labels(tmp_path):
    write_split(tmp_path, n=10, gz=False)
    lab = tmp_path / mnist.STEMS["train"][1]
    lab.write_bytes(idx_labels(np.array([1, 2, 10])))
    with pytest.raises(DataError, match="label 10 is out of range"):
        read_labels(lab)
    lab.write_bytes(idx_labels(np.arange(9)))
    with pytest.raises(DataError, match="9 labels for the 10 images"):
        load_dataset("mnist", path=str(tmp_path))
    lab.write_bytes(idx_labels(np.arange(10), magic=mnist.IMAGES_MAGIC))
    with pytest.raises(DataError, match="wrong magic number"):
        load_dataset("mnist", path=str(tmp_path))


def test_a_run_config_loads_its_data_at_its_size(tmp_path):
    images, _ = write_split(tmp_path, n=12)
    write_split(tmp_path, n=7, split="test")
    cfg = load_config(preset="jointvae-mnist", overrides=[f"data.path={tmp_path}"])
    assert load_configured(cfg.data).image_shape == (1, 32, 32)  # the loader's default
    cfg = load_config(preset="jointvae-mnist", overrides=[f"data.path={tmp_path}", "size=28"])
    native = load_configured(cfg.data)
    assert native.image_shape == (1, 28, 28)
    assert torch.equal(native.images_u8[:, 0], torch.from_numpy(images))
    test = held_out_split(cfg.data.name, cfg.data.path, cfg.data.size)
    assert test.image_shape == (1, 28, 28) and len(test) == 7
    cfg = load_config(preset="vae-dsprites", overrides=["size=28"])
    with pytest.raises(ConfigError, match=r"no option \['size'\]"):
        load_configured(cfg.data)


def test_bad_options(tmp_path):
    write_split(tmp_path, n=5)
    with pytest.raises(ConfigError, match="split"):
        load_dataset("mnist", path=str(tmp_path), split="validation")
    with pytest.raises(ConfigError, match="size"):
        load_dataset("mnist", path=str(tmp_path), size=4)


@pytest.mark.parametrize("damage", ["truncate", "magic"])
def test_cli_reports_bad_mnist_files_in_one_line(tmp_path, capsys, damage):
    write_split(tmp_path / "data", n=10)
    path = image_file(tmp_path / "data")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:200])
    else:
        path.write_bytes(gzip.compress(idx_images(np.zeros((10, 28, 28)), magic=7)))
    code = main(
        [
            "train",
            "--preset",
            "jointvae-mnist",
            "--out",
            str(tmp_path / "run"),
            f"data.path={tmp_path / 'data'}",
            "steps=1",
            "progress=false",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err and str(path) in err


# ----------------------------------------------------------------------------- download


class FakeResponse(io.BytesIO):
    headers: dict[str, str] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_download_only_when_asked_and_verified(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    payload = {
        "train-images-idx3-ubyte": gzip.compress(idx_images(rng.integers(0, 255, (4, 28, 28)))),
        "train-labels-idx1-ubyte": gzip.compress(idx_labels(np.array([0, 1, 2, 3]))),
    }
    source = Source(
        name="mnist",
        folder="mnist",
        url="http://example.invalid/mnist/",
        class_names=MNIST.class_names,
        sha256={k: hashlib.sha256(v).hexdigest() for k, v in payload.items()},
    )
    requested = []

    def fake_urlopen(url, timeout=None):
        requested.append(url)
        return FakeResponse(payload[url.rsplit("/", 1)[1][: -len(".gz")]])

    monkeypatch.setattr(dl.urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(DataError, match="download=True"):
        load_source(source, path=tmp_path)
    assert requested == []
    ds = load_source(source, path=tmp_path, download_missing=True, progress=False)
    assert len(ds) == 4 and ds.factors(torch.arange(4))[:, 0].tolist() == [0, 1, 2, 3]
    assert requested == [f"{source.url}{stem}.gz" for stem in mnist.STEMS["train"]]
    assert (tmp_path / "train-images-idx3-ubyte.gz").read_bytes() == payload[
        "train-images-idx3-ubyte"
    ]
    # a download whose checksum does not match leaves nothing behind
    for f in tmp_path.iterdir():
        f.unlink()
    bad = dataclasses.replace(source, sha256={k: "0" * 64 for k in payload})
    with pytest.raises(DataError, match="sha256"):
        load_source(bad, path=tmp_path, download_missing=True, progress=False)
    assert list(tmp_path.iterdir()) == []


@needs_real
def test_shipped_checksums_match_the_real_files():
    for stem, digest in MNIST.sha256.items():
        assert dl.sha256(REAL / f"{stem}.gz") == digest
