"""Shared fixtures for the metrics tests (torch is imported lazily so the golden script,
which runs without torch, can import this module): fixed arrays, a tiny grid dataset, encoders.

No tests here. The golden-value fixture (fixtures/metrics_golden.json) was computed from exactly
these arrays and this dataset/representation, so change nothing here without regenerating it.
"""

from __future__ import annotations

import numpy as np

GOLDEN_SEED = 20240607
GRID_SIZES = (3, 4, 5)
PIXEL_STEP = 40  # image pixel value = factor index * PIXEL_STEP

MIX = np.array(
    [
        [0.01, 0.01, 0.00],  # code 0 barely varies: pruned by the FactorVAE score
        [1.50, 0.20, 0.00],
        [0.10, 1.20, 0.30],
        [0.00, 0.40, 1.70],
    ]
)


def golden_arrays(seed: int = GOLDEN_SEED) -> dict[str, np.ndarray]:
    """Fixed arrays for the golden values; shapes noted per key."""
    rs = np.random.RandomState(seed)
    sizes = np.array([3, 4, 6])
    n_train, n_test, d = 400, 200, 5
    f = np.stack([rs.randint(s, size=n_train + n_test) for s in sizes], axis=1)
    w = rs.randn(3, d)
    codes = np.tanh((f / sizes - 0.5) @ w) + 0.15 * rs.randn(n_train + n_test, d)
    codes[:, -1] = rs.randn(n_train + n_test)  # one pure-noise code
    # BetaVAE-style points: features (P, D) and the fixed-factor label (P,)
    p, p_eval = 300, 150
    labels = rs.randint(3, size=p + p_eval)
    feats = np.abs(rs.randn(p + p_eval, 4)) * 0.5
    feats[np.arange(p + p_eval), labels] *= 0.4  # the fixed factor's code moves less
    # FactorVAE-style points: local variances (P, D), labels (P,), global variances (D,)
    lv = rs.gamma(2.0, 0.5, size=(p + p_eval, 4))
    lv[np.arange(p + p_eval), labels + 1] *= 0.2
    gv = np.array([0.001, 1.0, 1.3, 0.8])  # code 0 is below the 0.05 std threshold
    return {
        "codes": codes[:n_train],  # (400, 5) float64
        "factors": f[:n_train],  # (400, 3) int
        "codes_test": codes[n_train:],  # (200, 5)
        "factors_test": f[n_train:],  # (200, 3)
        "bvae_features": feats[:p],  # (300, 4)
        "bvae_labels": labels[:p],  # (300,)
        "bvae_features_eval": feats[p:],  # (150, 4)
        "bvae_labels_eval": labels[p:],  # (150,)
        "fvae_local": lv[:p],  # (300, 4)
        "fvae_labels": labels[:p],
        "fvae_local_eval": lv[p:],  # (150, 4)
        "fvae_labels_eval": labels[p:],
        "fvae_global": gv,  # (4,)
    }


def representation(factors: np.ndarray) -> np.ndarray:
    """Deterministic codes (n, 4) float64 of grid factors (n, 3): smooth, slightly entangled."""
    f = np.asarray(factors, dtype=np.float64)
    scaled = f / (np.array(GRID_SIZES) - 1.0) - 0.5
    flat = f[:, 0] * 20 + f[:, 1] * 5 + f[:, 2]
    wiggle = 0.05 * np.sin(1.3 * flat[:, None] + np.arange(4)[None, :])
    wiggle[:, 0] *= 0.01
    return np.tanh(scaled @ MIX.T) + wiggle


class GridDataset:
    """Every combination of factors; image = a 1 x 1 x K uint8 'picture' of the factor values."""

    def __init__(self, factor_sizes=GRID_SIZES):
        self.factor_sizes = tuple(factor_sizes)

    def sample_factors(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        return np.stack([rng.randint(s, size=n) for s in self.factor_sizes], axis=1).astype(
            np.int64
        )

    def images_for(self, factors: np.ndarray) -> np.ndarray:
        f = np.asarray(factors, dtype=np.int64)
        return (f * PIXEL_STEP).astype(np.uint8).reshape(f.shape[0], 1, 1, f.shape[1])


def factors_from_images(images) -> np.ndarray:
    """Invert GridDataset.images_for after the /255 scaling: (B, 1, 1, K) -> (B, K) int."""
    return np.rint(images.reshape(images.shape[0], -1).cpu().double().numpy() * 255 / PIXEL_STEP)


def representation_encoder(images):
    """Encoder for GridDataset images: reads the factors back and applies ``representation``."""
    import torch

    return torch.from_numpy(representation(factors_from_images(images)))


def identity_encoder(images):
    """Encoder whose codes are the factors themselves (float64)."""
    import torch

    return torch.from_numpy(factors_from_images(images))


def random_encoder(seed: int = 0, d: int = 4):
    """Encoder that ignores the image: i.i.d. Gaussian codes (a different draw per call)."""
    import torch

    gen = torch.Generator().manual_seed(seed)

    def encode(images):
        return torch.randn(images.shape[0], d, generator=gen, dtype=torch.float64)

    return encode
