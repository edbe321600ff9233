"""fast DCI: the binned boosting reproduces scikit-learn's model and stays within tolerance."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from disentangled.metrics import score
from disentangled.metrics.gbt import boosted_importances

TOLERANCE = 0.02  # |fast - compat| for DCI disentanglement / completeness (docs/metrics.md)


def constructed(seed: int, n: int, mixing: float, noise: float):
    """Codes from factors (3, 4, 5): a rotation by ``mixing``, then Gaussian ``noise``."""
    rs = np.random.RandomState(seed)
    sizes = np.array([3, 4, 5])
    f = np.stack([rs.randint(s, size=n) for s in sizes], axis=1)
    mix = np.eye(3) + mixing * rs.randn(3, 3)
    z = np.tanh((f / (sizes - 1) - 0.5) @ mix) + noise * rs.randn(n, 3)
    z = np.concatenate([z, 0.5 * rs.randn(n, 1)], axis=1)
    return z, f


@pytest.mark.parametrize("classes", [2, 3, 7])
def test_boosting_matches_sklearn_when_every_threshold_is_a_bin_edge(classes):
    rs = np.random.RandomState(classes)
    y = rs.randint(classes, size=600)
    x = np.round(y[:, None] + rs.randn(600, 3), 1)  # few distinct values: no binning loss
    res = boosted_importances(x[:400], y[:400], x[400:], y[400:])
    ref = GradientBoostingClassifier(random_state=0).fit(x[:400], y[:400])
    assert np.abs(res.importances - ref.feature_importances_).max() < 0.01
    assert res.train_accuracy == pytest.approx(ref.score(x[:400], y[:400]), abs=0.01)
    assert res.test_accuracy == pytest.approx(ref.score(x[400:], y[400:]), abs=0.05)  # 200 points


@pytest.mark.parametrize("mixing,noise", [(0.0, 0.05), (0.5, 0.1), (1.0, 0.3)])
def test_fast_dci_within_tolerance_of_compat(mixing, noise):
    z, f = constructed(0, 1500, mixing, noise)
    fast = score("dci", z[:1000], f[:1000], z[1000:], f[1000:])
    compat = score("dci", z[:1000], f[:1000], z[1000:], f[1000:], mode="compat")
    for key in ("disentanglement", "completeness"):
        assert fast[key] == pytest.approx(compat[key], abs=TOLERANCE), key
    for key in ("informativeness_train", "informativeness_test"):
        assert fast[key] == pytest.approx(compat[key], abs=0.03), key


def test_fast_dci_is_deterministic_under_a_seed():
    z, f = constructed(1, 600, 0.5, 0.1)
    a = score("dci", z[:400], f[:400], z[400:], f[400:], seed=7)
    b = score("dci", z[:400], f[:400], z[400:], f[400:], seed=7)
    assert a == b
