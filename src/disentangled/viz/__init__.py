"""Pictures: image grids, reconstructions, latent traversals (PNG, GIF), prior samples, training
curves, per-dimension KL, the information plane and capacity plots (matplotlib Agg, PNG bytes)."""

from .curves import plot_curves, plot_dims
from .grid import gif_bytes, make_grid, png_bytes, save_png, to_image
from .information import plot_capacity, plot_information_plane
from .samples import prior_samples, sample_grid
from .traversal import (
    MODES,
    latent_order,
    latent_stats,
    reconstruction_grid,
    traversal_cells,
    traversal_grid,
    traversal_rows,
    traversal_values,
)
from .traversal_figures import Traversals, render_traversals, write_traversals

__all__ = [
    "MODES",
    "Traversals",
    "gif_bytes",
    "latent_order",
    "latent_stats",
    "make_grid",
    "plot_capacity",
    "plot_curves",
    "plot_dims",
    "plot_information_plane",
    "png_bytes",
    "prior_samples",
    "reconstruction_grid",
    "render_traversals",
    "sample_grid",
    "save_png",
    "to_image",
    "traversal_cells",
    "traversal_grid",
    "traversal_rows",
    "traversal_values",
    "write_traversals",
]
