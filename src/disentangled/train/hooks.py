"""Periodic work inside the training loop: information diagnostics and graceful interruption."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import torch

from ..diagnostics import CapacityMonitor, dataset_batches, encode_posteriors, information_estimates

DIAG_SEED_OFFSET = 7919


class DiagnosticsHook:
    """Every ``train.diagnostics_every`` steps: I(x;z), KL(q(z)||p(z)), TC, dimension-wise KL,
    active units and the discrete codes' I(x;c), on a fixed sample of training images (full-data
    estimator over that sample, so I(x;z) <= log n). Uses its own RNG: training is unaffected."""

    def __init__(self, session) -> None:
        t = session.cfg.train
        self.s = session
        self.every = t.diagnostics_every
        n = min(t.diagnostics_samples, len(session.dataset))
        g = torch.Generator().manual_seed(t.seed + DIAG_SEED_OFFSET)
        self.index = torch.randperm(len(session.dataset), generator=g)[:n]
        self.monitor = CapacityMonitor(
            len(session.dataset), disc_bound=session.model.latent.disc_capacity_bound
        )

    @staticmethod
    def applies(session) -> bool:
        """Only models with an encoder posterior (the VAE family) have these quantities."""
        from ..models.kind import has_posterior

        return has_posterior(session.model)

    def due(self, step: int) -> bool:
        return self.every > 0 and (step % self.every == 0 or step == self.s.cfg.train.steps)

    @torch.no_grad()
    def run(self, step: int, train_record: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The diagnostics record for ``step`` and any new capacity warnings."""
        t0 = time.perf_counter()
        model = self.s.model
        was_training = model.training
        model.eval()
        try:
            post = encode_posteriors(
                model, dataset_batches(self.s.dataset, self.index, self.s.device)
            )
            g = torch.Generator().manual_seed(self.s.cfg.train.seed + DIAG_SEED_OFFSET + step)
            est = information_estimates(post, generator=g)
        finally:
            model.train(was_training)
        record = {"step": step, "kind": "diagnostics", **est}
        record["diagnostics_seconds"] = round(time.perf_counter() - t0, 4)
        return record, self.monitor.update(step, train_record, est)


class StopFlag:
    """SIGINT/SIGTERM set a flag checked at step boundaries, so the loop can checkpoint and stop
    cleanly; a second SIGINT interrupts at once. Only installed in the main thread."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
