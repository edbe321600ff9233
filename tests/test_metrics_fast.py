"""fast DCI: the vectorised boosting grows scikit-learn's trees and stays within tolerance."""

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


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("max_bins", [4, 256])
def test_first_stage_trees_equal_sklearns_exhaustive_search(seed, max_bins):
    """Continuous codes (every value distinct): the splits are the exhaustive search's, whether
    found at a grid edge or inside a cell (max_bins=4 puts almost every split inside one)."""
    rs = np.random.RandomState(seed)
    y = rs.randint(4, size=600)
    x = y[:, None] * rs.randn(1, 5) + rs.randn(600, 5)
    ours = boosted_importances(x, y, x, y, n_estimators=1, max_bins=max_bins)
    ref = GradientBoostingClassifier(n_estimators=1, random_state=0).fit(x, y)
    np.testing.assert_allclose(ours.importances, ref.feature_importances_, atol=1e-9)
    assert ours.train_accuracy == ref.score(x, y)


def test_values_within_float32_tolerance_are_one_value():
    """scikit-learn never splits between float32 values closer than 1e-7, the sum rounded in
    float32: near 0.9 (step 6e-8) values two steps apart (1.2e-7) are one run at the root, so
    the perfect split on code 0 is not available there; deeper nodes hold fewer of the values
    and may split between them."""
    rs = np.random.RandomState(5)
    n = 400
    y = np.repeat([0, 1], n // 2)
    steps = np.float32(0.9) + np.arange(n, dtype=np.float32) * 2 * np.spacing(np.float32(0.9))
    x = np.stack([steps.astype(np.float64), y + 2.0 * rs.randn(n)], axis=1)
    ours = boosted_importances(x, y, x, y, n_estimators=1, max_bins=8)
    ref = GradientBoostingClassifier(n_estimators=1, random_state=0).fit(x, y)
    np.testing.assert_allclose(ours.importances, ref.feature_importances_, atol=1e-9)
    assert ours.train_accuracy == ref.score(x, y)


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
