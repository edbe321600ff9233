"""InfoGAN pictures, as in the paper: rows vary a categorical code, columns vary one continuous code
(or, without one, the noise), the noise and the other codes fixed along each row.

Codes are drawn on the CPU from a generator seeded with ``seed``, so every run (and every device)
renders the same draws. Other continuous codes are held at 0, the centre of U(−1, 1).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..models.infogan import CodeDraw, InfoGAN
from .grid import make_grid, save_png
from .traversal_figures import display_scale

GRID_SEED = 20160612
N_VALUES = 10  # columns of a continuous code's sweep
SPAN = 2.0  # the sweep runs over [-SPAN, SPAN]; the paper shows -2..2 (training covers -1..1)


def code_draws(
    model: InfoGAN,
    cat: int | None,
    cont: int | None,
    *,
    n_rows: int = 10,
    n_cols: int = N_VALUES,
    span: float = SPAN,
    seed: int = GRID_SEED,
) -> tuple[CodeDraw, int, int]:
    """Generator inputs for a (rows x cols) grid in row-major order; returns (draw, rows, cols).

    Rows: the K values of categorical ``cat`` (``n_rows`` noise draws when None), each row with
    its own noise and other categorical values. Columns: continuous code ``cont`` at ``n_cols``
    values evenly spaced in [−span, span] (with ``cont`` None: ``n_cols`` noise draws, each shared
    by its whole column, so the rows differ by the categorical value only).
    """
    spec = model.codes
    if cat is not None and not 0 <= cat < len(spec.disc):
        raise ValueError(f"categorical code {cat} out of range (the model has {len(spec.disc)})")
    if cont is not None and not 0 <= cont < spec.cont:
        raise ValueError(f"continuous code {cont} out of range (the model has {spec.cont})")
    rows = spec.disc[cat] if cat is not None else n_rows
    g = torch.Generator().manual_seed(seed)
    base = model.sample_codes(rows, g, "cpu")
    col_noise = model.sample_codes(n_cols, g, "cpu").noise
    noise = base.noise[:, None, :].expand(rows, n_cols, spec.noise)
    if cont is None:
        noise = col_noise[None, :, :].expand(rows, n_cols, spec.noise)
    category = base.cat[:, None, :].expand(rows, n_cols, len(spec.disc)).clone()
    if cat is not None:
        category[:, :, cat] = torch.arange(rows)[:, None]
    values = torch.zeros(rows, n_cols, spec.cont)
    if cont is not None:
        values[:, :, cont] = torch.linspace(-span, span, n_cols)[None, :]
    draw = CodeDraw(
        noise=noise.reshape(rows * n_cols, spec.noise),
        cat=category.reshape(rows * n_cols, len(spec.disc)),
        cont=values.reshape(rows * n_cols, spec.cont),
    )
    return draw, rows, n_cols


@torch.no_grad()
def code_grid(model: InfoGAN, cat: int | None, cont: int | None, device=None, **kw) -> torch.Tensor:
    """The (C, H', W') picture of :func:`code_draws` rendered by G in eval mode."""
    draw, _, cols = code_draws(model, cat, cont, **kw)
    model.eval()
    device = device if device is not None else next(model.parameters()).device
    images = model.generate(draw.to(device)).float().cpu()
    return make_grid(images, ncol=cols)


@torch.no_grad()
def sample_grid(model: InfoGAN, n: int = 64, ncol: int = 8, device=None, seed: int = GRID_SEED):
    """(C, H', W') grid of n images from codes drawn from the prior."""
    model.eval()
    device = device if device is not None else next(model.parameters()).device
    draw = model.sample_codes(n, torch.Generator().manual_seed(seed), "cpu")
    return make_grid(model.generate(draw.to(device)).float().cpu(), ncol=ncol)


def write_infogan_figures(model: InfoGAN, dataset, folder: Path, device) -> dict[str, Path]:
    """samples.png (64 prior samples); for each categorical i, codes_cat{i}.png (rows: its
    values, columns: noise draws); for each pair (categorical i, continuous j),
    codes_cat{i}_cont{j}.png; without categoricals, codes_cont{j}.png (rows: noise draws)."""
    folder = Path(folder)
    scale = display_scale(dataset.image_shape[-1])
    spec = model.codes
    out = {"samples": save_png(sample_grid(model, device=device), folder / "samples.png", scale)}
    cats: list[int | None] = list(range(len(spec.disc))) or [None]
    for i in cats:
        pairs = [(i, None)] if i is not None else []
        pairs += [(i, j) for j in range(spec.cont)]
        for c, j in pairs:
            name = (
                "codes"
                + (f"_cat{c}" if c is not None else "")
                + (f"_cont{j}" if j is not None else "")
            )
            grid = code_grid(model, c, j, device=device)
            out[name] = save_png(grid, folder / f"{name}.png", scale)
    return out
