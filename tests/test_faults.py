"""Faults: a killed writer, a full disk, NaN/Inf in inputs and gradients, locks."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from disentangled.cli import main
from disentangled.config import load_config
from disentangled.errors import RunWriteError, TrainingDiverged, UserError
from disentangled.train import RunDir, list_checkpoints, load_checkpoint, train
from disentangled.train.rundir import RunLock
from disentangled.train.runlog import read_metrics

FAST = ["subset=2000", "progress=false", "log_every=2", "batch_size=16", "diagnostics_every=0"]


def _cfg(*extra):
    return load_config(preset="betavae-dsprites", overrides=[*FAST, *extra])


def test_second_process_is_refused_while_the_first_holds_the_lock(tmp_path):
    cfg = _cfg("steps=2")
    run = RunDir.create(tmp_path / "r", cfg)
    with run.lock():
        with pytest.raises(UserError, match=f"in use by process {os.getpid()}"):
            train(cfg, run)
        with pytest.raises(UserError, match="in use"):
            RunDir.create(tmp_path / "r", cfg, overwrite=True)
    train(cfg, run)  # free again


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    cfg = _cfg("steps=2")
    run = RunDir.create(tmp_path / "r", cfg)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    (run.path / ".lock").write_text(json.dumps({"pid": int(dead.stdout), "host": "h"}))
    train(cfg, run)
    events = [r for r in read_metrics(run.metrics) if r.get("event") == "stale_lock"]
    assert events and str(int(dead.stdout)) in events[0]["message"]
    lock = RunLock(run.path).acquire()  # released after the run
    lock.release()


def test_disk_full_while_checkpointing_is_a_clear_error(tmp_path, monkeypatch, capsys):
    import disentangled.train.checkpoint as ckpt_mod

    cfg = _cfg("steps=6", "checkpoint_every=2")
    run = RunDir.create(tmp_path / "r", cfg)
    real = ckpt_mod.atomic_write_bytes
    calls = {"n": 0}

    def flaky(path, data, **kw):
        calls["n"] += 1
        if calls["n"] >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data, **kw)

    monkeypatch.setattr(ckpt_mod, "atomic_write_bytes", flaky)
    with pytest.raises(RunWriteError, match="No space left on device; the previous checkpoint"):
        train(cfg, run)
    good = list_checkpoints(run.checkpoints)
    assert [p.name for p in good] == ["step_000000002.safetensors"]
    load_checkpoint(good[0])
    assert not [p for p in run.checkpoints.iterdir() if p.name.startswith(".")]
    # through the CLI: one line, exit code 2
    calls["n"] = 0
    assert (
        main(
            [
                "train",
                "--preset",
                "betavae-dsprites",
                "--out",
                str(tmp_path / "c"),
                "steps=6",
                "checkpoint_every=2",
                *FAST,
            ]
        )
        == 2
    )
    assert "No space left" in capsys.readouterr().err


def test_nan_input_is_named(tmp_path):
    from disentangled.data import load_dataset

    cfg = _cfg("steps=10")
    run = RunDir.create(tmp_path / "r", cfg)
    ds = load_dataset("dsprites", subset=2000, seed=0)
    real_batch, calls = ds.batch, {"n": 0}

    def poisoned(index, device):
        calls["n"] += 1
        x = real_batch(index, device)
        if calls["n"] == 4:
            x[0, 0, 0, 0] = float("nan")
        return x

    ds.batch = poisoned
    with pytest.raises(TrainingDiverged, match="step 3: the input batch contains NaN"):
        train(cfg, run, dataset=ds)


def _poison_grad_once(monkeypatch, at_step: int):
    """Make the encoder's first-layer gradient NaN at one optimizer step."""
    from disentangled.objectives.vae import BetaVAEObjective

    original = BetaVAEObjective.loss

    def loss(self, model, x, step, generator):
        terms = original(self, model, x, step, generator)
        if step == at_step and not getattr(self, "_poisoned", False):
            self._poisoned = True

            def hook(grad):
                handle.remove()  # one poisoned backward pass only
                return grad * float("nan")

            handle = next(model.encoder.parameters()).register_hook(hook)
        return terms

    monkeypatch.setattr(BetaVAEObjective, "loss", loss)


def test_nan_gradient_is_named_and_last_checkpoint_kept(tmp_path, monkeypatch):
    _poison_grad_once(monkeypatch, at_step=5)
    cfg = _cfg("steps=10", "checkpoint_every=4")
    run = RunDir.create(tmp_path / "r", cfg)
    with pytest.raises(TrainingDiverged, match="non-finite gradient at step 5: parameter 'encoder"):
        train(cfg, run)
    ckpt = load_checkpoint(list_checkpoints(run.checkpoints)[-1])
    assert ckpt.step == 4
    assert all(torch.isfinite(t).all() for t in ckpt.section("model").values())


def test_rollback_reloads_and_lowers_the_learning_rate(tmp_path, monkeypatch):
    _poison_grad_once(monkeypatch, at_step=5)
    cfg = _cfg("steps=10", "checkpoint_every=4", "on_nonfinite=rollback", "rollback_lr_factor=0.5")
    run = RunDir.create(tmp_path / "r", cfg)
    s = train(cfg, run)
    assert s.step == 10
    assert s.optimizers["main"].param_groups[0]["lr"] == pytest.approx(2.5e-4)
    events = [r["event"] for r in read_metrics(run.metrics) if "event" in r]
    assert events == ["diverged", "rollback"]
    assert all(torch.isfinite(p).all() for p in s.model.parameters())


def test_sigkill_during_a_checkpoint_write_loses_nothing(tmp_path):
    """Kill -9 while the step-8 checkpoint's temporary file is synced but not yet renamed: the
    step-4 checkpoint is intact, resume continues, and the result equals an uninterrupted run
    bit for bit (CPU)."""
    args = ["steps=16", "checkpoint_every=4", *FAST]
    straight = tmp_path / "straight"
    assert main(["train", "--preset", "betavae-dsprites", "--out", str(straight), *args]) == 0

    killed = tmp_path / "killed"
    env = dict(os.environ, DISENTANGLED_TEST_STALL_CHECKPOINT="8:120")
    cmd = [
        sys.executable,
        "-m",
        "disentangled",
        "train",
        "--preset",
        "betavae-dsprites",
        "--out",
        str(killed),
        *args,
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = killed / "checkpoints"
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            if folder.is_dir() and any(
                p.name.startswith(".step_000000008") for p in folder.iterdir()
            ):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the checkpoint writer never reached its stall point")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert [p.name for p in list_checkpoints(folder)] == ["step_000000004.safetensors"]
    assert load_checkpoint(folder / "step_000000004.safetensors").step == 4

    assert main(["train", "--resume", str(killed), "progress=false"]) == 0
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    a = load_checkpoint(straight / "checkpoints" / "step_000000016.safetensors").section("model")
    b = load_checkpoint(folder / "step_000000016.safetensors").section("model")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    events = [r.get("event") for r in read_metrics(killed / "metrics.jsonl")]
    assert "stale_lock" in events
