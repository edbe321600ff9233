"""scikit-learn's handwritten digits (UCI optdigits test set): 1,797 grey 8x8 images, embedded.

The one factor is the digit label (10 values). Pixels are the 0..16 counts of the original 4x4
blocks, scaled to 0..255 as ``round(v * 255 / 16)``. A label does not pick one image, so
``images_for`` (and the sampled metrics built on it) refuses with a DataError; score the label
from arrays instead (e.g. the clustering metrics). Nothing is downloaded: the data ships with
scikit-learn.
"""

from __future__ import annotations

import os

import numpy as np

from disentangled.errors import ConfigError

from .arrays import ArrayData
from .base import GroundTruthData, Subset

NAME = "digits"
FACTOR_NAMES = ("digit",)
FACTOR_SIZES = (10,)
IMAGE_SHAPE = (1, 8, 8)
NUM_IMAGES = 1797
NO_IMAGES_FOR = (
    "a digit label does not determine one image, so images_for and the sampled metrics do not "
    "apply; encode the images and score the labels from arrays (e.g. score('clustering', ...))"
)


def load_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (1797, 1, 8, 8) in 0..255 and labels int64 (1797,)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    return np.ascontiguousarray(images), d.target.astype(np.int64)


def load(
    *, subset: int | None = None, seed: int = 0, path: str | os.PathLike | None = None
) -> GroundTruthData:
    """Registry loader: all 1,797 digits, or a seeded random subset of ``subset`` of them."""
    if path is not None:
        raise ConfigError("dataset 'digits' ships with scikit-learn and takes no path")
    images, labels = load_arrays()
    ds = ArrayData(
        name=NAME,
        images=images,
        factors=labels[:, None],
        factor_names=FACTOR_NAMES,
        factor_sizes=FACTOR_SIZES,
        grid=False,
        no_images_for=NO_IMAGES_FOR,
    )
    return ds if subset is None else Subset.random(ds, subset, seed)
