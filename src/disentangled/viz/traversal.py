"""Reconstruction grids and latent traversals of a VAE.

A traversal fixes the code of a seed image and sweeps one latent at a time: a Gaussian dimension
over a range of values (``prior`` quantiles of N(0,1), a ``fitted`` Gaussian of the posterior means
over data, or their ``minmax`` range), a categorical variable over its K categories. Rows are the
latents sorted by their mean KL(q(z_j|x) || p(z_j)) over data; a latent whose mean KL is below
``INACTIVE_KL`` nats carries almost no information and is flagged inactive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import norm

from .grid import make_grid

MODES = ("prior", "fitted", "minmax")
INACTIVE_KL = 0.01  # nats
DEFAULT_LIMIT = 1.645  # the 5 % and 95 % quantiles of N(0, 1)


@torch.no_grad()
def reconstruction_grid(model, x: torch.Tensor) -> torch.Tensor:
    """Inputs (top row) above their reconstructions (bottom row): (C, H', W')."""
    model.eval()
    rec = model.reconstruct(x).cpu()
    return make_grid(torch.cat([x.cpu(), rec]), ncol=x.shape[0])


@torch.no_grad()
def latent_order(model, x: torch.Tensor) -> tuple[list[int], torch.Tensor]:
    """Gaussian dimensions sorted by mean KL over x, largest first; and the KL per dimension."""
    post = model.posterior(x)
    kl = model.latent.kl_cont(post).mean(0).cpu()
    return sorted(range(kl.numel()), key=lambda d: -float(kl[d])), kl


@dataclass(frozen=True)
class LatentStats:
    """The code over a data sample of n images.

    ``kl`` (D + number of categoricals,): mean KL per Gaussian dimension, then per categorical
    variable (to the uniform prior), nats. ``mu_mean``, ``mu_std`` (population), ``mu_min``,
    ``mu_max`` (D,): statistics of the posterior means of the Gaussian dimensions.
    """

    kl: torch.Tensor
    mu_mean: torch.Tensor
    mu_std: torch.Tensor
    mu_min: torch.Tensor
    mu_max: torch.Tensor
    n: int


@torch.no_grad()
def latent_stats(model, x: torch.Tensor, batch_size: int = 256) -> LatentStats:
    """Posterior statistics of images x (n,C,H,W) in [0,1], encoded in batches."""
    model.eval()
    mus, kls = [], []
    for i in range(0, x.shape[0], batch_size):
        post = model.posterior(x[i : i + batch_size])
        parts = [model.latent.kl_cont(post)] + [k[:, None] for k in model.latent.kl_disc(post)]
        kls.append(torch.cat(parts, dim=1).float().cpu())
        mus.append(post.mu.float().cpu())
    mu, kl = torch.cat(mus), torch.cat(kls)
    return LatentStats(
        kl=kl.mean(0),
        mu_mean=mu.mean(0),
        mu_std=mu.std(0, correction=0),
        mu_min=mu.min(0).values if mu.shape[0] else mu.sum(0),
        mu_max=mu.max(0).values if mu.shape[0] else mu.sum(0),
        n=int(mu.shape[0]),
    )


@dataclass(frozen=True)
class TraversalRow:
    """One row of a traversal: Gaussian dimension ``index`` (``kind='cont'``) swept over
    ``size`` values, or categorical variable ``index`` (``kind='disc'``) over its ``size`` = K
    categories; ``kl`` its mean KL over data (nats)."""

    kind: str
    index: int
    kl: float
    active: bool
    size: int

    @property
    def name(self) -> str:
        return f"z{self.index}" if self.kind == "cont" else f"c{self.index}"

    @property
    def label(self) -> str:
        """The row's caption: latent, K for a categorical, mean KL in nats, inactive flag."""
        size = f" K={self.size}" if self.kind == "disc" else ""
        flag = "" if self.active else "  inactive"
        return f"{self.name}{size}  {self.kl:.3g} nats{flag}"  # 3 digits: 0.0098 is not 0.01


def traversal_rows(
    stats: LatentStats,
    disc: list[int],
    n_values: int,
    *,
    hide_inactive: bool = False,
    threshold: float = INACTIVE_KL,
) -> list[TraversalRow]:
    """Gaussian dimensions by mean KL (largest first), then categoricals by mean KL.

    A latent with mean KL < ``threshold`` nats is inactive; ``hide_inactive`` drops it.
    """
    cont = stats.kl.numel() - len(disc)
    rows = [
        TraversalRow("cont", d, float(stats.kl[d]), float(stats.kl[d]) >= threshold, n_values)
        for d in range(cont)
    ]
    rows.sort(key=lambda r: -r.kl)  # stable: ties keep dimension order
    kl_disc = [float(v) for v in stats.kl[cont:]]
    cats = [
        TraversalRow("disc", j, kl_disc[j], kl_disc[j] >= threshold, k) for j, k in enumerate(disc)
    ]
    cats.sort(key=lambda r: -r.kl)
    rows += cats
    return [r for r in rows if r.active] if hide_inactive else rows


