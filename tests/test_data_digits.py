"""scikit-learn digits: the embedded 8x8 set with its label as the one factor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from disentangled.data import digits, load_dataset
from disentangled.data.base import Subset
from disentangled.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def ds():
    return load_dataset("digits")


def test_images_are_the_scaled_counts(ds) -> None:
    ref = load_digits()
    assert len(ds) == digits.NUM_IMAGES == len(ref.target) == 1797
    assert ds.image_shape == (1, 8, 8) and not ds.binary
    x = ds.images(torch.arange(len(ds))).numpy()
    assert x.dtype == np.uint8 and x.max() == 255 and x.min() == 0
    np.testing.assert_array_equal(x[:, 0], np.rint(ref.images * 255 / 16))
    assert np.array_equal(x[:, 0] == 255, ref.images == 16)


def test_the_label_is_the_factor(ds) -> None:
    ref = load_digits().target
    assert ds.factor_names == ("digit",) and ds.factor_sizes == (10,)
    f = ds.factors(torch.arange(len(ds)))
    assert f.shape == (1797, 1) and f.dtype == torch.long
    assert np.array_equal(f[:, 0].numpy(), ref)
    assert np.bincount(ref).tolist() == np.bincount(f[:, 0].numpy()).tolist()


def test_batch_and_sampling(ds) -> None:
    index = torch.tensor([3, 1, 3, 1796])
    assert torch.equal(ds.batch(index, "cpu"), ds.images(index).float() / 255)
    drawn = ds.sample_factors(500, np.random.RandomState(7))
    assert np.array_equal(drawn[:, 0], np.random.RandomState(7).randint(10, size=500))


def test_images_for_is_refused_with_a_reason(ds) -> None:
    with pytest.raises(DataError, match="does not determine one image"):
        ds.images_for(np.array([[3]]))


def test_subset_and_options() -> None:
    sub = load_dataset("digits", subset=100, seed=4)
    assert isinstance(sub, Subset) and len(sub) == 100
    full = load_dataset("digits")
    rows = torch.from_numpy(sub.indices.numpy())
    assert torch.equal(sub.images(torch.arange(100)), full.images(rows))
    with pytest.raises(ConfigError, match="takes no path"):
        load_dataset("digits", path="/tmp")
