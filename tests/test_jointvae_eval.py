"""Discrete-code evaluation and the JointVAE pictures, on constructed models with known codes."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import norm
from torch import nn

from disentangled.config import ModelConfig
from disentangled.data import load_dataset
from disentangled.data.mnist import LabelledImages
from disentangled.errors import ConfigError, DataError
from disentangled.evaluation import evaluate_discrete_code, held_out_split
from disentangled.evaluation.discrete_code import choose_factor
from disentangled.latents import JointLatent, LatentSample
from disentangled.models import VAE
from disentangled.viz.joint import (
    discrete_order,
    discrete_traversal_grid,
    joint_traversal_grid,
    write_joint_figures,
)
from disentangled.viz.run_figures import write_run_figures
from test_mnist import write_split

# ----------------------------------------------------------------------------- evaluation


def labelled(labels: np.ndarray, n_classes: int = 10, extra: np.ndarray | None = None):
    """A dataset whose image i stores its label in pixel (0, 0) and ``extra[i]`` in (0, 1)."""
    n = len(labels)
    images = torch.zeros((n, 1, 2, 2), dtype=torch.uint8)
    images[:, 0, 0, 0] = torch.from_numpy(labels.astype(np.uint8))
    if extra is not None:
        images[:, 0, 0, 1] = torch.from_numpy(extra.astype(np.uint8))
    names = tuple(str(c) for c in range(n_classes))
    return LabelledImages("toy", images, torch.from_numpy(labels.astype(np.int64)), names)


class CodeStub(nn.Module):
    """A 'model' whose categorical i puts its mass on ``assign[i](label, extra)``."""

    def __init__(self, disc: list[int], assign) -> None:
        super().__init__()
        self.latent = JointLatent(1, disc)
        self.assign = assign

    def posterior(self, x: torch.Tensor) -> LatentSample:
        label = (x[:, 0, 0, 0] * 255).round().long()
        extra = (x[:, 0, 0, 1] * 255).round().long()
        logits = [
            5.0 * nn.functional.one_hot(f(label, extra), k).float()
            for k, f in zip(self.latent.disc, self.assign, strict=True)
        ]
        zeros = torch.zeros(x.shape[0], 1)
        return LatentSample(mu=zeros, logvar=zeros, logits=logits)


def test_a_relabelled_code_scores_one():
    labels = np.repeat(np.arange(10), 7)
    perm = torch.tensor([3, 7, 0, 9, 1, 2, 8, 5, 4, 6])
    model = CodeStub([10], [lambda y, e: perm[y]])
    scores = evaluate_discrete_code(model, labelled(labels), "cpu", batch_size=16)
    d = scores["disc_0"]
    assert d["accuracy_hungarian"] == 1.0 and d["accuracy_majority"] == 1.0
    assert d["nmi"] == pytest.approx(1.0)
    assert d["num_categories"] == 10 and d["factor"] == "label" and d["num_classes"] == 10


def test_merged_classes_closed_form():
    """5 categories, each holding two classes of 7 images: one-to-one matching can be right on
    one class per category (1/2); NMI = H(C) / ((H(C) + H(Y)) / 2) = 2 log 5 / (log 5 + log 10)."""
    labels = np.repeat(np.arange(10), 7)
    model = CodeStub([5], [lambda y, e: y // 2])
    d = evaluate_discrete_code(model, labelled(labels), "cpu")["disc_0"]
    assert d["accuracy_hungarian"] == pytest.approx(0.5)
    assert d["accuracy_majority"] == pytest.approx(0.5)
    assert d["nmi"] == pytest.approx(2 * math.log(5) / (math.log(5) + math.log(10)))


def test_split_class_majority_beats_one_to_one():
    """Class 0 split over categories 0 and 1 (and class 1 also in 1): majority maps both to 0."""
    labels = np.array([0] * 6 + [1] * 2 + [2] * 4)
    extra = np.array([0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0])

    def assign(y, e):
        return torch.where(
            y == 0, e, torch.where(y == 1, torch.ones_like(y), 2 * torch.ones_like(y))
        )

    d = evaluate_discrete_code(CodeStub([3], [assign]), labelled(labels, 3, extra), "cpu")
    d = d["disc_0"]
    # categories: 0 = {3x class 0}, 1 = {3x class 0, 2x class 1}, 2 = {4x class 2}
    assert d["accuracy_majority"] == pytest.approx((3 + 3 + 4) / 12)
    assert d["accuracy_hungarian"] == pytest.approx((3 + 2 + 4) / 12)


def test_hungarian_accuracy_is_the_best_permutation():
    """Brute force over all 4! one-to-one maps of a noisy 4-way code on 4 classes."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 300)
    noise = rng.integers(0, 4, 300)
    keep = rng.random(300) < 0.6
    cats = np.where(keep, (labels + 1) % 4, noise)
    model = CodeStub([4], [lambda y, e: e])  # the category is stored in the image itself
    d = evaluate_discrete_code(model, labelled(labels, 4, cats), "cpu")["disc_0"]
    best = max(np.mean(np.array(p)[cats] == labels) for p in itertools.permutations(range(4)))
    assert d["accuracy_hungarian"] == pytest.approx(best)
    counts = np.zeros((4, 4))
    np.add.at(counts, (cats, labels), 1)
    assert d["accuracy_majority"] == pytest.approx(counts.max(1).sum() / 300)


