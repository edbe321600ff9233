"""Load a trained model from a run directory for evaluation and pictures."""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import RunConfig
from ..errors import CheckpointError
from ..objectives import build_objective
from .checkpoint import list_checkpoints, load_checkpoint, restore_module
from .device import prefer_channels_last
from .rundir import RunDir


def load_model(
    run: RunDir,
    *,
    image_shape: tuple[int, int, int],
    device: torch.device | str = "cpu",
    checkpoint: Path | None = None,
) -> tuple[RunConfig, torch.nn.Module, int]:
    """(config, model in eval mode, step) from the newest (or the given) checkpoint of ``run``."""
    cfg = run.load_config()
    if checkpoint is None:
        paths = list_checkpoints(run.checkpoints)
        if not paths:
            raise CheckpointError(f"{run.path} has no checkpoint")
        checkpoint = paths[-1]
    ckpt = load_checkpoint(checkpoint)
    # built through an instance: a GAN objective sizes its model from its own parameters
    objective = build_objective(cfg.objective, dataset_size=1, recon=cfg.model.recon)
    model = objective.build_model(cfg.model, image_shape)
    restore_module(model, ckpt.section("model"), "model", ckpt.path)
    model.to(device)
    prefer_channels_last(model, torch.device(device))  # the layout training used
    return cfg, model.eval(), ckpt.step
