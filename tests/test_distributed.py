"""Multi-process training under torchrun (2 CPU processes, gloo)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import torch

from disentangled.cli import main
from disentangled.train import load_checkpoint
from disentangled.train.runlog import read_metrics

ARGS = [
    "subset=2000",
    "batch_size=32",
    "log_every=5",
    "progress=false",
    "diagnostics_every=0",
    "checkpoint_every=10",
]
TORCHRUN = shutil.which("torchrun", path=os.path.dirname(sys.executable))


def _torchrun(*argv: str) -> None:
    cmd = [TORCHRUN, "--standalone", "--nproc_per_node=2", "-m", "disentangled", "train", *argv]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]


def _model(run, step):
    return load_checkpoint(run / "checkpoints" / f"step_{step:09d}.safetensors").section("model")


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun is not installed beside this Python")
def test_two_processes_stay_in_sync_match_one_process_and_resume_exactly(tmp_path):
    ddp, half, single = tmp_path / "ddp", tmp_path / "half", tmp_path / "single"
    _torchrun("--preset", "betavae-dsprites", "--out", str(ddp), "steps=40", *ARGS)
    events = [r for r in read_metrics(ddp / "metrics.jsonl") if r.get("event") == "ranks_in_sync"]
    assert events == [
        {"step": 40, "event": "ranks_in_sync", "max_parameter_spread": 0.0, "world_size": 2}
    ]

    # resume: 20 steps, then 20 more, equals 40 straight (every rank's noise generator is saved)
    _torchrun("--preset", "betavae-dsprites", "--out", str(half), "steps=20", *ARGS)
    _torchrun("--resume", str(half), "steps=40", "progress=false")
    a, b = _model(ddp, 40), _model(half, 40)
    assert all(torch.equal(a[k], b[k]) for k in a)

    # one process at the same global batch draws the same images; only the reparameterisation
    # noise differs, so the loss curves agree closely (the loss falls from ~2800 to ~600 nats)
    assert (
        main(["train", "--preset", "betavae-dsprites", "--out", str(single), "steps=40", *ARGS])
        == 0
    )
    curve = {}
    for name, run in (("ddp", ddp), ("single", single)):
        curve[name] = [r["loss"] for r in read_metrics(run / "metrics.jsonl") if "loss" in r]
    assert len(curve["ddp"]) == len(curve["single"]) == 8
    tail = {k: sum(v[-3:]) / 3 for k, v in curve.items()}
    assert abs(tail["ddp"] - tail["single"]) / tail["single"] < 0.05, curve


def test_end_distributed_leaves_the_group(tmp_path):
    import torch.distributed as dist

    from disentangled.train.distributed import end_distributed

    end_distributed()  # no group: nothing to do
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    assert dist.is_initialized()
    end_distributed()
    assert not dist.is_initialized()
