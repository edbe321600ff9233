"""score() dispatch, errors a user can cause, and the discrete-latent clustering scores."""

from __future__ import annotations

import numpy as np
import pytest

from disentangled.errors import UserError
from disentangled.metrics import MetricInputError, available_metrics, score
from disentangled.metrics.clustering import clustering

RS = np.random.RandomState(0)
F = RS.randint(0, 4, size=(600, 3))
Z = F + 0.1 * RS.randn(600, 3)


def test_available_metrics_lists_every_core():
    assert set(available_metrics()) == {
        "beta_vae",
        "factor_vae",
        "mig",
        "dci",
        "sap",
        "modularity_explicitness",
        "irs",
        "unsupervised",
        "clustering",
    }


def test_aliases_and_reference_key_names():
    out = score("modularity", Z, F, Z, F)
    assert set(out) == {"modularity_score", "explicitness_score_train", "explicitness_score_test"}
    assert set(score("unsupervised", Z, None)) == {
        "gaussian_total_correlation",
        "gaussian_wasserstein_correlation",
        "gaussian_wasserstein_correlation_norm",
        "mutual_info_score",
    }
    assert set(score("irs", Z, F)) == {"IRS", "num_active_dims"}
    assert set(score("sap", Z, F, Z, F)) == {"SAP_score"}


def test_errors_are_user_errors_with_clear_messages():
    assert issubclass(MetricInputError, UserError)
    with pytest.raises(MetricInputError, match="unknown metric"):
        score("nope", Z, F)
    with pytest.raises(MetricInputError, match="mode must be one of"):
        score("mig", Z, F, mode="slow")
    with pytest.raises(MetricInputError, match="needs codes_test"):
        score("dci", Z, F)
    with pytest.raises(MetricInputError, match="NaN"):
        score("mig", np.full((10, 2), np.nan), F[:10])
    with pytest.raises(MetricInputError, match="rows"):
        score("mig", Z[:5], F)
    with pytest.raises(MetricInputError, match="constant"):
        score("mig", Z, np.zeros((600, 1), dtype=int))
    with pytest.raises(MetricInputError, match="two factors"):
        score("dci", Z, F[:, :1], Z, F[:, :1])


def test_factor_vae_quirk_and_its_fix():
    lv = RS.rand(50, 3)
    y = RS.randint(0, 2, size=50)
    gv = np.array([1.0, 1e-4, 1.0])
    compat = score("factor_vae", lv, y, lv, y, mode="compat", global_variances=gv)
    fast = score("factor_vae", lv, y, lv, y, global_variances=gv)
    assert compat["num_active_dims"] == 3 and fast["num_active_dims"] == 2
    assert compat["eval_accuracy"] == fast["eval_accuracy"]
    dead = score("factor_vae", lv, y, lv, y, global_variances=np.zeros(3))
    assert dead == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}


def test_irs_num_active_dims_quirk():
    z = np.concatenate([Z, np.ones((600, 1))], axis=1)
    assert score("irs", z, F)["num_active_dims"] == 3
    assert score("irs", z, F, mode="compat")["num_active_dims"] == pytest.approx(Z.sum())


# discrete latents ------------------------------------------------------------------------


def test_hungarian_accuracy_is_exact_on_permuted_labels():
    labels = RS.randint(0, 10, size=1000)
    perm = RS.permutation(10)
    clusters = perm[labels]
    out = score("clustering", clusters[:, None].astype(float), labels)
    assert out["accuracy"] == 1.0 and out["majority_accuracy"] == 1.0
    assert out["normalized_mutual_info"] == pytest.approx(1.0)
    onehot = np.eye(10)[clusters]  # a categorical latent as probabilities: argmax is read
    assert clustering(onehot, labels)["accuracy"] == 1.0


def test_hungarian_is_one_to_one_and_majority_is_many_to_one():
    # clusters 0 and 1 both hold class 0; cluster 2 holds class 1
    clusters = np.array([0] * 40 + [1] * 30 + [2] * 30)
    labels = np.array([0] * 70 + [1] * 30)
    out = score("clustering", clusters[:, None].astype(float), labels)
    assert out["majority_accuracy"] == 1.0
    assert out["accuracy"] == pytest.approx(0.7)  # cluster 1 stays unmatched


def test_clustering_map_is_fitted_on_train_and_scored_on_test():
    train_c, train_y = np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0])
    test_c, test_y = np.array([0, 1, 2]), np.array([1, 1, 0])
    out = score(
        "clustering", train_c[:, None].astype(float), train_y, test_c[:, None].astype(float), test_y
    )
    assert out["train_accuracy"] == 1.0
    assert out["accuracy"] == pytest.approx(1 / 3)  # unseen cluster 2 counts as wrong


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_scoring_cores_run_with_one_blas_thread_and_restore_it(monkeypatch):
    """Small fits are slower with a multi-threaded BLAS: score() and evaluate() limit it."""
    from threadpoolctl import threadpool_limits

    from disentangled.metrics import evaluate, registry
    from disentangled.metrics.sap import sap
    from test_metrics_support import GridDataset, identity_encoder

    seen = []

    def recording_sap(*args, **kwargs):
        seen.append(_blas_threads())
        return sap(*args, **kwargs)

    spec = registry.METRICS["sap"]
    patched = type(spec)(**{**vars(spec), "core": recording_sap})
    monkeypatch.setitem(registry.METRICS, "sap", patched)
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        score("sap", Z, F, Z, F)
        sizes = {"sap": {"num_train": 200, "num_test": 100}}
        evaluate(identity_encoder, GridDataset(), ["sap"], sizes=sizes)
        assert _blas_threads() == before
    assert len(seen) == 2
    assert all(n == [1] * len(before) for n in seen)
