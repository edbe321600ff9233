"""The sweep directory and its records, all written atomically.

SWEEP_DIR/sweep.yaml             the sweep file as run (the last run's, on --resume)
SWEEP_DIR/trials.json            the manifest: every trial (id, experiment, point, seed, config)
SWEEP_DIR/trials/<id>/           a normal run directory per trial, plus
SWEEP_DIR/trials/<id>/result.json  the trial's final record (present = finished)
SWEEP_DIR/attempts/<id>.jsonl    one line per attempt (worker pid, host, resumed-from step)
SWEEP_DIR/faults/                markers of injected faults (so a fault fires once)
SWEEP_DIR/results.csv, figures/  written by `disentangled sweep-report`
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..io import atomic_write_text
from .expand import Trial

RESULT = "result.json"
STATUSES = ("done", "failed")


@dataclass(frozen=True)
class SweepDir:
    """Paths of one sweep."""

    path: Path

    @property
    def spec(self) -> Path:
        return self.path / "sweep.yaml"

    @property
    def manifest(self) -> Path:
        return self.path / "trials.json"

    @property
    def trials(self) -> Path:
        return self.path / "trials"

    @property
    def attempts(self) -> Path:
        return self.path / "attempts"

    @property
    def faults(self) -> Path:
        return self.path / "faults"

    @property
    def figures(self) -> Path:
        return self.path / "figures"

    def trial(self, trial_id: str) -> Path:
        return self.trials / trial_id

    def result_path(self, trial_id: str) -> Path:
        return self.trial(trial_id) / RESULT

    # ------------------------------------------------------------------ manifest

    def write_manifest(
        self, name: str, trials: list[Trial], overrides: tuple[str, ...] = ()
    ) -> None:
        record = {
            "name": name,
            "overrides": list(overrides),
            "trials": [t.to_dict() for t in trials],
        }
        atomic_write_text(self.manifest, json.dumps(record, indent=1) + "\n")

    def stored_overrides(self) -> list[str]:
        """The command-line overrides the sweep was last run with ([] when unreadable)."""
        try:
            return list(json.loads(self.manifest.read_text(encoding="utf-8")).get("overrides", []))
        except (OSError, ValueError, AttributeError):
            return []

    def read_manifest(self) -> tuple[str, list[Trial]]:
        """(sweep name, trials); a UserError when the folder is not a sweep directory."""
        try:
            record = json.loads(self.manifest.read_text(encoding="utf-8"))
            return record["name"], [Trial.from_dict(t) for t in record["trials"]]
        except FileNotFoundError:
            raise UserError(f"{self.path} is not a sweep directory (no trials.json)") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"cannot read {self.manifest}: {exc}") from None

    # ------------------------------------------------------------------ results

    def read_result(self, trial_id: str) -> dict[str, Any] | None:
        """The trial's final record, or None while it has none (or it is unreadable)."""
        try:
            record = json.loads(self.result_path(trial_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and record.get("status") in STATUSES else None

    def write_result(self, trial_id: str, record: dict[str, Any]) -> None:
        atomic_write_text(self.result_path(trial_id), json.dumps(record, indent=1) + "\n")

    def clear_result(self, trial_id: str) -> None:
        self.result_path(trial_id).unlink(missing_ok=True)

    # ------------------------------------------------------------------ attempts

    def log_attempt(self, trial_id: str, **fields: Any) -> int:
        """Append an attempt record (pid, host, time, ``fields``); returns its 1-based number."""
        self.attempts.mkdir(parents=True, exist_ok=True)
        n = len(self.read_attempts(trial_id)) + 1
        record = {
            "attempt": n,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "time": round(time.time(), 3),
            **fields,
        }
        path = self.attempts / f"{trial_id}.jsonl"
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return n

    def read_attempts(self, trial_id: str) -> list[dict[str, Any]]:
        path = self.attempts / f"{trial_id}.jsonl"
        out = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a torn last line of a killed attempt
        return out


def is_finished(result: dict[str, Any] | None, config: dict[str, Any]) -> bool:
    """Whether a trial with this final record needs no more work under ``config``: failed, or
    trained to the configured steps, or stopped by a time limit that has not changed."""
    if result is None:
        return False
    if result["status"] == "failed":
        return True
    train = config.get("train", {})
    if int(result.get("step", 0)) >= int(train.get("steps", 0)):
        return True
    return result.get("time_limit") is not None and result.get("time_limit") == train.get(
        "time_limit"
    )
