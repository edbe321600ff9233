"""Device and precision: CUDA when available, bf16 autocast where supported."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager

import torch

from ..errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA if available, else CPU; otherwise the named device, checked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(
            f"train.device: unknown device {name!r} (use auto, cpu, cuda, cuda:N)"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device=cuda but no CUDA device is available")
    return dev


def prefer_channels_last(module: torch.nn.Module, device: torch.device) -> None:
    """On a CPU, store the 4-D weights of a module with convolutions channels-last (NHWC).

    oneDNN's CPU convolutions work in that layout, so the weights are not reordered at every call
    and the activations stay in it from layer to layer; the arithmetic is unchanged (float
    rounding aside). Other devices and convolution-free modules are left as they are.
    """
    if device.type != "cpu":
        return
    convs = (torch.nn.Conv2d, torch.nn.ConvTranspose2d)
    if any(isinstance(m, convs) for m in module.modules()):
        module.to(memory_format=torch.channels_last)


def autocast_factory(device: torch.device, precision: str) -> Callable[[], AbstractContextManager]:
    """A zero-argument factory of the autocast context for ``precision`` (fp32 -> no-op)."""
    if precision == "fp32":
        return contextlib.nullcontext
    if precision == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError("train.precision=bf16 is not supported by this GPU")
        return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    raise ConfigError(f"train.precision must be fp32 or bf16, got {precision!r}")
