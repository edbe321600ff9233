"""The standard pictures of a run, as PNGs in figures/: reconstructions, traversals, samples."""

from __future__ import annotations

from pathlib import Path

import torch

from ..io import atomic_write_bytes
from ..models.kind import is_generative_adversarial
from .grid import save_png
from .samples import sample_grid
from .seeds import FIGURE_SEED, fixed_images
from .traversal import reconstruction_grid
from .traversal_figures import display_scale, render_traversals

__all__ = ["FIGURE_SEED", "fixed_images", "write_run_figures"]


@torch.no_grad()
def write_run_figures(model, dataset, folder: Path, device: torch.device) -> dict[str, Path]:
    """reconstructions.png (8 inputs over outputs), traversals.png (one seed image, latents by
    mean KL, prior quantiles), samples.png (64 images decoded from p(z)) and, for a code with
    categoricals, the JointVAE pictures of :func:`write_joint_figures`. An InfoGAN gets the
    pictures of :func:`~disentangled.viz.infogan.write_infogan_figures` instead."""
    folder = Path(folder)
    if is_generative_adversarial(model):  # no encoder: nothing to reconstruct or traverse
        from .infogan import write_infogan_figures

        return write_infogan_figures(model, dataset, folder, device)
    model.eval()
    x = fixed_images(dataset, 8, device)
    scale = display_scale(x.shape[-1])
    out = {
        "reconstructions": save_png(
            reconstruction_grid(model, x), folder / "reconstructions.png", scale
        )
    }
    t = render_traversals(model, dataset, device, seeds=1, animate=False, sample_size=256)
    atomic_write_bytes(folder / "traversals.png", t.png(0))
    out["traversals"] = folder / "traversals.png"
    out["samples"] = save_png(
        sample_grid(model, 64, 8, device=device), folder / "samples.png", scale
    )
    if model.latent.disc:  # JointVAE pictures: discrete traversals, continuous x discrete grids
        from .joint import write_joint_figures

        out.update(write_joint_figures(model, fixed_images(dataset, 256, device), folder, scale))
    return out
