"""JointVAE pictures: discrete traversals and the continuous x discrete grid (Dupont, 2018).

Every picture starts from the deterministic code of one seed image (Gaussian means, argmax
one-hots) and changes one part of it: a categorical set to each of its categories, or a
categorical and a Gaussian dimension together. Continuous values are evenly spaced quantiles of
N(0, 1) (5 %..95 %, i.e. -1.645..1.645, by default); variables are ordered by KL, largest first.
"""

from __future__ import annotations

from pathlib import Path

import torch
from scipy.stats import norm

from .grid import make_grid, save_png
from .traversal import latent_order

BLANK = 0.5  # the value of an empty tile (the same grey as the grid's padding)


def quantile_values(n: int, quantiles: tuple[float, float] = (0.05, 0.95)) -> torch.Tensor:
    """n values at evenly spaced quantiles of N(0, 1): (n,) float32."""
    qs = torch.linspace(quantiles[0], quantiles[1], n).double().numpy()
    return torch.tensor(norm.ppf(qs), dtype=torch.float32)


def disc_offsets(model) -> list[int]:
    """Column where each categorical's one-hot starts in the code (after the Gaussian dims)."""
    starts, at = [], model.latent.cont
    for k in model.latent.disc:
        starts.append(at)
        at += k
    return starts


@torch.no_grad()
def discrete_order(model, x: torch.Tensor) -> tuple[list[int], torch.Tensor]:
    """Categoricals sorted by mean KL to uniform over x (nats), largest first; and those KLs."""
    post = model.posterior(x)
    kl = torch.stack([k.mean() for k in model.latent.kl_disc(post)]).cpu()
    return sorted(range(kl.numel()), key=lambda i: -float(kl[i])), kl


def _decode(model, codes: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(model.decode(codes).float()).cpu()


@torch.no_grad()
def discrete_traversal_grid(
    model, x_seed: torch.Tensor, *, order: list[int] | None = None
) -> torch.Tensor:
    """One row per categorical (in ``order``, default by KL): the seed's code with that variable
    set to each of its categories in turn. Rows shorter than the largest K end in blank tiles.

    ``x_seed`` is one image (1,C,H,W); returns a (C, H', W') grid.
    """
    model.eval()
    if order is None:
        order, _ = discrete_order(model, x_seed)
    sizes, starts = model.latent.disc, disc_offsets(model)
    width = max(sizes[i] for i in order)
    base = model.encode(x_seed)[0]
    rows = []
    for i in order:
        k, s = sizes[i], starts[i]
        codes = base.repeat(k, 1)
        codes[:, s : s + k] = torch.eye(k, dtype=base.dtype, device=base.device)
        images = _decode(model, codes)
        if k < width:
            blank = torch.full((width - k, *images.shape[1:]), BLANK)
            images = torch.cat([images, blank])
        rows.append(images)
    return make_grid(torch.cat(rows), ncol=width)


@torch.no_grad()
def joint_traversal_grid(
    model,
    x_seed: torch.Tensor,
    *,
    cont_dim: int,
    disc_index: int,
    n_values: int = 10,
    quantiles: tuple[float, float] = (0.05, 0.95),
) -> torch.Tensor:
    """The continuous x discrete grid: row c is category c of categorical ``disc_index``, column j
    the ``j``-th quantile value of Gaussian dimension ``cont_dim``; the rest is the seed's code.

    ``x_seed`` is one image (1,C,H,W); returns a (C, H', W') grid of K rows and ``n_values``
    columns.
    """
    model.eval()
    k, s = model.latent.disc[disc_index], disc_offsets(model)[disc_index]
    base = model.encode(x_seed)[0]
    values = quantile_values(n_values, quantiles).to(base.device, base.dtype)
    codes = base.repeat(k * n_values, 1)
    category = torch.arange(k, device=base.device).repeat_interleave(n_values)
    codes[:, s : s + k] = torch.nn.functional.one_hot(category, k).to(base.dtype)
    codes[:, cont_dim] = values.repeat(k)
    return make_grid(_decode(model, codes), ncol=n_values)


@torch.no_grad()
def write_joint_figures(
    model, x: torch.Tensor, folder: Path, scale: int = 1, n_joint: int = 3
) -> dict[str, Path]:
    """discrete_traversals.png, and joint_traversal_<r>.png for the ``n_joint`` Gaussian dims of
    largest KL (r = 1 is the largest) against the categorical of largest KL; the KL ordering is
    measured on the images x (B,C,H,W), the seed is x[:1]."""
    folder = Path(folder)
    model.eval()
    order, _ = discrete_order(model, x)
    seed = x[:1]
    out = {
        "discrete_traversals": save_png(
            discrete_traversal_grid(model, seed, order=order),
            folder / "discrete_traversals.png",
            scale,
        )
    }
    if model.latent.cont:
        dims, _ = latent_order(model, x)
        for rank, d in enumerate(dims[:n_joint], start=1):
            grid = joint_traversal_grid(model, seed, cont_dim=d, disc_index=order[0])
            name = f"joint_traversal_{rank}"
            out[name] = save_png(grid, folder / f"{name}.png", scale)
    return out
