"""Ground-truth datasets: a registry of loaders returning :class:`GroundTruthData`.

Adding a dataset = one module with a ``load(*, subset, seed, path, **options)`` function and one
line in ``_LOADERS``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING

from disentangled.errors import ConfigError

from . import (
    digits,
    dsprites,
    dsprites_official,
    image_folder,
    mnist,
    shapes3d,
    shapes3d_procedural,
    variants,
)
from .base import GroundTruthData, Subset, choose_subset
from .packed import PackedBinaryData

if TYPE_CHECKING:
    from disentangled.config import DataConfig

Loader = Callable[..., GroundTruthData]

_LOADERS: dict[str, Loader] = {
    "dsprites": dsprites.load,  # procedural, embedded, the default
    "dsprites-official": dsprites_official.load,  # the official npz (download=True to fetch)
    "mnist": mnist.load_mnist,  # IDX files, 32x32; split=train|test, download=True to fetch
    "fashion-mnist": mnist.load_fashion_mnist,  # IDX files, 32x32; split=train|test
    "dsprites-color": variants.load_color,  # RGB, composed per batch; base=procedural|official
    "dsprites-noisy": variants.load_noisy,  # RGB, uniform-noise background
    "dsprites-scream": variants.load_scream,  # RGB, generated texture background
    "digits": digits.load,  # scikit-learn 8x8 digits, embedded; label factor only
    "shapes3d": shapes3d_procedural.load,  # procedural 3D shapes, rendered per batch
    "shapes3d-official": shapes3d.load,  # 3dshapes.h5 (needs h5py; download=True to fetch)
    "image-folder": image_folder.load,  # path=FOLDER of images, no factors
    "celeba": image_folder.load_celeba,  # CelebA aligned faces (manual download), no factors
}

DEFAULT_DATASET = "dsprites"  # what a config without a dataset gets


def available_datasets() -> tuple[str, ...]:
    """Names accepted by :func:`load_dataset`."""
    return tuple(_LOADERS)


def load_dataset(
    name: str,
    *,
    subset: int | None = None,
    seed: int = 0,
    path: str | None = None,
    **kw,
) -> GroundTruthData:
    """Load dataset ``name``; ``subset=N`` keeps N rows chosen at random with ``seed``.

    ``path`` is the data file or folder (for ``dsprites``: the cache folder). Other keyword
    options go to the dataset's loader. Unknown names or options raise ConfigError.
    """
    loader = _LOADERS.get(name)
    if loader is None:
        known = ", ".join(available_datasets())
        raise ConfigError(f"unknown dataset {name!r}; known datasets: {known}")
    params = inspect.signature(loader).parameters
    unknown = sorted(set(kw) - set(params))
    if unknown:
        allowed = sorted(set(params) - {"subset", "seed", "path"})
        raise ConfigError(f"dataset {name!r} has no option {unknown}; its options: {allowed}")
    if subset is not None and (isinstance(subset, bool) or int(subset) != subset or subset < 1):
        raise ConfigError(f"subset must be a positive integer or None, got {subset!r}")
    return loader(subset=subset, seed=seed, path=path, **kw)


def load_configured(data: DataConfig, *, seed: int = 0, **kw) -> GroundTruthData:
    """The dataset of a run's ``data`` section (name, subset, path, and size when set).

    ``data`` is a :class:`disentangled.config.DataConfig`; ``kw`` are further loader options
    (e.g. ``split="test"``).
    """
    if data.size is not None:
        kw["size"] = data.size
    return load_dataset(data.name, subset=data.subset, seed=seed, path=data.path, **kw)


__all__ = [
    "GroundTruthData",
    "PackedBinaryData",
    "Subset",
    "available_datasets",
    "choose_subset",
    "load_configured",
    "load_dataset",
]
