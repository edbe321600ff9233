"""Unsupervised classification accuracy of each categorical latent against the test-set labels.

Each categorical variable's argmax category is a cluster id; the scores come from
:func:`disentangled.metrics.clustering.clustering`, fitted and scored on the same (test) set, as
JointVAE reports it: the accuracy after the optimal one-to-one matching of categories to classes
(Hungarian algorithm on the confusion matrix), the majority-label accuracy (each category mapped
to its most frequent class) and the normalised mutual information.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data import GroundTruthData, load_dataset
from ..errors import ConfigError, DataError
from ..metrics.clustering import clustering

DEFAULT_BATCH = 1024
DATASETS_WITH_TEST_SPLIT = ("mnist", "fashion-mnist")


def held_out_split(
    name: str, path: str | None = None, size: int | None = None
) -> GroundTruthData | None:
    """The held-out test split of dataset ``name`` (all of it, ``size`` pixels a side when
    given, else the loader's default), or None when the dataset has none."""
    if name not in DATASETS_WITH_TEST_SPLIT:
        return None
    options = {} if size is None else {"size": size}
    return load_dataset(name, path=path, split="test", **options)


@torch.no_grad()
def discrete_codes(
    model, dataset: GroundTruthData, device: torch.device | str, batch_size: int = DEFAULT_BATCH
) -> np.ndarray:
    """Argmax category of every categorical for every image: int64 (N, number of categoricals)."""
    model.eval()
    n = len(dataset)
    out = np.empty((n, len(model.latent.disc)), dtype=np.int64)
    for start in range(0, n, batch_size):
        index = torch.arange(start, min(start + batch_size, n))
        post = model.posterior(dataset.batch(index, device))
        for i, logits in enumerate(post.logits):
            out[start : start + len(index), i] = logits.argmax(-1).cpu().numpy()
    return out


def labels_of(dataset: GroundTruthData) -> np.ndarray:
    """All factor indices (N, K) of a labelled dataset; DataError when it has no labels."""
    name = getattr(dataset, "name", type(dataset).__name__)
    if not getattr(dataset, "factor_sizes", ()):
        raise DataError(
            f"dataset {name} has no labels (ground-truth factors); the discrete-code accuracy "
            f"needs a labelled test set such as mnist split=test"
        )
    try:
        factors = dataset.factors(torch.arange(len(dataset))).cpu().numpy()
    except NotImplementedError:
        raise DataError(f"dataset {name} has no labels (ground-truth factors)") from None
    missing = int((factors < 0).any(axis=1).sum())
    if missing:
        raise DataError(
            f"dataset {name}: {missing} of {len(factors)} images have no label (negative index)"
        )
    return factors.astype(np.int64)


def choose_factor(dataset: GroundTruthData, k: int, factor: str | None) -> int:
    """Column of the factor to compare a K-way variable with.

    ``factor`` by name; by default ``label`` when the dataset has one, else the varying factor
    whose number of values is closest to K (the first on ties), e.g. shape (3) for dSprites.
    """
    names = list(dataset.factor_names)
    if factor is not None:
        if factor not in names:
            raise ConfigError(f"unknown factor {factor!r}; the dataset has {', '.join(names)}")
        return names.index(factor)
    if "label" in names:
        return names.index("label")
    varying = [i for i, s in enumerate(dataset.factor_sizes) if s > 1] or [0]
    return min(varying, key=lambda i: (abs(dataset.factor_sizes[i] - k), i))


def evaluate_discrete_code(
    model,
    dataset_test: GroundTruthData,
    device: torch.device | str = "cpu",
    batch_size: int = DEFAULT_BATCH,
    factor: str | None = None,
) -> dict[str, dict[str, float | int | str]]:
    """Scores of each categorical latent as a classifier of the test labels.

    Returns ``{"disc_i": {accuracy_hungarian, accuracy_majority, nmi, num_categories, factor,
    num_classes}}`` with the accuracies in [0, 1] and the NMI in [0, 1] (MI over the mean of the
    two entropies). Raises ConfigError when the model has no categorical, DataError when the
    dataset has no labels.
    """
    disc = list(model.latent.disc)
    if not disc:
        raise ConfigError(
            "the model has no discrete latent (model.disc is empty): nothing to score"
        )
    return score_categories(
        discrete_codes(model, dataset_test, device, batch_size), disc, dataset_test, factor
    )


def score_categories(
    codes: np.ndarray, disc: list[int], dataset_test: GroundTruthData, factor: str | None = None
) -> dict[str, dict[str, float | int | str]]:
    """Clustering scores of category ids ``codes`` (N, number of categoricals) against the test
    labels: ``{"disc_i": {accuracy_hungarian, accuracy_majority, nmi, ...}}``."""
    factors = labels_of(dataset_test)
    out: dict[str, dict[str, float | int | str]] = {}
    for i, k in enumerate(disc):
        col = choose_factor(dataset_test, k, factor)
        scores = clustering(codes[:, i : i + 1].astype(np.float64), factors[:, col : col + 1])
        out[f"disc_{i}"] = {
            "accuracy_hungarian": scores["accuracy"],
            "accuracy_majority": scores["majority_accuracy"],
            "nmi": scores["normalized_mutual_info"],
            "num_categories": k,
            "factor": dataset_test.factor_names[col],
            "num_classes": int(dataset_test.factor_sizes[col]),
        }
    return out
