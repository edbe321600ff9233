"""The sampling stage: reference draw order, batched and deduplicated encoding, score sanity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from disentangled.metrics import MetricInputError, evaluate
from disentangled.metrics.beta_vae import sample_beta_vae_points
from disentangled.metrics.sampling import CodeCache, draw_factors, draw_fixed_factor_batches
from test_metrics_support import (
    GridDataset,
    identity_encoder,
    random_encoder,
    representation_encoder,
)

SMALL = {
    "beta_vae": {"num_train": 200, "num_eval": 100, "batch_size": 16},
    "factor_vae": {
        "num_train": 200,
        "num_eval": 100,
        "batch_size": 16,
        "num_variance_estimate": 500,
    },
    "mig": {"num_train": 500},
    "dci": {"num_train": 300, "num_test": 150},
    "sap": {"num_train": 300, "num_test": 150},
    "modularity_explicitness": {"num_train": 300, "num_test": 150},
    "irs": {"num_train": 300},
    "unsupervised": {"num_train": 300},
}


class Recorder:
    """Wraps an encoder and records the batch sizes it is called with."""

    def __init__(self, encode):
        self.encode, self.calls = encode, []

    def __call__(self, images):
        self.calls.append(images.shape[0])
        return self.encode(images)


@pytest.mark.parametrize("dense", [True, False], ids=["dense-index", "sorted-keys"])
def test_cache_encodes_each_distinct_image_once_in_bounded_batches(dense, monkeypatch):
    if not dense:  # the path of grids too large for a dense index
        monkeypatch.setattr(CodeCache, "DENSE_GRID", 0)
    rec = Recorder(identity_encoder)
    cache = CodeCache(rec, GridDataset(), batch_size=7)
    assert (cache._slot is not None) == dense
    rs = np.random.RandomState(0)
    f = GridDataset().sample_factors(500, rs)
    np.testing.assert_array_equal(cache.codes_for(f[:40]), f[:40])
    first = cache.encoded
    assert first == len(np.unique(f[:40], axis=0))
    z = cache.codes_for(f)  # partly cached, partly new rows
    np.testing.assert_array_equal(z, f)
    assert cache.encoded == len(np.unique(f, axis=0)) == sum(rec.calls)
    assert max(rec.calls) <= 7
    before = cache.encoded
    np.testing.assert_array_equal(cache.codes_for(f[::-1]), f[::-1])
    assert cache.encoded == before  # nothing new to encode
    assert cache.requested == 40 + 2 * len(f)


def test_compat_draws_follow_the_reference_order():
    data = GridDataset()
    rs = np.random.RandomState(0)
    index, a, b = draw_fixed_factor_batches(data, 5, 4, rs, pairs=True, mode="compat")
    ref = np.random.RandomState(0)
    for p in range(5):
        k = ref.randint(3)
        f1 = data.sample_factors(4, ref)
        f2 = data.sample_factors(4, ref)
        f2[:, k] = f1[:, k]
        assert index[p] == k
        np.testing.assert_array_equal(a[p], f1)
        np.testing.assert_array_equal(b[p], f2)
    chunked = draw_factors(data, 40, np.random.RandomState(1), batch_size=16)
    ref = np.random.RandomState(1)
    expected = np.concatenate([data.sample_factors(n, ref) for n in (16, 16, 8)])
    np.testing.assert_array_equal(chunked, expected)


@pytest.mark.parametrize("mode", ["fast", "compat"])
def test_fixed_factor_batches_fix_the_factor(mode):
    idx, a, b = draw_fixed_factor_batches(
        GridDataset(), 50, 8, np.random.RandomState(0), pairs=True, mode=mode
    )
    np.testing.assert_array_equal(a[np.arange(50), :, idx], b[np.arange(50), :, idx])
    idx, a, _ = draw_fixed_factor_batches(
        GridDataset(), 50, 8, np.random.RandomState(0), pairs=False, mode=mode
    )
    fixed = a[np.arange(50), :, idx]
    assert np.all(fixed == fixed[:, :1])


@pytest.mark.parametrize("mode", ["fast", "compat"])
def test_betavae_and_factorvae_are_one_for_an_encoder_that_reads_the_factors(mode):
    out = evaluate(
        identity_encoder, GridDataset(), ["beta_vae", "factor_vae"], mode=mode, sizes=SMALL
    )
    assert out["beta_vae"]["eval_accuracy"] == 1.0
    assert out["beta_vae"]["train_accuracy"] == 1.0
    assert out["factor_vae"]["eval_accuracy"] == 1.0
    assert out["factor_vae"]["num_active_dims"] == 3


def test_betavae_and_factorvae_are_near_chance_for_a_random_encoder():
    out = evaluate(
        random_encoder(0), GridDataset((6, 6, 6)), ["beta_vae", "factor_vae"], sizes=SMALL
    )
    assert out["beta_vae"]["eval_accuracy"] < 0.5  # chance = 1/3
    assert out["factor_vae"]["eval_accuracy"] < 0.55


def test_evaluate_is_deterministic_under_a_seed():
    metrics = ["beta_vae", "factor_vae", "mig", "dci", "sap", "irs", "unsupervised"]
    one = evaluate(representation_encoder, GridDataset(), metrics, sizes=SMALL, seed=3)
    two = evaluate(representation_encoder, GridDataset(), metrics, sizes=SMALL, seed=3)
    assert one == two
    other = evaluate(representation_encoder, GridDataset(), ["mig"], sizes=SMALL, seed=4)
    assert other["mig"] != one["mig"]


def test_betavae_points_shapes():
    cache = CodeCache(representation_encoder, GridDataset(), batch_size=64)
    x, y = sample_beta_vae_points(cache, 30, np.random.RandomState(0), batch_size=5)
    assert x.shape == (30, 4) and y.shape == (30,)
    assert cache.encoded <= 60  # the grid has 60 images


class OneFactor(GridDataset):
    def __init__(self):
        super().__init__((5,))


def test_metric_needing_two_factors_says_so():
    with pytest.raises(MetricInputError, match="at least 2 ground-truth factor"):
        evaluate(identity_encoder, OneFactor(), ["beta_vae"], sizes=SMALL)


def test_dataset_without_factors_is_refused():
    with pytest.raises(MetricInputError, match="factor_sizes"):
        evaluate(identity_encoder, object(), ["mig"])


def test_one_dimensional_codes_are_refused_with_the_metric_name():
    def encode(images):
        return identity_encoder(images)[:, :1]

    with pytest.raises(MetricInputError, match="mig: MIG needs at least two code dimensions"):
        evaluate(encode, GridDataset(), ["mig"], sizes=SMALL)


def test_unknown_size_and_metric_names_are_refused():
    with pytest.raises(MetricInputError, match="unknown size"):
        evaluate(identity_encoder, GridDataset(), ["mig"], sizes={"mig": {"num_tset": 3}})
    with pytest.raises(MetricInputError, match="unknown metric"):
        evaluate(identity_encoder, GridDataset(), ["nope"])


def test_a_bad_request_late_in_the_list_is_refused_before_any_encoding():
    rec = Recorder(identity_encoder)
    with pytest.raises(MetricInputError, match="unknown size"):
        evaluate(rec, GridDataset(), ["mig", "sap"], sizes={**SMALL, "sap": {"num_tset": 3}})
    assert rec.calls == []


def test_aliases_of_one_metric_score_it_once(monkeypatch):
    from disentangled.metrics import api

    scored = []
    real = api.score
    monkeypatch.setattr(
        api, "score", lambda name, *a, **k: scored.append(name) or real(name, *a, **k)
    )
    out = evaluate(identity_encoder, GridDataset(), ["modularity", "explicitness"], sizes=SMALL)
    assert list(out) == ["modularity_explicitness"]
    assert scored == ["modularity_explicitness"]


def test_encoder_batch_is_small_on_a_cpu_and_large_on_an_accelerator():
    from disentangled.metrics.sampling import default_encode_batch

    assert default_encode_batch(None) == default_encode_batch("cpu") == 32
    assert default_encode_batch("cuda:0") == default_encode_batch(torch.device("mps")) == 512


@pytest.mark.parametrize("chunk", [1, 7, 256, 10_000])
def test_batched_reductions_do_not_depend_on_the_chunking(chunk):
    from disentangled.metrics.beta_vae import beta_vae_features
    from disentangled.metrics.sampling import reduce_batches

    rs = np.random.RandomState(3)
    table = rs.randn(50, 4)
    rows_a, rows_b = rs.randint(50, size=(30, 8)), rs.randint(50, size=(30, 8))
    whole = beta_vae_features(table[rows_a], table[rows_b])
    np.testing.assert_array_equal(
        reduce_batches(table, beta_vae_features, rows_a, rows_b, chunk=chunk), whole
    )
    variances = reduce_batches(table, lambda z: np.var(z, axis=1, ddof=1), rows_a, chunk=chunk)
    np.testing.assert_array_equal(variances, np.var(table[rows_a], axis=1, ddof=1))
