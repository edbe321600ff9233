"""Models: an encoder, a latent code and a decoder (and, later, GANs)."""

from .vae import VAE, VAEOutput

__all__ = ["VAE", "VAEOutput"]
