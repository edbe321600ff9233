"""Schedules of the training step: linear capacity C(t) = min(C_max, C_max * t / T)."""

from __future__ import annotations


def linear_capacity(step: int, capacity_max: float, capacity_steps: int) -> float:
    """C(t) in nats at optimizer step t: linear 0 -> ``capacity_max`` over ``capacity_steps``."""
    if capacity_steps <= 0:
        return float(capacity_max)
    return float(capacity_max) * min(1.0, step / capacity_steps)
