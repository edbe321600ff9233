"""The scikit-learn estimators the scores use, pinned explicitly.

disentanglement_lib builds these with library defaults, which have changed across scikit-learn
releases. We pass every setting that matters, so results do not move when defaults do:

- ``LogisticRegression`` (BetaVAE score, explicitness): the defaults since scikit-learn 0.22, i.e.
  L2, C=1, lbfgs, multinomial for more than two classes, tol=1e-4, max_iter=100. The reference run
  with any current scikit-learn uses exactly these. (The 2019 study ran scikit-learn <= 0.21, whose
  default was liblinear one-vs-rest; see docs/metrics.md.)
- ``GradientBoostingClassifier`` (compat DCI): the defaults (100 stages, learning rate 0.1,
  depth 3, subsample 1.0) with ``random_state`` pinned; the reference passes none, which only
  matters for ties between features.
- ``LinearSVC`` (SAP): C=0.01, class_weight="balanced", as the reference, and the primal solver
  (``dual=False``), which is what the default ``dual="auto"`` of scikit-learn >= 1.3 picks for
  one feature and many samples (older releases solved the dual by randomised coordinate descent).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from sklearn.ensemble import GradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits  # installed with scikit-learn


def logistic_regression() -> LogisticRegression:
    """The reference's ``LogisticRegression()`` under scikit-learn >= 0.22, settings pinned."""
    return LogisticRegression(C=1.0, solver="lbfgs", tol=1e-4, max_iter=100, fit_intercept=True)


def gradient_boosting(seed: int) -> GradientBoostingClassifier:
    """The reference's ``GradientBoostingClassifier()`` with its random state pinned to ``seed``."""
    return GradientBoostingClassifier(
        loss="log_loss",
        learning_rate=0.1,
        n_estimators=100,
        subsample=1.0,
        max_depth=3,
        min_samples_split=2,
        min_samples_leaf=1,
        random_state=seed,
    )


def linear_svc() -> LinearSVC:
    """The reference's SAP classifier ``LinearSVC(C=0.01, class_weight="balanced")``."""
    return LinearSVC(
        C=0.01,
        class_weight="balanced",
        loss="squared_hinge",
        penalty="l2",
        dual=False,
        tol=1e-4,
        max_iter=1000,
        intercept_scaling=1.0,
    )


@contextmanager
def quiet() -> Iterator[None]:
    """Silence convergence warnings (the reference ignores them too). The warning filters are
    process-wide and not thread-safe: enter this once, around any threads that fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def quiet_fit(estimator, x, y):
    """Fit under :func:`quiet`; returns the estimator."""
    with quiet():
        return estimator.fit(x, y)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the enclosed fits with BLAS on one thread (OpenMP, hence torch, untouched).

    The scores fit small models (10,000 x 10 features); a multi-threaded BLAS spends more on
    hand-offs than on arithmetic there: the five explicitness logistic regressions of the
    benchmark take 1.4 s with two BLAS threads and 0.36 s with one on a 2-core CPU. The metrics
    parallelise over independent fits instead (:func:`._parallel.thread_map` in
    :mod:`.modularity` and :mod:`.sap`, processes in :mod:`.gbt_workers`). The limit is
    process-wide while it lasts.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield
