"""Capacity monitor: say, once and in plain words, when a capacity C(t) stops buying information.

Two situations are reported:
- C(t) exceeds what the code can carry: I(x;z) <= log N for N training images (continuous code),
  I(x;c) <= sum_i log K_i for categoricals. A KL target above the bound can only be met by
  KL(q(z)||p(z)), the aggregate posterior drifting away from the factorised prior.
- KL(q(z)||p(z)) grows while I(x;z) has stopped growing (over the last ``window`` diagnostics),
  provided the I(x;z) estimate is below its ceiling log n (otherwise the estimate, not the model,
  has saturated, and that is said instead).
"""

from __future__ import annotations

import math
from typing import Any


def _above(logged: Any, bound: float) -> bool:
    """Whether a capacity logged in float32 is above ``bound`` by more than its rounding (a
    capacity capped or clipped at the bound may be logged just above it)."""
    return isinstance(logged, float) and logged > bound * (1.0 + 1e-6)


class CapacityMonitor:
    """Feed :meth:`update` the training record and the diagnostics record of one step."""

    def __init__(
        self,
        dataset_size: int,
        disc_bound: float = 0.0,
        window: int = 3,
        mi_flat: float = 0.05,
        kl_growth: float = 0.25,
    ) -> None:
        self.cont_bound = math.log(dataset_size)
        self.disc_bound = disc_bound
        self.window = window
        self.mi_flat = mi_flat
        self.kl_growth = kl_growth
        self.history: list[dict[str, Any]] = []
        self.warned: set[str] = set()

    def update(self, step: int, train_record: dict[str, Any], diag: dict[str, Any]) -> list[str]:
        """Returns the warnings raised for the first time at this step."""
        new: list[str] = []
        c_cont = train_record.get("capacity_cont", train_record.get("capacity"))
        if _above(c_cont, self.cont_bound):
            new += self._once(
                "cont_bound",
                f"step {step}: the capacity C = {c_cont:.2f} nats exceeds log N = "
                f"{self.cont_bound:.2f} nats, the most information a code can carry about "
                f"{math.exp(self.cont_bound):,.0f} training images; the surplus can only be "
                "paid as KL(q(z)||p(z)), an aggregate posterior that drifts from the prior "
                "and entangles",
            )
        c_disc = train_record.get("capacity_disc")
        if self.disc_bound and _above(c_disc, self.disc_bound):
            new += self._once(
                "disc_bound",
                f"step {step}: the discrete capacity {c_disc:.3f} nats exceeds sum log K = "
                f"{self.disc_bound:.3f} nats, the most a categorical code can carry",
            )
        if "mi" in diag:
            self.history.append({"step": step, "mi": diag["mi"], "kl_qz_pz": diag["kl_qz_pz"]})
            new += self._check_trend(step, diag)
        return new

    def _check_trend(self, step: int, diag: dict[str, Any]) -> list[str]:
        if len(self.history) <= self.window:
            return []
        old, now = self.history[-1 - self.window], self.history[-1]
        d_mi, d_kl = now["mi"] - old["mi"], now["kl_qz_pz"] - old["kl_qz_pz"]
        if d_mi >= self.mi_flat or d_kl <= self.kl_growth:
            return []
        if now["mi"] > diag["mi_ceiling"] - 0.5:
            return self._once(
                "ceiling",
                f"step {step}: the I(x;z) estimate ({now['mi']:.2f} nats) is at its ceiling "
                f"log n = {diag['mi_ceiling']:.2f} of the diagnostic sample; raise "
                "train.diagnostics_samples to see whether information is still growing",
            )
        return self._once(
            "trend",
            f"step {step}: KL(q(z)||p(z)) grew by {d_kl:.2f} nats over the last {self.window} "
            f"diagnostics while I(x;z) changed by {d_mi:+.2f}: extra capacity is buying divergence "
            "from the prior (entanglement), not information",
        )

    def _once(self, key: str, message: str) -> list[str]:
        if key in self.warned:
            return []
        self.warned.add(key)
        return [message]
