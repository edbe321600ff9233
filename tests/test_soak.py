"""The soak test (slow): hours-scale training under random SIGKILLs, via ``benchmarks/soak.py``.

    pytest -m slow tests/test_soak.py                                 # one hour
    DISENTANGLED_SOAK_SECONDS=150 pytest -m slow tests/test_soak.py   # a short check

Durations under 30 minutes kill every 20-60 s, checkpoint every 10 s and run the diagnostics
every 200 steps (so that children live past their warm-up); the hour kills every 60-300 s and
checkpoints every minute, as the issue asks, with the config's diagnostics (every 1000 steps).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"
SECONDS = float(os.environ.get("DISENTANGLED_SOAK_SECONDS", "3600"))


def soak_options(seconds: float) -> list[str]:
    if seconds >= 1800:
        return ["--kill-min", "60", "--kill-max", "300", "--checkpoint-seconds", "60"]
    return [
        "--kill-min", "20", "--kill-max", "60", "--checkpoint-seconds", "10",
        "--sample-seconds", "1", "--warmup-seconds", "10", "--diagnostics-every", "200",
    ]  # fmt: skip


@pytest.mark.slow
def test_soak_under_random_kills(tmp_path) -> None:
    out = tmp_path / "soak.json"
    argv = [sys.executable, str(SCRIPT), "--seconds", str(SECONDS), "--out", str(out)]
    argv += ["--workdir", str(tmp_path / "work"), *soak_options(SECONDS)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=4 * SECONDS + 900)
    assert out.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    r = json.loads(out.read_text())
    children = r["children_detail"]
    # every child but the last was killed, and the last one reached the target
    assert r["kills"] >= 1 and all(c["outcome"] == "killed" for c in children[:-1])
    assert children[-1]["outcome"] in ("finished", "killed")
    # each restart resumed from a checkpoint no older than the previous one
    resumed = [c["resumed_from"] for c in children[1:] if c["resumed_from"] is not None]
    assert resumed == sorted(resumed)
    assert r["checkpoints"]["equal"], r["checkpoints"]  # bit for bit, optimizer and RNGs too
    assert r["final_loss"]["killed"] == r["final_loss"]["uninterrupted"]
    m, bound = r["memory"], r["max_growth"]
    assert m["children_past_warmup"] >= 2 and abs(m["growth"]) < bound["across"], m
    assert abs(m["uninterrupted"]["growth"]) < bound["within"], m["uninterrupted"]
    assert proc.returncode == 0 and r["passed"], r["checks"]
