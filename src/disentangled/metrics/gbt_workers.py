"""The fast DCI's boosted models (one per factor) fitted on every core.

The fits are independent and each is deterministic, so they can run anywhere: in this process
or in worker processes, with the same result. Threads share one interpreter lock, which the
many small array operations of :mod:`.gbt` contend for (on two cores the five dSprites fits took
13.4 s in two threads, about 11 s is the longer of two balanced process groups); so the factors
are split into balanced groups, one per core, the first fitted here and each other one by a
worker process that imports only numpy, scipy and :mod:`.gbt` (about 0.2 s to start). Small
problems, where starting a process costs more than it saves, use threads. A worker that fails
is replaced by fitting its group here, with a warning.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ._parallel import available_cores, thread_map
from .gbt import BoostingResult, boosted_importances

# below this many (training samples x trees per stage, summed over factors) threads are used
PROCESS_MIN_WORK = 200_000
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from disentangled.metrics.gbt_workers import _child_main; _child_main(sys.argv[2:])"
)


def balanced_groups(costs: list[float], groups: int) -> list[list[int]]:
    """Split item indices into at most ``groups`` non-empty groups of similar total cost
    (largest first, each to the least loaded group); the most loaded group comes first."""
    members: list[list[int]] = [[] for _ in range(max(1, groups))]
    loads = [0.0] * len(members)
    for j in sorted(range(len(costs)), key=lambda j: (-costs[j], j)):
        g = loads.index(min(loads))
        members[g].append(j)
        loads[g] += costs[j]
    order = sorted(range(len(members)), key=lambda g: -loads[g])
    return [members[g] for g in order if members[g]]


def _fit(arrays: dict[str, np.ndarray], j: int, seed: int, max_bins: int) -> BoostingResult:
    return boosted_importances(
        arrays["codes"],
        arrays["factors"][:, j],
        arrays["codes_test"],
        arrays["factors_test"][:, j],
        seed=seed,
        max_bins=max_bins,
    )


def _save_results(path: Path, results: list[BoostingResult]) -> None:
    tmp = path.with_suffix(".part.npz")
    np.savez(
        tmp,
        importances=np.stack([r.importances for r in results]),
        train=np.array([r.train_accuracy for r in results]),
        test=np.array([r.test_accuracy for r in results]),
    )
    os.replace(tmp, path)


def _load_results(path: Path) -> list[BoostingResult]:
    with np.load(path) as out:
        return [
            BoostingResult(imp, float(tr), float(te))
            for imp, tr, te in zip(out["importances"], out["train"], out["test"], strict=True)
        ]


def _child_main(argv: list[str]) -> None:
    """Worker entry: ``INPUTS.npz OUTPUT.npz SEED MAX_BINS FACTOR...``."""
    inputs, output, seed, max_bins, *columns = argv
    with np.load(inputs) as data:
        arrays = {name: data[name] for name in data.files}
    results = [_fit(arrays, int(j), int(seed), int(max_bins)) for j in columns]
    _save_results(Path(output), results)


def fit_factors(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    seed: int = 0,
    max_bins: int = 256,
    processes: bool | None = None,
    cores: int | None = None,
) -> list[BoostingResult]:
    """One boosted model per factor column of factors (N, K): K results in factor order.

    ``processes``: None decides by the problem's size, True/False forces worker processes or
    threads. ``cores``: how many to use (default: those available). Speed only: the results are
    the same either way.
    """
    arrays = {
        "codes": codes,
        "factors": factors,
        "codes_test": codes_test,
        "factors_test": factors_test,
    }
    k = factors.shape[1]
    classes = [np.unique(factors[:, j]).size for j in range(k)]
    trees = [1 if c <= 2 else c for c in classes]  # trees per stage
    groups = balanced_groups([float(t) for t in trees], min(k, cores or available_cores()))
    if processes is None:
        processes = codes.shape[0] * sum(trees) >= PROCESS_MIN_WORK
    results: list[BoostingResult | None] = [None] * k
    if len(groups) == 1 or not processes:
        # the largest first, so that the threads finish together
        order = sorted(range(k), key=lambda j: (-trees[j], j))
        fitted = thread_map(lambda j: _fit(arrays, j, seed, max_bins), order, len(groups))
        for j, res in zip(order, fitted, strict=True):
            results[j] = res
        return results  # type: ignore[return-value]
    with tempfile.TemporaryDirectory(prefix="disentangled-dci-") as tmp:
        inputs = Path(tmp) / "inputs.npz"
        np.savez(inputs, **arrays)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        workers = []
        for g, group in enumerate(groups[1:], start=1):
            output = Path(tmp) / f"out{g}.npz"
            args = [str(inputs), str(output), str(seed), str(max_bins), *map(str, group)]
            try:
                # stderr to a file: a pipe nobody reads until the end could fill and stall it
                with open(output.with_suffix(".err"), "wb") as log:
                    proc = subprocess.Popen(
                        [sys.executable, "-c", _CHILD, _PACKAGE_ROOT, *args],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                    )
            except OSError as err:  # no usable interpreter to start (e.g. an embedded one)
                workers.append((group, output, None, str(err)))
                continue
            workers.append((group, output, proc, ""))
        try:
            for j in groups[0]:
                results[j] = _fit(arrays, j, seed, max_bins)
        except BaseException:
            for _, _, proc, _ in workers:
                if proc is not None:
                    proc.kill()
                    proc.wait()
            raise
        for group, output, proc, reason in workers:
            if proc is not None:
                proc.wait()
                if proc.returncode == 0 and output.exists():
                    for j, res in zip(group, _load_results(output), strict=True):
                        results[j] = res
                    continue
                err = output.with_suffix(".err").read_bytes()
                lines = err.decode(errors="replace").strip().splitlines()
                reason = lines[-1] if lines else f"exit code {proc.returncode}"
            warnings.warn(
                f"a DCI worker process failed ({reason}); fitting its factors here",
                RuntimeWarning,
                stacklevel=2,
            )
            for j in group:
                results[j] = _fit(arrays, j, seed, max_bins)
    return results  # type: ignore[return-value]
