"""The training loop: step-based, batches drawn from the in-memory uint8 dataset by seeded index.

Read top to bottom: build everything from the config, restore a checkpoint when resuming, then
loop {draw batch -> objective.training_step -> log -> checkpoint}. No DataLoader, no framework.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from .._malloc import tune_malloc
from ..config import RunConfig
from ..data import GroundTruthData, load_configured
from ..errors import RunWriteError, TrainingDiverged
from ..objectives import StepContext, build_objective
from .checkpoint import (
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    remove_partial_writes,
    restore_module,
    restore_optimizer,
    save_checkpoint,
)
from .device import autocast_factory, prefer_channels_last, resolve_device
from .distributed import (
    DistInfo,
    any_rank,
    average_gradients_before_step,
    broadcast_parameters,
    current,
    gather_generator_states,
    local_batch_size,
    max_parameter_spread,
    mean_over_ranks,
)
from .hooks import DiagnosticsHook, StopFlag
from .rundir import RunDir
from .runlog import MetricsLog, NullLog, to_jsonable

RANK_SEED_STRIDE = 1_000_003
PROGRESS_KEYS = ("loss", "recon", "kl", "capacity")


@dataclass
class Session:
    """Everything a run holds in memory."""

    cfg: RunConfig
    run: RunDir
    dataset: GroundTruthData
    device: torch.device
    model: torch.nn.Module
    objective: Any
    optimizers: dict[str, torch.optim.Optimizer]
    generators: dict[str, torch.Generator]
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    dist: DistInfo = field(default_factory=DistInfo)

    def draw_indices(self) -> torch.Tensor:
        """This process's indices: the global batch of B indices is drawn uniformly with
        replacement from the shared data generator; rank r keeps slice r of B / world."""
        n = len(self.dataset)
        idx = torch.randint(n, (self.cfg.train.batch_size,), generator=self.generators["data"])
        if not self.dist.enabled:
            return idx
        b = idx.numel() // self.dist.world
        return idx[self.dist.rank * b : (self.dist.rank + 1) * b]

    def next_batch(self) -> torch.Tensor:
        """Float batch (B,C,H,W) in [0,1] on the device."""
        return self.dataset.batch(self.draw_indices(), self.device)

    def save(self) -> Path:
        """Write a checkpoint (rank 0; every rank must call it when distributed)."""
        states: dict[str, Any] = dict(self.generators)
        if self.dist.enabled:  # each rank's own noise generator, so resume is exact
            for r, st in enumerate(gather_generator_states(self.generators["model"])):
                states[f"model@rank{r}"] = st
        path = checkpoint_path(self.run.checkpoints, self.step)
        if self.dist.is_main:
            path = save_checkpoint(
                self.run.checkpoints,
                self.step,
                model=self.model,
                objective=self.objective,
                optimizers=self.optimizers,
                generators=states,
                config=self.cfg.to_dict(),
            )
            prune_checkpoints(self.run.checkpoints, self.cfg.train.keep_checkpoints)
        return path


def build_session(cfg: RunConfig, run: RunDir, dataset: GroundTruthData | None = None) -> Session:
    """Dataset, model, objective, optimizers and generators from the config (seeded)."""
    tune_malloc()
    t = cfg.train
    info = current()
    device = resolve_device(t.device)
    if info.enabled:
        local_batch_size(t.batch_size, info)
        if device.type == "cuda":
            device = torch.device("cuda", info.local_rank)
    if dataset is None:
        dataset = load_configured(cfg.data, seed=t.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(t.seed)
        objective = build_objective(cfg.objective, dataset_size=len(dataset), recon=cfg.model.recon)
        model = objective.build_model(cfg.model, dataset.image_shape)
        objective.bind(model)
    objective.check_model(model)
    model.to(device)
    objective.to(device)
    prefer_channels_last(model, device)
    prefer_channels_last(objective, device)
    optimizers = objective.configure_optimizers(model, t)
    if info.enabled:
        broadcast_parameters(model)
        broadcast_parameters(objective)
        for opt in optimizers.values():
            average_gradients_before_step(opt, info.world)
    data_gen = torch.Generator().manual_seed(t.seed)
    model_gen = torch.Generator(device=device).manual_seed(
        t.seed + 1 + RANK_SEED_STRIDE * info.rank
    )
    return Session(
        cfg=cfg,
        run=run,
        dataset=dataset,
        device=device,
        model=model,
        objective=objective,
        optimizers=optimizers,
        generators={"data": data_gen, "model": model_gen},
        dist=info,
    )


def restore_latest(s: Session) -> None:
    """Load the newest readable checkpoint of the run into the session."""
    from ..errors import CheckpointError

    remove_partial_writes(s.run.checkpoints)
    paths = list_checkpoints(s.run.checkpoints)
    if not paths:
        raise CheckpointError(f"{s.run.path} has no checkpoint to resume from")
    ckpt = load_checkpoint(paths[-1])
    restore_module(s.model, ckpt.section("model"), "model", ckpt.path)
    restore_module(s.objective, ckpt.section("objective"), "objective", ckpt.path)
    for name, opt in s.optimizers.items():
        restore_optimizer(opt, name, ckpt)
    rng = ckpt.section("rng")
    for name, gen in s.generators.items():
        key = f"{name}@rank{s.dist.rank}" if f"{name}@rank{s.dist.rank}" in rng else name
        if key not in rng:
            raise CheckpointError(f"{ckpt.path} has no state for generator {name!r}")
        gen.set_state(rng[key])
    s.step = ckpt.step


def train(
    cfg: RunConfig,
    run: RunDir,
    *,
    resume: bool = False,
    dataset: GroundTruthData | None = None,
) -> Session:
    """Train (or continue) the run in ``run``; returns the session at its last step.

    The run directory is locked for the duration (a second process refuses). A non-finite loss or
    gradient stops the run (TrainingDiverged) keeping the last good checkpoint, or, with
    ``train.on_nonfinite=rollback``, reloads that checkpoint and lowers the learning rate.
    """
    main = current().is_main
    with run.lock() if main else contextlib.nullcontext() as lock:
        s = build_session(cfg, run, dataset)
        log = MetricsLog(run.metrics) if main else NullLog()
        if resume:
            restore_latest(s)
            log.truncate_after(s.step)
        if lock is not None and lock.previous_owner:
            log.write(
                {
                    "step": s.step,
                    "event": "stale_lock",
                    "message": f"took over the lock of dead process {lock.previous_owner}",
                }
            )
        try:
            return _run_steps(s, log)
        finally:
            log.close()


def _run_steps(s: Session, log: MetricsLog) -> Session:
    cfg, t = s.cfg, s.cfg.train
    ctx = StepContext(
        generator=s.generators["model"],
        autocast=autocast_factory(s.device, t.precision),
        next_batch=s.next_batch,
        dataset_size=len(s.dataset),
    )
    start_time = time.perf_counter()
    window_start, window_step = start_time, s.step
    bar = tqdm(
        total=t.steps,
        initial=s.step,
        disable=not (t.progress and s.dist.is_main),
        unit="step",
        dynamic_ncols=True,
        desc=cfg.name,
        mininterval=0.25 if sys.stderr.isatty() else 5.0,
    )
    main = s.dist.is_main
    diagnostics = (
        DiagnosticsHook(s) if main and t.diagnostics_every and DiagnosticsHook.applies(s) else None
    )
    board = _tensorboard(s) if main and t.tensorboard else None
    stopped_early, rollbacks = False, 0
    try:
        with StopFlag() as stop:
            s.model.train()
            while s.step < t.steps and not _stop(s, stop.requested):
                x = s.next_batch()
                try:
                    terms = s.objective.training_step(s.model, x, s.step, s.optimizers, ctx)
                except TrainingDiverged as exc:
                    log.write({"step": s.step, "event": "diverged", "message": str(exc)})
                    if t.on_nonfinite != "rollback" or rollbacks >= t.max_rollbacks:
                        raise
                    rollbacks += 1
                    message = _rollback(s)
                    log.write({"step": s.step, "event": "rollback", "message": message})
                    bar.write(f"warning: {exc}; {message}")
                    bar.reset(total=t.steps)
                    bar.update(s.step)
                    continue
                s.step += 1
                record = None
                if s.step % t.log_every == 0 or s.step == t.steps:
                    now = time.perf_counter()
                    rate = (s.step - window_step) * t.batch_size / max(now - window_start, 1e-9)
                    window_start, window_step = now, s.step
                    record = {"step": s.step, "time": round(now - start_time, 3)}
                    record.update(_global_terms(s, to_jsonable(terms)), images_per_s=round(rate, 1))
                    log.write(record)
                    s.history.append(record)
                    if board is not None:
                        board.scalars(s.step, record)
                    bar.set_postfix(_postfix(record), refresh=False)
                if diagnostics is not None and diagnostics.due(s.step):
                    diag, warnings = diagnostics.run(s.step, record or to_jsonable(terms))
                    log.write(diag)
                    if board is not None:
                        board.scalars(s.step, diag)
                    for message in warnings:
                        log.write({"step": s.step, "event": "warning", "message": message})
                        bar.write(f"warning: {message}")
                    window_start += diag["diagnostics_seconds"]
                bar.update(1)
                if s.step % t.checkpoint_every == 0 and s.step < t.steps:
                    _save(s)
                    if board is not None:
                        board.traversals(s.step, s.model, s.dataset, s.device)
                        s.model.train()
                out_of_time = t.time_limit is not None and (
                    time.perf_counter() - start_time >= t.time_limit
                )
                if _stop(s, out_of_time):
                    stopped_early = s.step < t.steps and not stop.requested
                    break
    finally:
        bar.close()
        if board is not None:
            board.close()
    path = _save(s)
    if s.dist.enabled:
        spread = max_parameter_spread(s.model, s.device)
        log.write(
            {
                "step": s.step,
                "event": "ranks_in_sync",
                "max_parameter_spread": spread,
                "world_size": s.dist.world,
            }
        )
    if stop.requested:
        raise KeyboardInterrupt(f"stopped at step {s.step}; checkpoint {path}")
    if stopped_early:
        print(
            f"time limit of {t.time_limit:g} s reached at step {s.step} of {t.steps}",
            file=sys.stderr,
        )
    return s


def _stop(s: Session, local: bool) -> bool:
    """A stop decision every rank agrees on (a collective when distributed)."""
    return any_rank(local, s.device) if s.dist.enabled else local


def _global_terms(s: Session, values: dict[str, Any]) -> dict[str, Any]:
    """Scalar terms averaged over the ranks, so the log describes the global batch."""
    if not s.dist.enabled:
        return values
    scalars = {k: v for k, v in values.items() if isinstance(v, float)}
    return {**values, **mean_over_ranks(scalars, s.device)}


def _tensorboard(s: Session):
    """Scalars and traversal images for TensorBoard under RUN_DIR/tensorboard."""
    from ..viz.tensorboard import TensorBoardLogger

    return TensorBoardLogger(s.run.path / "tensorboard")


def _save(s: Session) -> Path:
    """Checkpoint; a full disk or unwritable folder becomes a one-line RunWriteError."""
    try:
        return s.save()
    except OSError as exc:
        raise RunWriteError(
            f"cannot write a checkpoint in {s.run.checkpoints}: {exc.strerror or exc}; "
            "the previous checkpoint is intact"
        ) from None


def _rollback(s: Session) -> str:
    """Reload the newest checkpoint and scale every learning rate by ``rollback_lr_factor``."""
    factor = s.cfg.train.rollback_lr_factor
    lrs = [g["lr"] for opt in s.optimizers.values() for g in opt.param_groups]
    restore_latest(s)
    i = 0
    for opt in s.optimizers.values():
        for g in opt.param_groups:
            g["lr"] = lrs[i] * factor
            i += 1
    return f"rolled back to step {s.step} and scaled the learning rates by {factor:g}"


def _postfix(record: dict[str, Any]) -> dict[str, str]:
    out = {k: f"{record[k]:.4g}" for k in PROGRESS_KEYS if isinstance(record.get(k), float)}
    out["img/s"] = f"{record['images_per_s']:.0f}"
    return out
