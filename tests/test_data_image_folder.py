"""Image folders: decoding, cropping and resizing once into a cache, bad files, and no factors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from disentangled.data import download as dl
from disentangled.data import image_folder, load_dataset
from disentangled.data.base import Subset
from disentangled.data.image_folder import ImageFolderData, load_folder
from disentangled.errors import ConfigError, DataError, UserError

COLOURS = [(200, 30, 40), (10, 220, 90), (5, 6, 250), (128, 128, 128)]


def solid(path: Path, colour, size=(90, 70), fmt=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format=fmt)
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "faces"
    solid(root / "b.png", COLOURS[1])
    solid(root / "a.jpg", COLOURS[0], size=(40, 120))
    solid(root / "sub" / "c.bmp", COLOURS[2], size=(64, 64))
    solid(root / "sub" / "deeper" / "d.PNG", COLOURS[3], size=(300, 20), fmt="PNG")
    (root / "notes.txt").write_text("not an image")
    solid(root / ".hidden.png", COLOURS[0])
    return root


@pytest.fixture
def cache_folder(tmp_path) -> Path:
    return tmp_path / "cache"


def load(root: Path, cache_folder: Path, **kw) -> ImageFolderData:
    return load_folder(root, progress=False, cache_folder=cache_folder, **kw)


def test_every_image_decoded_resized_and_in_order(folder, cache_folder) -> None:
    ds = load(folder, cache_folder, size=16)
    assert ds.files == [
        "a.jpg",
        "b.png",
        os.path.join("sub", "c.bmp"),
        os.path.join("sub", "deeper", "d.PNG"),
    ]
    assert len(ds) == 4 and ds.image_shape == (3, 16, 16) and not ds.binary
    x = ds.images(torch.arange(4)).numpy().astype(int)
    for i, colour in enumerate(COLOURS):
        tol = 3 if ds.files[i].endswith(".jpg") else 0  # jpeg is lossy
        assert np.abs(x[i] - np.array(colour)[:, None, None]).max() <= tol
    assert torch.equal(ds.batch(torch.arange(4), "cpu"), ds.images(torch.arange(4)).float() / 255)


def test_centre_crop_then_resize(tmp_path, cache_folder) -> None:
    stripes = np.zeros((100, 500, 3), np.uint8)
    stripes[:, :150] = (255, 0, 0)
    stripes[:, 150:350] = (0, 255, 0)  # the centre square [200, 300) is green only
    stripes[:, 350:] = (0, 0, 255)
    root = tmp_path / "stripes"
    root.mkdir()
    Image.fromarray(stripes).save(root / "s.png")
    x = load(root, cache_folder, size=8).images(torch.tensor([0])).numpy()[0]
    assert (x[1] == 255).all() and (x[[0, 2]] == 0).all()
    # a 60 px crop of a 100 px gradient keeps only the middle values
    ramp = np.tile(np.linspace(0, 255, 100).astype(np.uint8), (100, 1))
    Image.fromarray(ramp).save(root / "s.png")
    y = load(root, cache_folder, size=10, crop=60, channels=1).images(torch.tensor([0]))
    assert y.shape == (1, 1, 10, 10)
    assert int(y.min()) >= 45 and int(y.max()) <= 210


def test_grey_channel(folder, cache_folder) -> None:
    ds = load(folder, cache_folder, size=8, channels=1)
    grey = ds.images(torch.tensor([1])).numpy()
    r, g, b = COLOURS[1]
    assert grey.shape == (1, 1, 8, 8)
    assert abs(int(grey[0, 0, 0, 0]) - round((r * 299 + g * 587 + b * 114) / 1000)) <= 1


def test_unreadable_images_are_skipped_and_counted(folder, cache_folder) -> None:
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
    (folder / "sub" / "empty.jpg").write_bytes(b"")
    whole = solid(folder / "whole.jpg", (1, 2, 3), size=(300, 300)).read_bytes()
    (folder / "cut.jpg").write_bytes(whole[: len(whole) // 2])  # a truncated JPEG
    (folder / "whole.jpg").unlink()
    with pytest.warns(UserWarning, match="3 of 7 files .* skipped"):
        ds = load(folder, cache_folder, size=8)
    skipped = ["broken.png", "cut.jpg", os.path.join("sub", "empty.jpg")]
    assert len(ds) == 4 and sorted(ds.skipped) == skipped
    assert "broken.png" not in ds.files
    again = load(folder, cache_folder, size=8)  # from the cache: the same rows and counts
    assert again.skipped == ds.skipped and torch.equal(
        again.images(torch.arange(4)), ds.images(torch.arange(4))
    )


def test_nothing_readable(tmp_path, cache_folder) -> None:
    root = tmp_path / "bad"
    root.mkdir()
    (root / "x.jpg").write_bytes(b"no")
    with pytest.warns(UserWarning), pytest.raises(DataError, match="none of the 1 image files"):
        load(root, cache_folder)


def test_empty_or_missing_folder(tmp_path, cache_folder) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("hi")
    with pytest.raises(DataError, match="no images under"):
        load(tmp_path / "empty", cache_folder)
    with pytest.raises(DataError, match="not a folder"):
        load(tmp_path / "nope", cache_folder)
    with pytest.raises(ConfigError, match="path=FOLDER"):
        load_dataset("image-folder")
    with pytest.raises(ConfigError, match="channels"):
        load(tmp_path / "empty", cache_folder, channels=2)


def test_decoded_once_then_read_from_the_cache(folder, cache_folder, monkeypatch) -> None:
    first = load(folder, cache_folder, size=8)
    assert len(list(cache_folder.glob("faces_*.npy"))) == 1
    monkeypatch.setattr(image_folder, "decode_all", lambda *a, **k: pytest.fail("decoded again"))
    second = load(folder, cache_folder, size=8)
    assert torch.equal(second.images(torch.arange(4)), first.images(torch.arange(4)))
    monkeypatch.undo()
    solid(folder / "b.png", (0, 0, 0))  # a changed file changes the fingerprint
    os.utime(folder / "b.png", ns=(1, 1))
    third = load(folder, cache_folder, size=8)
    assert (third.images(torch.tensor([1])) == 0).all()
    assert len(list(cache_folder.glob("faces_*.npy"))) == 2


def test_corrupt_cache_is_rebuilt(folder, cache_folder) -> None:
    first = load(folder, cache_folder, size=8)
    npy = next(cache_folder.glob("faces_*.npy"))
    npy.write_bytes(npy.read_bytes()[:-10])
    with pytest.warns(UserWarning, match="corrupt"):
        again = load(folder, cache_folder, size=8)
    assert torch.equal(again.images(torch.arange(4)), first.images(torch.arange(4)))


def test_no_factors_anywhere(folder, cache_folder) -> None:
    ds = load(folder, cache_folder, size=8)
    assert ds.factor_sizes == () and ds.factor_names == () and ds.num_factors == 0
    assert ds.factors(torch.arange(3)).shape == (3, 0)
    for call in (
        lambda: ds.sample_factors(5, np.random.RandomState(0)),
        lambda: ds.images_for(np.zeros((1, 0), np.int64)),
        lambda: ds.index_of(np.zeros((1, 0), np.int64)),
    ):
        with pytest.raises(UserError, match="no ground-truth factors"):
            call()
    from disentangled.metrics.sampling import check_dataset

    with pytest.raises(Exception, match="ground-truth factor"):
        check_dataset(ds)


def test_registry_and_subset(folder, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path / "data"))
    ds = load_dataset("image-folder", path=str(folder), subset=3, seed=0, size=8, progress=False)
    assert isinstance(ds, Subset) and len(ds) == 3 and ds.image_shape == (3, 8, 8)
    assert list((tmp_path / "data" / "image_folder").glob("faces_*.npy"))


def test_celeba(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path))
    with pytest.raises(DataError) as err:
        load_dataset("celeba")
    msg = str(err.value)
    where = tmp_path / "celeba" / "img_align_celeba"
    assert str(where) in msg and image_folder.CELEBA_MD5 in msg and image_folder.CELEBA_PAGE in msg
    face = np.zeros((218, 178, 3), np.uint8)
    face[35:183, 15:163] = 200  # exactly the centre 148 x 148 square
    where.mkdir(parents=True)
    for i in range(3):
        Image.fromarray(face).save(where / f"{i:06d}.png")
    ds = load_dataset("celeba", progress=False)
    assert ds.name == "celeba" and len(ds) == 3 and ds.image_shape == (3, 64, 64)
    assert (ds.images(torch.arange(3)) == 200).all()
