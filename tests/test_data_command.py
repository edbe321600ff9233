"""``disentangled data list|fetch|compare`` and the per-shape IoU of the dSprites comparison."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from disentangled.cli import main
from disentangled.commands import data as cmd
from disentangled.data import available_datasets, bits, dsprites, dsprites_official, shapes3d
from disentangled.data import download as dl
from disentangled.data.dsprites import FACTOR_SIZES
from disentangled.data.packed import PackedBinaryData


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv(dl.ENV_VAR, str(folder))
    return folder


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["data", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---- list -----------------------------------------------------------------------------------


def table(out: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in out.splitlines()[1:]}


def test_list_shows_every_dataset_and_where(capsys, data_dir) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0 and str(data_dir) in out.splitlines()[0]
    rows = table(out)
    assert set(rows) == set(available_datasets())
    assert rows["shapes3d-official"][2] == "missing"
    assert str(data_dir / shapes3d.FILENAME) in " ".join(rows["shapes3d-official"])
    assert rows["dsprites-official"][2] == "missing" and rows["digits"][2] == "present"
    assert rows["shapes3d"][2:4] == ["not", "built"]
    (data_dir).mkdir()
    (data_dir / shapes3d.FILENAME).write_bytes(b"\0" * 2_000_000)
    (data_dir / "celeba" / "img_align_celeba").mkdir(parents=True)
    rows = table(run(capsys, "list")[1])
    assert rows["shapes3d-official"][2] == "present" and "(2 MB)" in " ".join(
        rows["shapes3d-official"]
    )
    assert rows["celeba"][2] == "present"


# ---- fetch ----------------------------------------------------------------------------------


@pytest.fixture
def remote(tmp_path, monkeypatch):
    """A local 'server' file for shapes3d-official, reached through a file:// URL."""
    src = tmp_path / "remote" / "3dshapes.h5"
    src.parent.mkdir()
    src.write_bytes(np.random.default_rng(0).bytes(300_000))
    monkeypatch.setattr(shapes3d, "URLS", ("file:///nonexistent/3dshapes.h5", src.as_uri()))
    monkeypatch.setattr(shapes3d, "SHA256", dl.sha256(src))
    return src


def test_fetch_tries_each_url_and_verifies(capsys, data_dir, remote) -> None:
    code, out, _ = run(capsys, "fetch", "shapes3d-official", "--no-progress")
    dest = data_dir / shapes3d.FILENAME
    assert code == 0 and "downloaded and verified" in out
    assert dest.read_bytes() == remote.read_bytes()
    code, out, _ = run(capsys, "fetch", "shapes3d-official", "--no-progress")
    assert code == 0 and "already present and verified" in out


def test_fetch_with_a_wrong_checksum_leaves_nothing(capsys, data_dir, remote, monkeypatch) -> None:
    monkeypatch.setattr(shapes3d, "SHA256", "0" * 64)
    code, _, err = run(capsys, "fetch", "shapes3d-official", "--no-progress")
    assert code == 2 and "sha256" in err and "2 URL(s)" in err and err.count("\n") == 1
    assert not (data_dir / shapes3d.FILENAME).exists()
    assert not list(data_dir.glob(".*tmp"))
    data_dir.joinpath(shapes3d.FILENAME).write_bytes(remote.read_bytes()[:-1])  # truncated copy
    code, _, err = run(capsys, "fetch", "shapes3d-official", "--no-progress")
    assert code == 2 and "does not match" in err


def test_fetch_of_what_cannot_or_need_not_be_downloaded(capsys, data_dir) -> None:
    code, _, err = run(capsys, "fetch", "celeba")
    assert code == 2 and "no automatic download" in err and "img_align_celeba" in err
    code, _, err = run(capsys, "fetch", "image-folder")
    assert code == 2 and "your own folder" in err
    code, _, err = run(capsys, "fetch", "imagenet")
    assert code == 2 and "unknown dataset" in err
    code, out, _ = run(capsys, "fetch", "digits")
    assert code == 0 and "scikit-learn" in out
    code, out, _ = run(capsys, "fetch", "dsprites-noisy")
    assert code == 0 and "dsprites-official" in out


# ---- compare --------------------------------------------------------------------------------


def packed_of(codes: np.ndarray) -> np.ndarray:
    return dsprites.render_packed(codes)


def test_iou_of_identical_disjoint_and_halved_images() -> None:
    codes = np.array([0, 245_760, 491_520, 1, 245_761])  # square, ellipse, heart, square, ellipse
    shapes = dsprites.grid.unravel_np(codes, FACTOR_SIZES)[:, 1]
    a = packed_of(codes)
    same = cmd.iou_by_shape(a, a.copy(), shapes)
    assert set(same) == {"square", "ellipse", "heart"} and same["square"]["images"] == 2
    for r in same.values():
        assert r["iou"] == r["mean_iou"] == r["p5_iou"] == r["area_ratio"] == 1.0
    px = bits.unpack(torch.from_numpy(a), 4096).numpy().astype(bool)
    half = px.copy()
    for i in range(len(px)):  # keep every other sprite pixel in raster order
        on = np.flatnonzero(px[i])
        half[i, on[1::2]] = False
    b = bits.pack(half)
    r = cmd.iou_by_shape(a, b, shapes)
    for shape, k in (("square", 0), ("ellipse", 1), ("heart", 2)):
        m = shapes == k
        kept, total = half[m].sum(), px[m].sum()
        assert r[shape]["iou"] == pytest.approx(kept / total)
        assert r[shape]["area_ratio"] == pytest.approx(kept / total)
    shifted = packed_of(codes + 31 * 32)  # posX 0 -> 31: no overlap left
    assert all(v["iou"] == 0.0 for v in cmd.iou_by_shape(a, shifted, shapes).values())


def test_compare_without_the_official_file(capsys, data_dir) -> None:
    code, _, err = run(capsys, "compare", "dsprites")
    assert code == 2 and err.count("\n") == 1
    assert str(data_dir / dsprites_official.FILENAME) in err
    assert "disentangled data fetch dsprites-official" in err and "--path" in err


def test_compare_reports_per_shape_iou(capsys, tmp_path, monkeypatch) -> None:
    codes = np.random.default_rng(0).choice(dsprites.NUM_IMAGES, 300, replace=False)
    packed = packed_of(codes)
    packed[codes % 3 == 0, :256] = 0  # blank the top half of some images
    fake = PackedBinaryData(
        name=dsprites_official.NAME,
        factor_names=dsprites.FACTOR_NAMES,
        factor_sizes=FACTOR_SIZES,
        image_shape=(1, 64, 64),
        packed=torch.from_numpy(packed),
        codes=codes,
    )
    path = tmp_path / "official.npz"
    path.write_bytes(b"stand-in")
    monkeypatch.setattr(dsprites_official, "load_official", lambda p: fake)
    code, out, _ = run(capsys, "compare", "dsprites", "--path", str(path))
    assert code == 0 and "300 images" in out
    expected = cmd.iou_by_shape(
        packed, packed_of(codes), dsprites.grid.unravel_np(codes, FACTOR_SIZES)[:, 1]
    )
    lines = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    for shape, r in expected.items():
        assert float(lines[shape][2]) == pytest.approx(r["iou"], abs=5e-5)
        assert r["iou"] < 1.0
    code, out, _ = run(capsys, "compare", "dsprites", "--path", str(path), "--subset", "50")
    assert code == 0 and "50 images" in out
