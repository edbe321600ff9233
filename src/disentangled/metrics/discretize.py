"""Equal-width histogram discretisation of codes, as the reference's ``histogram_discretizer``."""

from __future__ import annotations

import numpy as np

NUM_BINS = 20


def histogram_edges(values: np.ndarray, num_bins: int = NUM_BINS) -> np.ndarray:
    """Per-column bin edges (num_bins + 1, D) exactly as ``np.histogram(column, num_bins)[1]``.

    values: (N, D). The range of each column is its sample min..max (widened by +-0.5 when a
    column is constant); edges share the dtype numpy would pick (float32 stays float32).
    """
    values = np.asarray(values)
    first = values.min(axis=0)
    last = values.max(axis=0)
    dtype = np.result_type(first, last, values)
    if np.issubdtype(dtype, np.integer):
        dtype = np.result_type(dtype, float)
    first = first.astype(dtype)
    last = last.astype(dtype)
    flat = first == last
    first = np.where(flat, first - dtype.type(0.5), first)
    last = np.where(flat, last + dtype.type(0.5), last)
    return np.linspace(first, last, num_bins + 1, endpoint=True, dtype=dtype, axis=0)


def histogram_discretize(values: np.ndarray, num_bins: int = NUM_BINS) -> np.ndarray:
    """Discretise each column into equal-width bins; labels 1..num_bins, int64 (N, D).

    Equals ``np.digitize(x, np.histogram(x, num_bins)[1][:-1])`` per column, vectorised.
    """
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    lower_edges = histogram_edges(values, num_bins)[:-1]  # (num_bins, D)
    labels = np.zeros(values.shape, dtype=np.int64)
    for edge in lower_edges:  # num_bins vectorised passes over (N, D)
        labels += values >= edge
    return labels
