"""Pictures: image grids, reconstructions and latent traversals (PNG)."""

from .grid import make_grid, save_png
from .traversal import latent_order, reconstruction_grid, traversal_grid

__all__ = ["latent_order", "make_grid", "reconstruction_grid", "save_png", "traversal_grid"]
