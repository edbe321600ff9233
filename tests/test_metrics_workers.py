"""The fast DCI's factor fits: balanced groups, worker processes, and the fallback to threads."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangled.metrics import gbt_workers
from disentangled.metrics.gbt_workers import balanced_groups, fit_factors


@given(
    costs=st.lists(st.floats(0.0, 100.0, allow_nan=False), min_size=1, max_size=12),
    groups=st.integers(1, 6),
)
@settings(max_examples=200, deadline=None)
def test_balanced_groups_partition_the_items_heaviest_group_first(costs, groups):
    out = balanced_groups(costs, groups)
    assert sorted(j for g in out for j in g) == list(range(len(costs)))
    assert 1 <= len(out) <= min(groups, len(costs))
    loads = [sum(costs[j] for j in g) for g in out]
    assert loads == sorted(loads, reverse=True)
    # longest-processing-time-first: the heaviest group exceeds the mean load by at most the
    # largest item (Graham's bound)
    assert loads[0] <= sum(costs) / len(out) + max(costs) + 1e-9


def test_balanced_groups_split_dsprites_factors_as_the_docs_say():
    # trees per stage of the dSprites factors: shape 3, scale 6, orientation 40, x 32, y 32
    assert balanced_groups([3.0, 6.0, 40.0, 32.0, 32.0], 2) == [[3, 4], [2, 1, 0]]


def _problem(seed: int = 0, n: int = 400):
    rs = np.random.RandomState(seed)
    factors = np.stack([rs.randint(5, size=n), rs.randint(2, size=n), rs.randint(7, size=n)], 1)
    codes = factors + 0.3 * rs.randn(n, 3)
    codes = np.concatenate([codes, rs.randn(n, 1)], axis=1)
    return codes[:300], factors[:300], codes[300:], factors[300:]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.importances, y.importances)
        assert (x.train_accuracy, x.test_accuracy) == (y.train_accuracy, y.test_accuracy)


def test_worker_processes_give_the_threads_results_exactly():
    args = _problem()
    threads = fit_factors(*args, processes=False, cores=2)
    procs = fit_factors(*args, processes=True, cores=2)
    single = fit_factors(*args, processes=False, cores=1)
    _same(threads, procs)
    _same(threads, single)
    assert all(r.importances.shape == (4,) for r in procs)


def test_a_failing_worker_is_replaced_by_fitting_here_with_a_warning(monkeypatch):
    args = _problem(1)
    expected = fit_factors(*args, processes=False, cores=1)
    monkeypatch.setattr(gbt_workers, "_CHILD", "import sys; sys.exit('worker broke')")
    with pytest.warns(RuntimeWarning, match="worker broke"):
        got = fit_factors(*args, processes=True, cores=2)
    _same(expected, got)


def test_a_worker_that_cannot_start_is_replaced_too(monkeypatch):
    args = _problem(3)
    expected = fit_factors(*args, processes=False, cores=1)

    def cannot_start(*a, **k):
        raise FileNotFoundError("no interpreter")

    monkeypatch.setattr(gbt_workers.subprocess, "Popen", cannot_start)
    with pytest.warns(RuntimeWarning, match="no interpreter"):
        got = fit_factors(*args, processes=True, cores=2)
    _same(expected, got)


def test_small_problems_stay_in_threads(monkeypatch):
    def no_processes(*a, **k):
        raise AssertionError("a worker process was started")

    monkeypatch.setattr(gbt_workers.subprocess, "Popen", no_processes)
    fit_factors(*_problem(2), cores=2)  # 300 samples x 13 trees: below PROCESS_MIN_WORK
