"""Traversals on a constructed model whose code and decoder are known exactly.

The stub encoder reads its posterior means off the pixels (mu_j = a_j * x_j, log-variance 0,
so KL_j = mu_j^2 / 2 in closed form); the stub decoder writes the code into the pixels (logit of
pixel j = z_j), so every decoded traversal cell can be read back as the code that made it.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy.stats import norm

from disentangled.errors import UserError
from disentangled.latents import JointLatent, LatentSample
from disentangled.viz.grid import gif_bytes
from disentangled.viz.traversal import (
    INACTIVE_KL,
    LatentStats,
    TraversalRow,
    animation_columns,
    latent_stats,
    standard_values,
    traversal_cells,
    traversal_rows,
    traversal_values,
)
from disentangled.viz.traversal_figures import PAD, render_traversals


class StubVAE:
    """mu = scale * x[:cont]; categorical logits = x[cont:] * 10; decode(z) = z as pixel logits."""

    def __init__(self, scale: list[float], disc: list[int] = ()) -> None:
        self.latent = JointLatent(len(scale), list(disc))
        self.scale = torch.tensor(scale, dtype=torch.float32)

    def eval(self) -> StubVAE:
        return self

    def posterior(self, x: torch.Tensor) -> LatentSample:
        flat = x.flatten(1)
        cont = self.latent.cont
        mu = flat[:, :cont] * self.scale
        logits, start = [], cont
        for k in self.latent.disc:
            logits.append(flat[:, start : start + k] * 10.0)
            start += k
        return LatentSample(mu=mu, logvar=torch.zeros_like(mu), logits=logits)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.latent.mode(self.posterior(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, None, None, :].clone()  # (B, 1, 1, code): sigmoid(pixel j) = sigmoid(z_j)


class StubData:
    """N images (N, 1, 1, P) in [0, 1] from a seeded generator."""

    def __init__(self, n: int, p: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.rand(n, 1, 1, p, generator=g)

    def __len__(self) -> int:
        return self.x.shape[0]

    def batch(self, index: torch.Tensor, device) -> torch.Tensor:
        return self.x[index].to(device)


def codes_of(cells: torch.Tensor) -> torch.Tensor:
    """Invert the stub decoder: the code behind each decoded cell (..., code)."""
    return torch.logit(cells.double()[..., 0, 0, :])


def _stats(kl, mean=None, std=None, lo=None, hi=None) -> LatentStats:
    kl = torch.tensor(kl, dtype=torch.float32)
    d = len(mean) if mean is not None else kl.numel()
    z = torch.zeros(d)

    def t(v):
        return torch.tensor(v, dtype=torch.float32) if v is not None else z

    return LatentStats(kl, t(mean), t(std), t(lo), t(hi), n=100)


# ---- values -------------------------------------------------------------------------------------


@given(n=st.integers(2, 40), limit=st.floats(0.1, 4.0))
def test_standard_values_are_equal_probability_steps_between_the_limits(n, limit):
    v = standard_values(n, limit).numpy()
    assert v[0] == -limit and v[-1] == limit
    assert np.all(np.diff(v) > 0)
    np.testing.assert_allclose(v, -v[::-1], atol=1e-9)  # symmetric about 0
    steps = np.diff(norm.cdf(v))
    np.testing.assert_allclose(steps, steps[0], rtol=1e-6)  # evenly spaced in probability


def test_default_prior_range_is_the_5_to_95_percent_quantiles():
    v = standard_values(10).numpy()
    np.testing.assert_allclose(norm.cdf(v[[0, -1]]), [0.05, 0.95], atol=1e-4)


def test_traversal_values_per_mode():
    stats = _stats([1.0, 1.0], mean=[0.5, -2.0], std=[2.0, 0.1], lo=[-1.0, 3.0], hi=[4.0, 3.5])
    std = standard_values(7).numpy()
    prior = traversal_values("prior", stats, 7).numpy()
    np.testing.assert_allclose(prior, np.stack([std, std]), rtol=1e-6)
    fitted = traversal_values("fitted", stats, 7).numpy()
    np.testing.assert_allclose(fitted[0], 0.5 + 2.0 * std, rtol=1e-6)
    np.testing.assert_allclose(fitted[1, [0, -1]], [-2.0 - 0.1645, -2.0 + 0.1645], rtol=1e-5)
    mm = traversal_values("minmax", stats, 6).numpy()
    np.testing.assert_allclose(mm[0], [-1, 0, 1, 2, 3, 4], atol=1e-6)
    np.testing.assert_allclose(mm[1], np.linspace(3.0, 3.5, 6), atol=1e-6)
    with pytest.raises(ValueError, match="mode"):
        traversal_values("quantile", stats, 5)


# ---- statistics and rows ------------------------------------------------------------------------


def test_latent_stats_match_closed_forms():
    model = StubVAE([2.0, 0.0, -1.0], disc=[3])
    data = StubData(300, 6)
    stats = latent_stats(model, data.x, batch_size=64)  # several batches
    mu = data.x[:, 0, 0, :3] * torch.tensor([2.0, 0.0, -1.0])
    np.testing.assert_allclose(stats.kl[:3], 0.5 * (mu**2).mean(0), rtol=1e-5)
    p = torch.softmax(data.x[:, 0, 0, 3:] * 10.0, dim=1)
    kl_cat = math.log(3) + (p * p.log()).sum(1)  # log K - H(p)
    np.testing.assert_allclose(float(stats.kl[3]), float(kl_cat.mean()), rtol=1e-5)
    np.testing.assert_allclose(stats.mu_mean, mu.mean(0), atol=1e-6)
    np.testing.assert_allclose(stats.mu_std, mu.std(0, correction=0), atol=1e-6)
    np.testing.assert_allclose(stats.mu_min, mu.min(0).values)
    np.testing.assert_allclose(stats.mu_max, mu.max(0).values)
    assert stats.n == 300


def test_rows_sorted_by_kl_categoricals_last_and_inactive_flagged():
    kl = [0.2, 1.5, INACTIVE_KL * 0.99, INACTIVE_KL * 1.01, 0.7, 0.0, 0.3]  # 5 cont + 2 cats
    stats = _stats(kl)
    rows = traversal_rows(stats, [4, 2], n_values=9)
    assert [(r.kind, r.index) for r in rows] == [
        ("cont", 1), ("cont", 4), ("cont", 0), ("cont", 3), ("cont", 2),
        ("disc", 1), ("disc", 0),
    ]  # fmt: skip
    assert [r.active for r in rows] == [True, True, True, True, False, True, False]
    assert [r.size for r in rows] == [9, 9, 9, 9, 9, 2, 4]
    assert rows[4].label.endswith("inactive") and "K=2" in rows[5].label
    shown = traversal_rows(stats, [4, 2], n_values=9, hide_inactive=True)
    assert [(r.kind, r.index) for r in shown] == [
        ("cont", 1), ("cont", 4), ("cont", 0), ("cont", 3), ("disc", 1),
    ]  # fmt: skip


# ---- decoded cells ------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    scale=st.lists(st.floats(-2, 2), min_size=1, max_size=4),
    disc=st.lists(st.integers(2, 5), max_size=2),
    n_values=st.integers(2, 6),
    seeds=st.integers(1, 3),
    data_seed=st.integers(0, 1000),
)
def test_each_cell_changes_exactly_its_rows_latent(scale, disc, n_values, seeds, data_seed):
    model = StubVAE(scale, disc)
    code = len(scale) + sum(disc)
    data = StubData(50, code, data_seed)
    stats = latent_stats(model, data.x)
    rows = traversal_rows(stats, model.latent.disc, n_values)
    values = traversal_values("minmax", stats, n_values)
    x_seeds = data.x[:seeds]
    cells = traversal_cells(model, x_seeds, rows, values, blank=0.5)
    width = max(n_values, *disc) if disc else n_values
    assert cells.shape == (seeds, len(rows), width, 1, 1, code)
    got = codes_of(cells)
    base = model.encode(x_seeds).double()
    for r, row in enumerate(rows):
        for t in range(width):
            if t >= row.size:  # blank cell
                np.testing.assert_allclose(cells[:, r, t], 0.5)
                continue
            want = base.clone()
            if row.kind == "cont":
                want[:, row.index] = float(values[row.index, t])
            else:
                o = len(scale) + sum(disc[: row.index])
                want[:, o : o + row.size] = torch.eye(row.size, dtype=want.dtype)[t]
            np.testing.assert_allclose(got[:, r, t], want, atol=1e-4)


@given(sizes=st.lists(st.integers(1, 12), min_size=1, max_size=5))
def test_animation_visits_every_cell_of_every_row_in_order(sizes):
    rows = [TraversalRow("cont", i, 1.0, True, s) for i, s in enumerate(sizes)]
    frames = max(sizes)
    cols = animation_columns(rows, frames).numpy()
    assert cols.shape == (frames, len(sizes))
    for r, s in enumerate(sizes):
        assert sorted(set(cols[:, r])) == list(range(s))
        assert np.all(np.diff(cols[:, r]) >= 0)


# ---- pictures -----------------------------------------------------------------------------------


def test_rendered_pictures_have_one_row_per_latent_and_a_looping_animation():
    model = StubVAE([1.0, 0.0, 2.0], disc=[4])  # dimension 1 is inactive (KL = 0)
    data = StubData(200, 7)
    t = render_traversals(model, data, "cpu", seeds=2, n_values=5, sample_size=100)
    assert [r.name for r in t.rows] == ["z2", "z0", "z1", "c0"]
    cell = 64  # 1x7-pixel stub images are upscaled to cell size by 64 // 1
    assert len(t.grids) == 2
    assert t.grids[0].height == (len(t.rows) * (1 + PAD) + PAD) * cell
    frames = 2 * 5 - 2  # forwards through 5 columns, back through the 3 inner ones
    assert len(t.frames) == frames
    gif = Image.open(io.BytesIO(t.gif()))
    assert gif.n_frames == frames and gif.info.get("loop") == 0
    hidden = render_traversals(
        model, data, "cpu", seeds=1, n_values=5, sample_size=100, hide_inactive=True
    )
    assert [r.name for r in hidden.rows] == ["z2", "z0", "c0"]
    assert hidden.grids[0].height == (3 * (1 + PAD) + PAD) * cell


def test_bad_traversal_requests_are_user_errors():
    model = StubVAE([0.0, 0.0])
    data = StubData(20, 2)
    with pytest.raises(UserError, match="inactive"):
        render_traversals(model, data, "cpu", hide_inactive=True)
    for kwargs, fragment in [
        ({"seeds": 0}, "--seeds"),
        ({"n_values": 1}, "--values"),
        ({"limit": 0.0}, "--limit"),
        ({"mode": "sideways"}, "mode"),
    ]:
        with pytest.raises(UserError, match=fragment):
            render_traversals(model, data, "cpu", **kwargs)


def test_gif_keeps_grey_levels_exactly():
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    frames = [Image.fromarray(levels), Image.fromarray(255 - levels)]
    gif = Image.open(io.BytesIO(gif_bytes(frames, 90)))
    for i, want in enumerate([levels, 255 - levels]):
        gif.seek(i)
        np.testing.assert_array_equal(np.asarray(gif.convert("L")), want)
    assert gif.info["duration"] == 90
