"""Histogram discretisation and vectorised discrete MI against numpy / scikit-learn."""

from __future__ import annotations

import numpy as np
import sklearn.metrics
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from disentangled.metrics.discretize import histogram_discretize
from disentangled.metrics.mutual_info import discrete_entropy, discrete_mutual_info

# numpy.histogram itself cannot bin subnormal ranges (it is the reference here), so none are drawn
finite = st.floats(
    -1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=64
)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 60), st.integers(1, 4)), elements=finite),
    st.integers(2, 25),
)
def test_discretize_equals_numpy_digitize_histogram(x, bins):
    expected = np.stack([np.digitize(c, np.histogram(c, bins)[1][:-1]) for c in x.T], axis=1)
    np.testing.assert_array_equal(histogram_discretize(x, bins), expected)


@settings(max_examples=30, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 50), st.integers(1, 3)),
        elements=st.floats(-100, 100, width=32, allow_subnormal=False),  # as `finite` above
    )
)
def test_discretize_float32_equals_numpy(x):
    expected = np.stack([np.digitize(c, np.histogram(c, 20)[1][:-1]) for c in x.T], axis=1)
    np.testing.assert_array_equal(histogram_discretize(x), expected)


def test_discretize_labels_run_from_one_to_num_bins():
    x = np.linspace(-3, 7, 1000)[:, None]
    labels = histogram_discretize(x)
    assert labels.min() == 1 and labels.max() == 20


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 80).flatmap(
        lambda n: st.tuples(
            arrays(np.int64, (n, 3), elements=st.integers(-3, 6)),
            arrays(np.int64, (n, 2), elements=st.integers(0, 9)),
        )
    )
)
def test_vectorised_mi_equals_sklearn(pair):
    a, b = pair
    mi = discrete_mutual_info(a, b)
    for p in range(a.shape[1]):
        for q in range(b.shape[1]):
            ref = sklearn.metrics.mutual_info_score(b[:, q], a[:, p])
            assert abs(mi[p, q] - ref) <= 1e-10


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.int64, st.tuples(st.integers(1, 100), st.integers(1, 3)), elements=st.integers(0, 7))
)
def test_entropy_is_mi_with_itself(y):
    h = discrete_entropy(y)
    ref = [sklearn.metrics.mutual_info_score(c, c) for c in y.T]
    np.testing.assert_allclose(h, ref, atol=1e-10)


def test_mi_matrix_on_larger_sample_matches_sklearn():
    rs = np.random.RandomState(3)
    codes = histogram_discretize(rs.randn(5000, 6))
    f = rs.randint(0, 40, size=(5000, 4))
    mi = discrete_mutual_info(codes, f)
    ref = np.array(
        [
            [sklearn.metrics.mutual_info_score(f[:, j], codes[:, i]) for j in range(4)]
            for i in range(6)
        ]
    )
    np.testing.assert_allclose(mi, ref, atol=1e-10, rtol=0)