def test_every_categorical_is_scored():
    labels = np.repeat(np.arange(10), 3)
    model = CodeStub([10, 2], [lambda y, e: y, lambda y, e: y % 2])
    scores = evaluate_discrete_code(model, labelled(labels), "cpu")
    assert sorted(scores) == ["disc_0", "disc_1"]
    assert scores["disc_0"]["accuracy_hungarian"] == 1.0
    assert scores["disc_1"]["accuracy_hungarian"] == pytest.approx(0.2)  # 2 classes of 10
    assert scores["disc_1"]["num_categories"] == 2


def test_missing_labels_are_a_clear_error():
    model = CodeStub([10], [lambda y, e: y])
    unlabelled = labelled(np.arange(10))
    unlabelled.factor_sizes = ()
    with pytest.raises(DataError, match="has no labels"):
        evaluate_discrete_code(model, unlabelled, "cpu")
    partial = labelled(np.arange(10))
    partial.labels[3] = -1
    with pytest.raises(DataError, match="1 of 10 images have no label"):
        evaluate_discrete_code(model, partial, "cpu")


def test_a_model_without_categoricals_is_a_clear_error():
    model = VAE.from_config(ModelConfig(net="mlp", latent_dim=2, hidden=8), (1, 2, 2))
    with pytest.raises(ConfigError, match="no discrete latent"):
        evaluate_discrete_code(model, labelled(np.arange(10)), "cpu")


class Factors:
    factor_names = ("color", "shape", "scale", "posX")
    factor_sizes = (1, 3, 6, 32)


def test_choice_of_factor():
    assert choose_factor(Factors(), 3, None) == 1  # shape: K = 3 values
    assert choose_factor(Factors(), 5, None) == 2  # scale is the closest to 5
    assert choose_factor(Factors(), 30, "shape") == 1
    with pytest.raises(ConfigError, match="unknown factor 'label'"):
        choose_factor(Factors(), 3, "label")


def test_held_out_split(tmp_path):
    assert held_out_split("dsprites") is None
    write_split(tmp_path, n=9, split="test")
    assert len(held_out_split("mnist", str(tmp_path))) == 9


# ----------------------------------------------------------------------------- pictures


class DecodeStub(nn.Module):
    """2 Gaussian dims + categoricals [3, 2]; the decoder writes the code into a 1 x D image
    (as logits), so every tile of a picture can be read back as the code that produced it."""

    def __init__(self) -> None:
        super().__init__()
        self.latent = JointLatent(2, [3, 2])
        self.base = torch.tensor([0.3, -0.2, 0.0, 1.0, 0.0, 1.0, 0.0])

    def posterior(self, x: torch.Tensor) -> LatentSample:
        b = x.shape[0]
        mu = torch.tensor([[0.1, 2.0]]).expand(b, 2)  # dim 1 has the larger KL
        logits = [torch.zeros(b, 3), torch.tensor([[4.0, -4.0]]).expand(b, 2)]  # var 1 larger
        return LatentSample(mu=mu, logvar=torch.zeros(b, 2), logits=logits)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.base.expand(x.shape[0], -1).clone()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, None, None, :]


