"""The analytic cases of METRICS.md, for every metric, in both modes where the mode matters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangled.metrics import score
from disentangled.metrics.dci import completeness_per_factor, importance_matrix

SIZES = (3, 4, 5)
MODES = ("fast", "compat")


def grid_sample(n: int, seed: int) -> np.ndarray:
    """Independent uniform factors (n, 3) with the sizes above."""
    rs = np.random.RandomState(seed)
    return np.stack([rs.randint(s, size=n) for s in SIZES], axis=1)


F_TRAIN, F_TEST = grid_sample(2000, 1), grid_sample(1000, 2)
NOISE = np.random.RandomState(5).randn(2000, 4)
NOISE_TEST = np.random.RandomState(6).randn(1000, 4)


def as_codes(f: np.ndarray) -> np.ndarray:
    return f.astype(np.float64)


# identity representation -----------------------------------------------------------------


def test_identity_mig_close_to_one():
    assert score("mig", as_codes(F_TRAIN), F_TRAIN)["discrete_mig"] > 0.99


@pytest.mark.parametrize("mode", MODES)
def test_identity_dci_disentanglement_and_completeness_are_one(mode):
    out = score("dci", as_codes(F_TRAIN), F_TRAIN, as_codes(F_TEST), F_TEST, mode=mode)
    assert out["disentanglement"] > 0.999
    assert out["completeness"] > 0.999
    assert out["informativeness_test"] == 1.0


def test_identity_modularity_is_one():
    out = score("modularity", as_codes(F_TRAIN), F_TRAIN, as_codes(F_TEST), F_TEST)
    assert out["modularity_score"] > 0.99
    assert out["explicitness_score_test"] > 0.9


def test_identity_irs_is_one():
    assert score("irs", as_codes(F_TRAIN), F_TRAIN)["IRS"] == pytest.approx(1.0)


def test_identity_sap_is_largest_for_matching_code():
    out = score("sap", as_codes(F_TRAIN), F_TRAIN, as_codes(F_TEST), F_TEST)
    noise = score("sap", NOISE, F_TRAIN, NOISE_TEST, F_TEST)
    assert out["SAP_score"] > 0.2 > noise["SAP_score"]


# codes independent of the factors --------------------------------------------------------


def test_noise_mig_near_zero():
    assert score("mig", NOISE, F_TRAIN)["discrete_mig"] < 0.02


@pytest.mark.parametrize("mode", MODES)
def test_noise_dci_disentanglement_near_zero(mode):
    out = score("dci", NOISE[:1000], F_TRAIN[:1000], NOISE_TEST, F_TEST, mode=mode)
    assert out["disentanglement"] < 0.15
    assert out["informativeness_test"] < 0.45  # chance is (1/3 + 1/4 + 1/5) / 3 = 0.26


def test_noise_unsupervised_scores_near_zero():
    out = score("unsupervised", NOISE, None)
    assert abs(out["gaussian_total_correlation"]) < 0.01
    assert out["gaussian_wasserstein_correlation_norm"] < 0.01


def test_noise_irs_far_below_identity():
    # IRS compares a 0.99-quantile deviation with the maximal one, so Gaussian noise keeps
    # about 1 - 2.6 / 3.7 ~ 0.3; the identity scores 1.
    assert score("irs", NOISE, F_TRAIN)["IRS"] < 0.4


# one factor copied into two codes ----------------------------------------------------------


def test_duplicated_factor_has_zero_gap_and_mig_drops_by_its_share():
    f0 = F_TRAIN[:, :1]
    dup = np.concatenate([f0, f0, NOISE[:, :1]], axis=1).astype(np.float64)
    assert score("mig", dup, f0)["discrete_mig"] == 0.0
    codes = np.concatenate([F_TRAIN[:, :1], F_TRAIN], axis=1).astype(np.float64)
    full = score("mig", codes, F_TRAIN)["discrete_mig"]
    identity = score("mig", as_codes(F_TRAIN), F_TRAIN)["discrete_mig"]
    # factor 0 loses its whole gap; factors 1 and 2 keep theirs: MIG = identity * 2/3 exactly
    # up to the small spurious MI between independent factors.
    assert full == pytest.approx(identity * 2 / 3, abs=0.01)


@pytest.mark.parametrize("mode", MODES)
def test_duplicated_factor_completeness(mode):
    """Factor 0's importance splits between its two copies (share s, ties broken at random),
    so its completeness is exactly 1 - H(s, 1 - s) / log D, which is 1 - log 2 / log D at an even
    split; every other code carries none of it. Each factor's importances sum to 1, so every
    factor weighs 1/K and C = 1 - (1 - c_0) / K. Here D = 4, K = 3: c_0 ~ 0.5, C ~ 5/6."""
    codes = np.concatenate([F_TRAIN[:, :1], F_TRAIN], axis=1).astype(np.float64)
    codes_test = np.concatenate([F_TEST[:, :1], F_TEST], axis=1).astype(np.float64)
    d, k = codes.shape[1], F_TRAIN.shape[1]
    imp, _, _ = importance_matrix(codes, F_TRAIN, codes_test, F_TEST, mode=mode, seed=0)
    assert imp[2:, 0] == pytest.approx([0.0, 0.0], abs=1e-9)
    share = imp[0, 0] / (imp[0, 0] + imp[1, 0])
    assert 0.25 < share < 0.75  # both copies are used
    entropy = -(share * np.log(share) + (1 - share) * np.log(1 - share))
    per_factor = completeness_per_factor(imp)
    assert per_factor[0] == pytest.approx(1 - entropy / np.log(d), abs=1e-6)
    assert per_factor[0] == pytest.approx(1 - np.log(2) / np.log(d), abs=0.05)
    assert per_factor[1:] == pytest.approx([1.0, 1.0], abs=1e-6)
    out = score("dci", codes, F_TRAIN, codes_test, F_TEST, mode=mode)
    assert out["completeness"] == pytest.approx(1 - (1 - per_factor[0]) / k, abs=1e-6)
    assert out["completeness"] == pytest.approx(1 - np.log(2) / (k * np.log(d)), abs=0.02)
    assert out["disentanglement"] > 0.999


def test_duplicated_factor_modularity_stays_one():
    codes = np.concatenate([F_TRAIN[:, :1], F_TRAIN], axis=1).astype(np.float64)
    codes_test = np.concatenate([F_TEST[:, :1], F_TEST], axis=1).astype(np.float64)
    out = score("modularity", codes, F_TRAIN, codes_test, F_TEST)
    assert out["modularity_score"] > 0.99


# monotone nonlinear transform --------------------------------------------------------------


def test_monotone_transform_scores_like_the_factor_for_mig():
    codes = as_codes(F_TRAIN)
    bent = np.log(codes + 2.0) ** 3  # strictly increasing, far from linear
    assert score("mig", bent, F_TRAIN)["discrete_mig"] == pytest.approx(
        score("mig", codes, F_TRAIN)["discrete_mig"], abs=1e-12
    )


@pytest.mark.parametrize("mode", MODES)
def test_monotone_transform_keeps_dci(mode):
    bent = np.log(as_codes(F_TRAIN) + 2.0) ** 3
    bent_test = np.log(as_codes(F_TEST) + 2.0) ** 3
    out = score("dci", bent, F_TRAIN, bent_test, F_TEST, mode=mode)
    assert out["disentanglement"] > 0.999 and out["completeness"] > 0.999


@given(
    n=st.integers(4, 60),
    classes=st.integers(2, 5),
    levels=st.integers(2, 8),
    seed=st.integers(0, 2**31 - 1),
)
@settings(max_examples=60, deadline=None)
def test_rank_auc_equals_scikit_learns_roc_auc_with_ties(n, classes, levels, seed):
    """fast explicitness's AUC (midranks, all classes at once) is the reference's ROC area."""
    from disentangled.metrics.modularity import _macro_auc

    rs = np.random.RandomState(seed)
    labels = rs.randint(classes, size=n)
    proba = rs.randint(levels, size=(n, classes)) / levels  # coarse scores: many ties
    all_classes = np.arange(classes)
    if not any(0 < np.sum(labels == c) < n for c in all_classes):
        return  # no class with both positives and negatives: nothing to score
    fast = _macro_auc(labels, proba, all_classes, "fast")
    compat = _macro_auc(labels, proba, all_classes, "compat")
    assert abs(fast - compat) < 1e-12
