"""Run a sweep on Ray: one Ray task per unfinished trial, retried when its worker dies.

Why Ray core tasks and not Ray Tune: every trial is already a resumable run directory
(``train(..., resume=True)`` continues from the newest checkpoint), so fault tolerance needs only
"run this function again", which is what a task's ``max_retries`` does when its worker process
dies. Tune would add its own trial checkpointing, result directories and scheduler on top of ours,
with nothing to gain for a fixed grid. The driver only submits tasks and collects their records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UserError
from ..io import atomic_write_text
from .expand import Trial, expand
from .spec import GPU_FRACTION_AUTO, SweepSpec
from .state import SweepDir, is_finished
from .trial import TrialOptions, finish_failed, run_trial

INSTALL_HINT = "pip install 'disentangled[sweep]'"


@dataclass
class SweepOutcome:
    """Counts of one invocation: trials skipped as finished, run now, and their statuses."""

    total: int = 0
    skipped: int = 0
    ran: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def import_ray():
    """The ray module, or a UserError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(f"sweeps run on Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def prepare(
    spec: SweepSpec, out: Path, *, resume: bool, log: Callable[[str], None] = print
) -> tuple[SweepDir, list[Trial]]:
    """Expand the sweep and make its folder; refuses to reuse a folder without ``resume``."""
    trials = expand(spec)
    sd = SweepDir(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not resume:
            raise UserError(f"{out} already exists and is not empty; pass --resume to continue it")
        if not sd.manifest.is_file():
            raise UserError(f"{out} is not a sweep directory (no trials.json); use another --out")
        before = sd.stored_overrides()
        if before != list(spec.overrides):
            log(
                f"note: the sweep was last run with overrides {before or 'none'} and now with "
                f"{list(spec.overrides) or 'none'}; trials are matched by their config"
            )
    elif resume:
        raise UserError(f"--resume: {out} does not exist")
    try:
        sd.trials.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create sweep directory {out}: {exc.strerror or exc}") from None
    return sd, trials


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    address: str | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    log: Callable[[str], None] = print,
) -> SweepOutcome:
    """Run every unfinished trial of ``spec`` under ``out`` on Ray and wait for all of them.

    Ray is started locally for the sweep (all CPUs and GPUs of the machine) unless it is already
    initialised in this process or ``address`` names a cluster (``auto`` or ``ray://HOST:PORT``).
    Finished trials (a ``result.json``) are skipped; failed ones too unless ``retry_failed``.
    """
    from ..train.rundir import RunLock

    t0 = time.perf_counter()
    out = Path(out)
    sd, trials = prepare(spec, out, resume=resume, log=log)
    outcome = SweepOutcome(total=len(trials))
    with RunLock(out):  # a second driver on this folder refuses
        atomic_write_text(sd.spec, spec.text)
        sd.write_manifest(spec.name, trials, spec.overrides)
        pending = []
        for trial in trials:
            result = sd.read_result(trial.id)
            if retry_failed and result is not None and result["status"] == "failed":
                result = None
            if trial.error is not None and result is None:
                result = finish_failed(sd, trial, ConfigError(trial.error), attempts=0)
                _count(outcome, result)
                log(describe(trial.id, result))
                continue
            if is_finished(result, trial.config):
                outcome.skipped += 1
                _count(outcome, result)
            else:
                pending.append(trial)
        if outcome.skipped:
            log(f"{outcome.skipped} of {len(trials)} trial(s) already finished; skipped")
        if pending:
            _run_on_ray(spec, sd, pending, address, outcome, log)
    outcome.seconds = time.perf_counter() - t0
    return outcome


def _run_on_ray(
    spec: SweepSpec,
    sd: SweepDir,
    pending: list[Trial],
    address: str | None,
    outcome: SweepOutcome,
    log: Callable[[str], None],
) -> None:
    ray = import_ray()
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False}
        if address:
            kwargs["address"] = address
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = address or "a local instance"
            raise UserError(f"cannot start or reach Ray at {where}: {exc}") from None
        started = True
    try:
        gpus = _gpus_per_trial(spec, ray.cluster_resources())
        options = TrialOptions(
            cpus=spec.cpus,
            metrics=spec.eval.metrics,
            mode=spec.eval.mode,
            sizes=spec.eval.sizes,
            faults=spec.faults,
        )
        task = ray.remote(_trial_task)
        per_trial = {
            "num_cpus": spec.cpus,
            "num_gpus": gpus,
            "max_retries": spec.max_retries,
            "retry_exceptions": False,
        }
        refs = {
            task.options(name=f"trial {t.id}", **per_trial).remote(
                str(sd.path.resolve()), t, options
            ): t
            for t in pending
        }
        res = ray.cluster_resources()
        log(
            f"running {len(refs)} trial(s) on Ray ({res.get('CPU', 0):g} CPUs, "
            f"{res.get('GPU', 0):g} GPUs; {spec.cpus:g} CPU and {gpus:g} GPU per trial)"
        )
        done_count = 0
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                trial = refs.pop(ref)
                try:
                    record = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    attempts = len(sd.read_attempts(trial.id))
                    failure = _failure(exc, spec.max_retries, ray)
                    record = finish_failed(sd, trial, failure, attempts=attempts)
                done_count += 1
                outcome.ran += 1
                _count(outcome, record)
                log(f"[{done_count}/{len(pending)}] {describe(trial.id, record)}")
    except KeyboardInterrupt:
        log(f"interrupted; continue with: disentangled sweep ... --resume --out {sd.path}")
        raise
    finally:
        if started:
            ray.shutdown()


def _trial_task(sweep_dir: str, trial: Trial, options: TrialOptions) -> dict[str, Any]:
    """The Ray task: one trial in a worker process."""
    return run_trial(sweep_dir, trial, options)


def _gpus_per_trial(spec: SweepSpec, resources: dict[str, float]) -> float:
    if spec.gpus != "auto":
        return float(spec.gpus)
    return GPU_FRACTION_AUTO if resources.get("GPU", 0) > 0 else 0.0


class WorkerLost(Exception):
    """A trial whose worker process died on every allowed attempt."""


class TrialCrashed(Exception):
    """A trial whose task ended with an error that the trial could not record itself."""


def _failure(exc: BaseException, retries: int, ray) -> Exception:
    """The recorded error of a task that Ray reports as failed."""
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = getattr(exc, "cause", None)
        text = f"{type(cause).__name__}: {cause}" if cause is not None else lines[-1]
        return TrialCrashed(text)
    first = lines[0] if lines else type(exc).__name__
    return WorkerLost(f"worker died on all {retries + 1} attempt(s): {type(exc).__name__}: {first}")


def _count(outcome: SweepOutcome, record: dict[str, Any] | None) -> None:
    status = record["status"] if record else "unknown"
    outcome.statuses[status] = outcome.statuses.get(status, 0) + 1


def describe(trial_id: str, record: dict[str, Any]) -> str:
    """One line: status, step and time, or the failure message."""
    if record["status"] == "failed":
        return f"failed  {trial_id}: {record.get('error')}: {record.get('message')}"
    text = f"done    {trial_id}: step {record.get('step')}"
    text += f" in {record.get('train_seconds', 0):.1f} s"
    if record.get("attempts", 1) > 1:
        text += f" (attempt {record['attempts']})"
    if record.get("eval_error"):
        text += f"; evaluation failed: {record['eval_error']}"
    return text