def tiles(grid: torch.Tensor, rows: int, cols: int, width: int) -> torch.Tensor:
    """Read back the (rows, cols, width) codes from a grid of 1 x width tiles (pad 2)."""
    g = torch.logit(grid[0].double().clamp(1e-9, 1 - 1e-9))
    out = torch.empty(rows, cols, width, dtype=torch.float64)
    for r in range(rows):
        for c in range(cols):
            y, x = 2 + r * 3, 2 + c * (width + 2)
            out[r, c] = g[y, x : x + width]
    return out


def test_joint_grid_rows_are_categories_and_columns_quantiles():
    model = DecodeStub()
    grid = joint_traversal_grid(
        model, torch.zeros(1, 1, 1, 7), cont_dim=1, disc_index=0, n_values=4
    )
    codes = tiles(grid, 3, 4, 7)
    values = norm.ppf(np.linspace(0.05, 0.95, 4))
    for r in range(3):
        for c in range(4):
            expected = model.base.double().clone()
            expected[1] = values[c]
            expected[2:5] = torch.nn.functional.one_hot(torch.tensor(r), 3)
            torch.testing.assert_close(codes[r, c], expected, atol=1e-4, rtol=0)


def test_discrete_traversal_rows_by_kl_and_blank_padding():
    model = DecodeStub()
    assert discrete_order(model, torch.zeros(4, 1, 1, 7))[0] == [1, 0]
    grid = discrete_traversal_grid(model, torch.zeros(1, 1, 1, 7))
    assert grid.shape == (1, 2 + 2 * 3, 2 + 3 * 9)
    codes = tiles(grid, 2, 3, 7)
    base = model.base.double()
    for c in range(2):  # first row: variable 1 (K = 2), largest KL
        expected = base.clone()
        expected[5:7] = torch.nn.functional.one_hot(torch.tensor(c), 2)
        torch.testing.assert_close(codes[0, c], expected, atol=1e-4, rtol=0)
    assert torch.all(grid[0, 2:3, 2 + 2 * 9 : 2 + 2 * 9 + 7] == 0.5)  # the blank third tile
    for c in range(3):  # second row: variable 0 (K = 3)
        expected = base.clone()
        expected[2:5] = torch.nn.functional.one_hot(torch.tensor(c), 3)
        torch.testing.assert_close(codes[1, c], expected, atol=1e-4, rtol=0)


def test_joint_figures_follow_kl_order(tmp_path):
    model = DecodeStub()
    out = write_joint_figures(model, torch.zeros(4, 1, 1, 7), tmp_path, scale=1, n_joint=2)
    assert sorted(out) == ["discrete_traversals", "joint_traversal_1", "joint_traversal_2"]
    first = torch.from_numpy(np.asarray(Image.open(out["joint_traversal_1"]), dtype=np.float64))
    # rank 1 is Gaussian dim 1 (largest KL) against categorical 1 (largest KL): 2 rows x 10
    assert first.shape == (2 + 2 * 3, 2 + 10 * 9)


def test_run_figures_of_a_joint_model(tmp_path):
    write_split(tmp_path / "data", n=40)
    ds = load_dataset("mnist", path=str(tmp_path / "data"))
    torch.manual_seed(0)
    model = VAE.from_config(ModelConfig(net="conv32", latent_dim=4, disc=[3, 5]), (1, 32, 32))
    out = write_run_figures(model, ds, tmp_path / "fig", torch.device("cpu"))
    for name in ("discrete_traversals", "joint_traversal_1", "joint_traversal_3"):
        assert out[name].is_file() and out[name].stat().st_size > 100
    assert "joint_traversal_4" not in out
