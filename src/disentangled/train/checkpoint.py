"""Checkpoints: one safetensors file per save holding every tensor, JSON state in its metadata.

Tensors: ``model/<param>``, ``objective/<param>`` (e.g. a discriminator), ``optim/<name>/<i>/<key>``
(per-parameter optimizer state), ``rng/<name>`` (generator states as uint8). The JSON under the
metadata key ``disentangled`` holds the format version, step, config, optimizer hyper-parameters and
non-tensor state. Nothing is ever unpickled. Files are written atomically.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .. import __version__
from ..errors import CheckpointError
from ..io import atomic_write_bytes

FORMAT_VERSION = 1
META_KEY = "disentangled"
_NAME = re.compile(r"^step_(\d{9})\.safetensors$")


@dataclass
class Checkpoint:
    """A loaded checkpoint: tensors by prefix and the JSON state."""

    path: Path
    tensors: dict[str, torch.Tensor]
    state: dict[str, Any]

    @property
    def step(self) -> int:
        return int(self.state["step"])

    def section(self, prefix: str) -> dict[str, torch.Tensor]:
        """Tensors under ``prefix/`` with the prefix removed."""
        p = prefix + "/"
        return {k[len(p) :]: v for k, v in self.tensors.items() if k.startswith(p)}


def checkpoint_path(folder: Path, step: int) -> Path:
    return Path(folder) / f"step_{step:09d}.safetensors"


def list_checkpoints(folder: Path) -> list[Path]:
    """Checkpoint files in ``folder``, oldest step first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _NAME.match(p.name))


def _optimizer_tensors(name: str, opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for pid, st in sd["state"].items():
        for key, val in st.items():
            if isinstance(val, torch.Tensor):
                tensors[f"optim/{name}/{pid}/{key}"] = val.detach().cpu().contiguous().clone()
            else:
                plain.setdefault(str(pid), {})[key] = val
    return tensors, {"param_groups": sd["param_groups"], "plain_state": plain}


def save_checkpoint(
    folder: Path,
    step: int,
    *,
    model: torch.nn.Module,
    objective: torch.nn.Module | None,
    optimizers: dict[str, torch.optim.Optimizer],
    generators: dict[str, torch.Generator | torch.Tensor],
    config: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``step_<step>.safetensors`` atomically and return its path."""
    tensors: dict[str, torch.Tensor] = {}
    for k, v in model.state_dict().items():
        tensors[f"model/{k}"] = v.detach().cpu().contiguous().clone()
    if objective is not None:
        for k, v in objective.state_dict().items():
            tensors[f"objective/{k}"] = v.detach().cpu().contiguous().clone()
    optim_state = {}
    for name, opt in optimizers.items():
        t, plain = _optimizer_tensors(name, opt)
        tensors.update(t)
        optim_state[name] = plain
    for name, gen in generators.items():
        state = gen if isinstance(gen, torch.Tensor) else gen.get_state()
        tensors[f"rng/{name}"] = state.clone()
    state = {
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "step": int(step),
        "config": config,
        "optimizers": optim_state,
        "generators": sorted(generators),
        "extra": extra or {},
    }
    data = st_save(tensors, metadata={META_KEY: json.dumps(state)})
    path = checkpoint_path(folder, step)
    atomic_write_bytes(path, data, before_rename=_stall_hook(step))
    return path


def _stall_hook(step: int):
    """Fault injection for tests: ``DISENTANGLED_TEST_STALL_CHECKPOINT=STEP:SECONDS`` pauses the
    write of that step's checkpoint after its temporary file is synced, before the rename."""
    spec = os.environ.get("DISENTANGLED_TEST_STALL_CHECKPOINT", "")
    at, _, seconds = spec.partition(":")
    if not (at.isdigit() and int(at) == step):
        return None
    return lambda tmp: time.sleep(float(seconds or 60))


def remove_partial_writes(folder: Path) -> int:
    """Delete temporary files left by writes that a crash interrupted; returns how many."""
    folder = Path(folder)
    stale = [p for p in folder.glob(".step_*.tmp")] if folder.is_dir() else []
    for p in stale:
        p.unlink(missing_ok=True)
    return len(stale)


def load_checkpoint(path: Path) -> Checkpoint:
    """Read and check a checkpoint file; raises CheckpointError with a one-line reason."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    try:
        tensors = st_load(data)
        meta = _read_metadata(data)
    except (SafetensorError, ValueError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated or corrupt: {exc})"
        ) from None
    if META_KEY not in meta:
        raise CheckpointError(f"{path} is a safetensors file but not a disentangled checkpoint")
    try:
        state = json.loads(meta[META_KEY])
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: checkpoint state is not valid JSON") from None
    if not isinstance(state, dict) or not isinstance(state.get("format_version"), int):
        raise CheckpointError(f"{path}: checkpoint state has no format version")
    if state["format_version"] > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {state['format_version']}, newer than this version of "
            f"disentangled ({FORMAT_VERSION}); upgrade the package to read it"
        )
    if not isinstance(state.get("step"), int):
        raise CheckpointError(f"{path}: checkpoint state has no step")
    return Checkpoint(path=path, tensors=tensors, state=state)


def _read_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` mapping of a safetensors byte string (header is JSON)."""
    if len(data) < 8:
        raise ValueError("file shorter than the safetensors header")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise ValueError("header length exceeds file size")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise ValueError("metadata is not a mapping")
    return meta


def restore_module(
    module: torch.nn.Module, tensors: dict[str, torch.Tensor], what: str, path: Path
) -> None:
    """Load a state dict, turning key or shape mismatches into a CheckpointError."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path} holds a different {what} (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}): "
            "it was saved by another model configuration"
        )
    for k, v in expected.items():
        if tuple(tensors[k].shape) != tuple(v.shape):
            raise CheckpointError(
                f"{path}: {what} tensor {k} has shape {tuple(tensors[k].shape)}, "
                f"this model expects {tuple(v.shape)}"
            )
    module.load_state_dict(tensors)


def restore_optimizer(opt: torch.optim.Optimizer, name: str, ckpt: Checkpoint) -> None:
    """Rebuild an optimizer's state dict from the checkpoint's tensors and JSON."""
    info = ckpt.state.get("optimizers", {}).get(name)
    if info is None:
        raise CheckpointError(f"{ckpt.path} has no state for optimizer {name!r}")
    state: dict[int, dict[str, Any]] = {}
    for key, val in ckpt.section(f"optim/{name}").items():
        pid, _, k = key.partition("/")
        state.setdefault(int(pid), {})[k] = val
    for pid, plain in info.get("plain_state", {}).items():
        state.setdefault(int(pid), {}).update(plain)
    try:
        opt.load_state_dict({"state": state, "param_groups": info["param_groups"]})
    except (ValueError, KeyError) as exc:
        raise CheckpointError(
            f"{ckpt.path}: optimizer {name!r} does not match this model ({exc})"
        ) from None
    _match_layouts(opt)


def _match_layouts(opt: torch.optim.Optimizer) -> None:
    """Give each restored per-parameter state tensor its parameter's memory layout.

    Checkpoints hold contiguous tensors; a channels-last parameter's moments must be
    channels-last again, or a fused optimizer pairs elements of different positions."""
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state.get(p, {})
            for k, v in st.items():
                if isinstance(v, torch.Tensor) and v.shape == p.shape and v.stride() != p.stride():
                    st[k] = torch.empty_like(p, dtype=v.dtype).copy_(v)


def prune_checkpoints(folder: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints."""
    for p in list_checkpoints(folder)[:-keep]:
        p.unlink(missing_ok=True)
