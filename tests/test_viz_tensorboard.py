"""TensorBoardLogger: what it writes (against a recording stand-in for SummaryWriter), and the
error when the tensorboard package is missing."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from disentangled.errors import UserError
from disentangled.viz.tensorboard import TensorBoardLogger


class RecordingWriter:
    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir
        self.calls: list[tuple] = []

    def add_scalar(self, tag, value, step):
        self.calls.append(("scalar", tag, value, step))

    def add_image(self, tag, img, step, dataformats):
        self.calls.append(("image", tag, tuple(img.shape), step, dataformats, float(img.max())))

    def flush(self):
        self.calls.append(("flush",))

    def close(self):
        self.calls.append(("close",))


@pytest.fixture
def fake_tensorboard(monkeypatch):
    mod = types.ModuleType("torch.utils.tensorboard")
    mod.SummaryWriter = RecordingWriter
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", mod)


def test_scalars_and_images_are_written_with_their_step(fake_tensorboard, tmp_path):
    with TensorBoardLogger(tmp_path / "tb") as tb:
        record = {"step": 7, "loss": 3.5, "kl": 1, "kl_dims": [0.5, None, 2.0], "bad": None,
                  "flag": True, "event": "x", "nan": float("nan")}  # fmt: skip
        tb.scalars(7, record)
        tb.images(7, "traversal", torch.full((1, 4, 5), 2.0))
        writer = tb._writer
    assert writer.log_dir == str(tmp_path / "tb")
    assert writer.calls == [
        ("scalar", "loss", 3.5, 7),
        ("scalar", "kl", 1.0, 7),
        ("scalar", "kl_dims/0", 0.5, 7),
        ("scalar", "kl_dims/2", 2.0, 7),
        ("image", "traversal", (1, 4, 5), 7, "CHW", 1.0),  # clamped to [0, 1]
        ("close",),
    ]
    with pytest.raises(ValueError, match="C,H,W"):
        TensorBoardLogger(tmp_path).images(1, "x", torch.zeros(4, 5))


def test_missing_tensorboard_is_a_user_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import raises ImportError
    with pytest.raises(UserError, match="pip install tensorboard"):
        TensorBoardLogger(tmp_path)


def test_traversal_picture_is_the_labelled_grid_in_grey_levels(fake_tensorboard, tmp_path):
    from test_viz_traversal import StubData, StubVAE

    model, data = StubVAE([1.0, 0.5]), StubData(64, 2)
    with TensorBoardLogger(tmp_path) as tb:
        tb.traversals(3, model, data, "cpu")
        kind, tag, shape, step, fmt, top = tb._writer.calls[0]
    assert (kind, tag, step, fmt) == ("image", "traversals", 3, "CHW")
    assert shape[0] == 1 and shape[1] == (2 * (1 + 2) + 2) * 64  # 2 rows of 64-pixel cells
    assert top == 1.0  # the white label margin
