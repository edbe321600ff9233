"""InfoGAN pictures, as in the paper: rows vary a categorical code, columns vary one continuous code
(or, without one, the noise), the noise and the other codes fixed along each row.

Codes are drawn on the CPU from a generator seeded with ``seed``, so every run (and every device)
renders the same draws. Other continuous codes are held at 0, the centre of U(−1, 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import UserError
from ..models.infogan import CodeDraw, CodeSpec, InfoGAN
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


@dataclass(frozen=True)
class CodeGrid:
    """One of the paper's grids: ``name`` (file stem, e.g. ``codes_cat0_cont1``), the categorical
    ``cat`` varied down the rows and the continuous code ``cont`` varied along the columns (None:
    rows are noise draws, or columns are noise draws)."""

    name: str
    cat: int | None
    cont: int | None

    def describe(self, spec: CodeSpec, n_values: int = N_VALUES, span: float = SPAN) -> str:
        """What the rows and columns show, in one sentence."""
        rows = (
            f"rows: the {spec.disc[self.cat]} values of categorical code cat{self.cat}"
            if self.cat is not None
            else f"rows: {n_values} noise draws"
        )
        if self.cont is None:
            return f"{rows}; columns: {n_values} noise draws, each shared by its column"
        return (
            f"{rows}; columns: continuous code cont{self.cont} from {-span:g} to {span:g} "
            f"({n_values} values; training covers −1 to 1); the noise fixed along each row"
        )


def code_grid_specs(spec: CodeSpec) -> list[CodeGrid]:
    """The grids of a code: for each categorical i, ``codes_cat{i}`` (columns: noise draws) and
    ``codes_cat{i}_cont{j}`` for every continuous code j; without categoricals, ``codes_cont{j}``
    (rows: noise draws)."""
    cats: list[int | None] = list(range(len(spec.disc))) or [None]
    out = []
    for i in cats:
        pairs = ([(i, None)] if i is not None else []) + [(i, j) for j in range(spec.cont)]
        for c, j in pairs:
            name = "codes" + (f"_cat{c}" if c is not None else "")
            out.append(CodeGrid(name + (f"_cont{j}" if j is not None else ""), c, j))
    return out


def render_code_grids(
    model: InfoGAN, device=None, *, n_values: int = N_VALUES, span: float = SPAN
) -> list[tuple[CodeGrid, torch.Tensor]]:
    """Every grid of :func:`code_grid_specs` as (spec, (C, H', W') picture in [0, 1]);
    UserError for fewer than 2 values or a span that is not positive."""
    if n_values < 2:
        raise UserError(f"--values must be at least 2, got {n_values}")
    if not span > 0:
        raise UserError(f"--limit (the continuous codes' sweep) must be positive, got {span}")
    return [
        (g, code_grid(model, g.cat, g.cont, device, n_rows=n_values, n_cols=n_values, span=span))
        for g in code_grid_specs(model.codes)
    ]


def write_code_grids(
    model: InfoGAN,
    folder: Path,
    device,
    scale: int,
    *,
    n_values: int = N_VALUES,
    span: float = SPAN,
) -> dict[str, Path]:
    """``folder/<name>.png`` for every grid of :func:`render_code_grids`, upscaled ``scale``
    times; returns {name: path}."""
    folder = Path(folder)
    grids = render_code_grids(model, device, n_values=n_values, span=span)
    try:
        return {g.name: save_png(grid, folder / f"{g.name}.png", scale) for g, grid in grids}
    except OSError as exc:
        raise UserError(f"cannot write code grids to {folder}: {exc.strerror or exc}") from None


def write_infogan_figures(model: InfoGAN, dataset, folder: Path, device) -> dict[str, Path]:
    """samples.png (64 prior samples) and the code grids of :func:`write_code_grids`."""
    folder = Path(folder)
    scale = display_scale(dataset.image_shape[-1])
    out = {"samples": save_png(sample_grid(model, device=device), folder / "samples.png", scale)}
    out.update(write_code_grids(model, folder, device, scale))
    return out
