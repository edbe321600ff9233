"""One trial as a worker runs it: resume after a killed process, restart before the first
checkpoint, failures recorded, more steps continue. Real processes, no Ray needed."""

from __future__ import annotations

import json
import multiprocessing
import signal
import sys

import pytest

from disentangled.sweep import SweepDir, TrialOptions, expand, parse_sweep, run_trial
from disentangled.sweep.spec import FaultSpec
from disentangled.sweep.state import is_finished
from disentangled.train.runlog import read_metrics

SWEEP = (
    "preset: betavae-dsprites\nseeds: [0]\nsteps: {steps}\n"
    "overrides: [subset=500, batch_size=16, diagnostics_every=0, log_every=1, "
    "checkpoint_every={every}]\n"
)


def _trial(steps=6, every=2):
    spec = parse_sweep(SWEEP.format(steps=steps, every=every), name="t", where="t", folder=None)
    (trial,) = expand(spec)
    return trial


def _attempt(sweep_dir, trial, kill_at_batch) -> int:
    """One attempt in its own (forked) process, as a Ray worker runs it; its exit code."""
    faults = (FaultSpec(trials="", kill_at_batch=kill_at_batch),)
    proc = multiprocessing.get_context("fork").Process(
        target=run_trial, args=(sweep_dir, trial, TrialOptions(faults=faults))
    )
    proc.start()
    proc.join(timeout=300)
    return proc.exitcode


def _losses(sd: SweepDir, trial_id: str) -> list[tuple[int, float]]:
    records = read_metrics(sd.trial(trial_id) / "metrics.jsonl")
    return [(r["step"], r["loss"]) for r in records if "loss" in r]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted trial's (step, loss) records."""
    sd = SweepDir(tmp_path_factory.mktemp("ref"))
    trial = _trial()
    record = run_trial(sd.path, trial, TrialOptions())
    assert record["status"] == "done"
    return _losses(sd, trial.id)


@pytest.mark.parametrize(("kill_at", "resumed_from"), [(5, 4), (1, None)])
def test_a_killed_trial_continues_from_its_last_checkpoint_or_starts_again(
    tmp_path, reference, kill_at, resumed_from
):
    sd, trial = SweepDir(tmp_path), _trial()
    assert _attempt(tmp_path, trial, kill_at) == -signal.SIGKILL
    assert sd.read_result(trial.id) is None  # no final record from a dead attempt
    assert _attempt(tmp_path, trial, kill_at) == 0  # the marker file stops a second kill
    record = sd.read_result(trial.id)
    assert record["status"] == "done" and record["step"] == 6
    attempts = sd.read_attempts(trial.id)
    assert [a["attempt"] for a in attempts] == [1, 2]
    assert [a["resumed_from"] for a in attempts] == [None, resumed_from]
    # every step logged once, and the same losses as the run that was never interrupted
    assert _losses(sd, trial.id) == reference


def test_a_diverging_trial_is_recorded_as_failed_with_its_message(tmp_path):
    sd, trial = SweepDir(tmp_path), _trial()
    options = TrialOptions(faults=(FaultSpec(trials=trial.id, nan_at_batch=3),))
    record = run_trial(tmp_path, trial, options)
    assert record["status"] == "failed" and record["error"] == "TrainingDiverged"
    assert "step 2" in record["message"] and "NaN" in record["message"]
    assert sd.read_result(trial.id) == record


def test_an_invalid_config_is_recorded_as_failed_without_a_run(tmp_path):
    spec = parse_sweep(
        "preset: betavae-dsprites\ngrid: {beta: [-1, 1]}\n", name="t", where="t", folder=None
    )
    bad = expand(spec)[0]
    record = run_trial(tmp_path, bad, TrialOptions())
    assert record["error"] == "ConfigError" and "objective.beta" in record["message"]
    assert not (SweepDir(tmp_path).trial(bad.id) / "config.yaml").exists()


def test_more_steps_continue_a_finished_trial_under_the_same_id(tmp_path, reference):
    sd, short = SweepDir(tmp_path), _trial(steps=4)
    done = run_trial(tmp_path, short, TrialOptions())
    longer = _trial(steps=6)
    assert longer.id == short.id
    assert is_finished(done, short.config) and not is_finished(done, longer.config)
    record = run_trial(tmp_path, longer, TrialOptions())
    assert record["step"] == 6
    assert [a["resumed_from"] for a in sd.read_attempts(short.id)] == [None, 4]
    assert _losses(sd, short.id) == reference


def test_a_metric_that_cannot_score_is_dropped_and_the_others_kept(tmp_path):
    sd, trial = SweepDir(tmp_path), _trial(steps=2)
    options = TrialOptions(
        metrics=("discrete_code", "sap"), sizes={"sap": {"num_train": 100, "num_test": 100}}
    )
    record = run_trial(tmp_path, trial, options)
    assert record["status"] == "done"
    assert record["eval_error"].startswith("discrete_code: ")
    scores = json.loads((sd.trial(trial.id) / "eval" / "metrics.json").read_text())["metrics"]
    assert list(scores) == ["sap"] and 0.0 <= scores["sap"]["SAP_score"] <= 1.0


def test_finished_means_failed_or_trained_to_the_steps_or_stopped_by_the_same_time_limit():
    cfg = {"train": {"steps": 10, "time_limit": None}}
    assert not is_finished(None, cfg)
    assert is_finished({"status": "failed"}, cfg)
    assert is_finished({"status": "done", "step": 10}, cfg)
    assert not is_finished({"status": "done", "step": 6, "time_limit": None}, cfg)
    limited = {"train": {"steps": 10, "time_limit": 5.0}}
    assert is_finished({"status": "done", "step": 6, "time_limit": 5.0}, limited)
    assert not is_finished({"status": "done", "step": 6, "time_limit": 5.0}, cfg)


def test_without_ray_the_sweep_command_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    from disentangled.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    (tmp_path / "s.yaml").write_text(SWEEP.format(steps=2, every=2))
    assert main(["sweep", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")]) == 2
    assert "pip install 'disentangled[sweep]'" in capsys.readouterr().err