def standard_values(n_values: int, limit: float = DEFAULT_LIMIT) -> torch.Tensor:
    """(n_values,) float64: N(0,1) quantiles evenly spaced in probability from Phi(-limit) to
    Phi(limit), so the ends are exactly -limit and +limit."""
    if n_values < 2:
        raise ValueError(f"a traversal needs at least 2 values, got {n_values}")
    if not (limit > 0 and math.isfinite(limit)):
        raise ValueError(f"the traversal limit must be a positive number, got {limit}")
    p = np.linspace(norm.cdf(-limit), norm.cdf(limit), n_values)
    v = torch.from_numpy(norm.ppf(p))
    v[0], v[-1] = -limit, limit  # exact ends (ppf(cdf(x)) is x only to rounding)
    return v


def traversal_values(
    mode: str, stats: LatentStats, n_values: int, limit: float = DEFAULT_LIMIT
) -> torch.Tensor:
    """(D, n_values) float32: the values each Gaussian dimension takes in its row.

    ``prior``: N(0,1) quantiles between -limit and +limit (see :func:`standard_values`);
    ``fitted``: the same quantiles of N(m_j, s_j^2), m_j and s_j the mean and standard deviation of
    the posterior means of dimension j over data; ``minmax``: evenly spaced from the smallest to
    the largest posterior mean of dimension j over data.
    """
    d = stats.mu_mean.numel()
    if mode == "prior":
        vals = standard_values(n_values, limit)[None].expand(d, n_values)
    elif mode == "fitted":
        std = standard_values(n_values, limit)[None]
        vals = stats.mu_mean.double()[:, None] + stats.mu_std.double()[:, None] * std
    elif mode == "minmax":
        t = torch.linspace(0.0, 1.0, n_values, dtype=torch.float64)[None]
        lo, hi = stats.mu_min.double()[:, None], stats.mu_max.double()[:, None]
        vals = lo + (hi - lo) * t
    else:
        raise ValueError(f"unknown traversal mode {mode!r}; choose one of {', '.join(MODES)}")
    return vals.float().contiguous()


@torch.no_grad()
def traversal_cells(
    model,
    x_seeds: torch.Tensor,
    rows: list[TraversalRow],
    values: torch.Tensor,
    *,
    blank: float = 0.5,
    batch_size: int = 256,
) -> torch.Tensor:
    """Decoded traversals (S, R, W, C, H, W') in [0,1] for S seed images and R rows.

    Cell (s, r, t): the deterministic code of seed s with row r's latent set to its t-th value
    (``values[index, t]`` for a Gaussian dimension, the t-th one-hot for a categorical); every other
    latent keeps the seed's value. W is the longest row; cells past a row's length are ``blank``.
    """
    model.eval()
    base = model.encode(x_seeds).float()  # (S, code)
    s_n, code = base.shape
    width = max(r.size for r in rows)
    cont = model.latent.cont
    offsets = [cont + sum(model.latent.disc[:j]) for j in range(len(model.latent.disc))]
    codes = base[:, None, None, :].expand(s_n, len(rows), width, code).clone()
    valid = torch.zeros(len(rows), width, dtype=torch.bool)
    for r, row in enumerate(rows):
        valid[r, : row.size] = True
        if row.kind == "cont":
            codes[:, r, : row.size, row.index] = values[row.index].to(codes)
        else:
            o = offsets[row.index]
            codes[:, r, : row.size, o : o + row.size] = torch.eye(row.size, dtype=codes.dtype)
    flat = codes[:, valid.to(codes.device)].reshape(-1, code)
    decoded = torch.cat(
        [
            torch.sigmoid(model.decode(flat[i : i + batch_size]).float()).cpu()
            for i in range(0, flat.shape[0], batch_size)
        ]
    )
    c, h, w = decoded.shape[1:]
    out = torch.full((s_n, len(rows), width, c, h, w), float(blank))
    out[:, valid] = decoded.view(s_n, int(valid.sum()), c, h, w)
    return out


def animation_columns(rows: list[TraversalRow], n_frames: int) -> torch.Tensor:
    """(n_frames, R) long: the cell each row shows in each frame of a looping animation.

    Frame f shows column floor(f * size_r / n_frames) of row r, so rows of different lengths
    (n values, K categories) each run once through their cells over the frames.
    """
    f = torch.arange(n_frames)[:, None]
    sizes = torch.tensor([r.size for r in rows])[None]
    return torch.div(f * sizes, n_frames, rounding_mode="floor")


@torch.no_grad()
def traversal_grid(
    model,
    x_seed: torch.Tensor,
    *,
    dims: list[int] | None = None,
    n_values: int = 10,
    quantiles: tuple[float, float] = (0.05, 0.95),
) -> torch.Tensor:
    """One row per Gaussian dimension: the seed image's code with that dimension set to values at
    evenly spaced quantiles of N(0, 1) (5 %..95 % by default: -1.645..1.645).

    ``x_seed`` is one image (1,C,H,W); ``dims`` the dimensions to show in order (default: by KL).
    Returns a (C, H', W') grid.
    """
    model.eval()
    if dims is None:
        dims, _ = latent_order(model, x_seed)
    base = model.encode(x_seed)[0]
    qs = torch.linspace(quantiles[0], quantiles[1], n_values).double().numpy()
    values = torch.tensor(norm.ppf(qs), dtype=base.dtype, device=base.device)
    codes = base.repeat(len(dims) * n_values, 1)
    for r, d in enumerate(dims):
        codes[r * n_values : (r + 1) * n_values, d] = values
    images = torch.sigmoid(model.decode(codes).float()).cpu()
    return make_grid(images, ncol=n_values)
