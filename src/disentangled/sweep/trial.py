"""One trial, as a worker runs it: open or create its run directory, train (resuming from the
newest checkpoint when one exists), evaluate, and write the final record.

Every attempt of a trial runs this function from the top, so a retry after a dead worker needs no
special case: a run directory with a checkpoint continues from it (``train(..., resume=True)``),
one without (the worker died before the first checkpoint) is started again from scratch.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .expand import Trial
from .faults import inject
from .spec import FaultSpec
from .state import SweepDir


@dataclass(frozen=True)
class TrialOptions:
    """What a worker needs besides the trial: threads, metrics and injected faults."""

    cpus: float = 1.0
    metrics: tuple[str, ...] = ()
    mode: str = "fast"
    sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    faults: tuple[FaultSpec, ...] = ()


def run_trial(sweep_dir: str | Path, trial: Trial, options: TrialOptions) -> dict[str, Any]:
    """Train and evaluate ``trial`` under ``SWEEP_DIR/trials/<id>``; returns the final record
    (also written to ``result.json``). A trial that raises is recorded as failed with its
    message; only the death of the process itself escapes (and Ray retries it)."""
    import torch

    torch.set_num_threads(max(1, int(options.cpus)))
    sd = SweepDir(Path(sweep_dir))
    folder = sd.trial(trial.id)
    t0 = time.perf_counter()
    record: dict[str, Any] = {"id": trial.id, "experiment": trial.experiment}
    if trial.error is not None:
        return finish_failed(sd, trial, ConfigError(trial.error), attempts=0)
    try:
        from ..config import from_dict

        cfg = from_dict(trial.config)
        sd.clear_result(trial.id)
        run, resumed_from = open_or_create(folder, cfg)
        attempt = sd.log_attempt(trial.id, resumed_from=resumed_from)
        record["attempts"] = attempt
        session = _train(sd, trial, cfg, run, resumed_from, options)
        record.update(
            status="done",
            step=session.step,
            steps=cfg.train.steps,
            time_limit=cfg.train.time_limit,
            train_seconds=round(time.perf_counter() - t0, 3),
        )
    except Exception as exc:  # noqa: BLE001 - TrainingDiverged, a UserError, or a bug: recorded
        return finish_failed(sd, trial, exc, attempts=record.get("attempts", 0))
    if options.metrics:
        t1 = time.perf_counter()
        errors = evaluate(folder, options)
        if errors:
            record["eval_error"] = "; ".join(f"{m}: {e}" for m, e in errors.items())
        record["eval_seconds"] = round(time.perf_counter() - t1, 3)
    sd.write_result(trial.id, record)
    return record


def evaluate(folder: Path, options: TrialOptions) -> dict[str, str]:
    """Score the trained run (``eval/metrics.json``); a metric that cannot score this run is
    dropped and the others scored. Returns {metric: error message} of the dropped ones."""
    from ..evaluation.run import evaluate_run
    from ..metrics import MetricInputError

    remaining, errors = list(options.metrics), {}
    while remaining:
        try:
            evaluate_run(folder, remaining, mode=options.mode, sizes=options.sizes)
            break
        except MetricInputError as exc:
            bad = next((m for m in remaining if str(exc).startswith(f"{m}:")), None)
            if bad is None:
                errors.update({m: str(exc) for m in remaining})
                break
            errors[bad] = str(exc).removeprefix(f"{bad}:").strip()
            remaining.remove(bad)
        except Exception as exc:  # noqa: BLE001 - recorded; the trained model is kept
            errors.update({m: f"{type(exc).__name__}: {exc}" for m in remaining})
            break
    return errors


def _train(sd: SweepDir, trial: Trial, cfg, run, resumed_from: int | None, options: TrialOptions):
    from ..data import load_configured
    from ..train import train

    dataset = load_configured(cfg.data, seed=cfg.train.seed)
    dataset = inject(dataset, options.faults, trial.id, sd.faults)
    return train(cfg, run, resume=resumed_from is not None, dataset=dataset)


def open_or_create(folder: Path, cfg) -> tuple[Any, int | None]:
    """(run directory, step of its newest checkpoint or None when training starts afresh).

    A folder with a config and a checkpoint is continued (its config updated: only the
    resumable keys can differ for one trial id); anything else there is the debris of an attempt
    that died before its first checkpoint, and is replaced."""
    from ..train import RunDir, list_checkpoints
    from ..train.checkpoint import remove_partial_writes

    if (folder / "config.yaml").is_file():
        run = RunDir.open(folder)
        remove_partial_writes(run.checkpoints)
        ckpts = list_checkpoints(run.checkpoints)
        if ckpts:
            run.save_config(cfg)
            return run, int(ckpts[-1].stem.removeprefix("step_"))
        return RunDir.create(folder, cfg, overwrite=True), None
    if folder.exists():
        shutil.rmtree(folder)
    return RunDir.create(folder, cfg), None


def finish_failed(
    sd: SweepDir, trial: Trial, exc: BaseException, *, attempts: int
) -> dict[str, Any]:
    """Write and return the failed record of ``trial`` with the error's type and message."""
    record = {
        "id": trial.id,
        "experiment": trial.experiment,
        "status": "failed",
        "error": type(exc).__name__,
        "message": str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        "attempts": attempts,
    }
    sd.trial(trial.id).mkdir(parents=True, exist_ok=True)
    sd.write_result(trial.id, record)
    return record
