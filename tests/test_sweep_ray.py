"""A whole sweep on a local Ray instance (2 CPUs): killed workers are retried from their last
checkpoint, failures are recorded without stopping the sweep, --resume skips finished trials.
Needs the ``sweep`` extra (``pip install -e '.[sweep]'``); skipped without Ray."""

from __future__ import annotations

import csv
import os

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[sweep]')")

from disentangled.cli import main  # noqa: E402
from disentangled.errors import UserError  # noqa: E402
from disentangled.sweep import SweepDir, load_sweep, run_sweep  # noqa: E402
from disentangled.train.runlog import read_metrics  # noqa: E402

SWEEP = """\
name: ray-test
seeds: 2
steps: 6
overrides: [subset=500, batch_size=16, diagnostics_every=0, log_every=1, checkpoint_every=2]
resources: {cpus: 1}
max_retries: 2
eval: {metrics: [sap], num_train: 100}
inject_fault:
  - {trials: bvae_beta=1_seed0, kill_at_batch: 3}  # after the checkpoint at step 2
  - {trials: bvae_beta=4_seed1, kill_at_batch: 1}  # before the first checkpoint
  - {trials: nan_, nan_at_batch: 2}
experiments:
  - {name: bvae, preset: betavae-dsprites, grid: {beta: [1, 4]}}
  - {name: nan, preset: betavae-dsprites, grid: {beta: [3]}, seeds: [0]}
  - {name: bad, preset: betavae-dsprites, grid: {beta: [-1]}, seeds: [0]}
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """One Ray session for the module; the sweep run once through the command line."""
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False)
    folder = tmp_path_factory.mktemp("sweep")
    (folder / "s.yaml").write_text(SWEEP)
    code = main(["sweep", str(folder / "s.yaml"), "--out", str(folder / "out"), "--no-report"])
    yield folder, code
    ray.shutdown()


def _by_experiment(sd: SweepDir) -> dict[str, list]:
    _, trials = sd.read_manifest()
    out: dict[str, list] = {}
    for t in trials:
        out.setdefault(t.id.rsplit("_seed", 1)[0], []).append(t)
    return out


def test_every_trial_finishes_once_with_its_results(swept):
    folder, code = swept
    sd = SweepDir(folder / "out")
    _, trials = sd.read_manifest()
    assert code == 1  # some trials failed (recorded), the sweep itself completed
    assert sorted(os.listdir(sd.trials)) == sorted(t.id for t in trials)  # none lost or extra
    groups = _by_experiment(sd)
    assert sorted(groups) == ["bad_beta=-1", "bvae_beta=1", "bvae_beta=4", "nan_beta=3"]
    for t in groups["bvae_beta=1"] + groups["bvae_beta=4"]:
        record = sd.read_result(t.id)
        assert record["status"] == "done" and record["step"] == 6
        steps = [r["step"] for r in read_metrics(sd.trial(t.id) / "metrics.jsonl") if "loss" in r]
        assert steps == [1, 2, 3, 4, 5, 6]  # no step lost or logged twice
        assert (sd.trial(t.id) / "eval" / "metrics.json").is_file()
        assert "eval_error" not in record


def test_killed_workers_were_retried_from_their_last_checkpoint(swept):
    folder, _ = swept
    sd = SweepDir(folder / "out")
    resumed = {
        name: [[a["resumed_from"] for a in sd.read_attempts(t.id)] for t in ts]
        for name, ts in _by_experiment(sd).items()
    }
    # beta=1 seed 0 died after its checkpoint at step 2, beta=4 seed 1 before its first one
    assert resumed["bvae_beta=1"] == [[None, 2], [None]]
    assert resumed["bvae_beta=4"] == [[None], [None, None]]
    assert resumed["nan_beta=3"] == [[None]] and resumed["bad_beta=-1"] == [[]]
    assert sorted(p.name.split("_seed")[0] for p in sd.faults.iterdir()) == [
        "bvae_beta=1",
        "bvae_beta=4",
    ]


def test_failures_are_recorded_and_shown_in_the_table(swept):
    folder, _ = swept
    out = folder / "out"
    assert main(["sweep-report", str(out)]) == 0
    with open(out / "results.csv", newline="") as f:
        rows = {r["trial"].rsplit("_", 1)[0]: r for r in csv.DictReader(f)}  # id without hash
    assert len(rows) == 6
    assert rows["nan_beta=3_seed0"]["status"] == "failed"
    assert rows["nan_beta=3_seed0"]["error"] == "TrainingDiverged"
    assert "non-finite" in rows["nan_beta=3_seed0"]["message"]
    assert rows["bad_beta=-1_seed0"]["error"] == "ConfigError"
    assert "objective.beta" in rows["bad_beta=-1_seed0"]["message"]
    assert {rows[k]["status"] for k in rows if k.startswith("bvae")} == {"done"}


def test_resume_skips_finished_trials_and_continues_an_interrupted_one(swept):
    folder, _ = swept
    sd = SweepDir(folder / "out")
    spec = load_sweep(folder / "s.yaml")
    _, trials = sd.read_manifest()
    with pytest.raises(UserError, match="pass --resume"):
        run_sweep(spec, sd.path, log=lambda line: None)
    before = {t.id: len(sd.read_attempts(t.id)) for t in trials}
    outcome = run_sweep(spec, sd.path, resume=True, log=lambda line: None)
    assert (outcome.ran, outcome.skipped, outcome.total) == (0, 6, 6)
    assert {t.id: len(sd.read_attempts(t.id)) for t in trials} == before
    # the machine is lost after the checkpoint at step 4 of one trial: no step-6 checkpoint and
    # no final record, but its metrics were logged up to step 6
    lost = next(t for t in trials if t.id.startswith("bvae_beta=4_seed0"))
    (sd.trial(lost.id) / "checkpoints" / "step_000000006.safetensors").unlink()
    sd.clear_result(lost.id)
    outcome = run_sweep(spec, sd.path, resume=True, log=lambda line: None)
    assert (outcome.ran, outcome.skipped) == (1, 5)
    assert [a["resumed_from"] for a in sd.read_attempts(lost.id)] == [None, 4]
    steps = [r["step"] for r in read_metrics(sd.trial(lost.id) / "metrics.jsonl") if "loss" in r]
    assert steps == [1, 2, 3, 4, 5, 6] and sd.read_result(lost.id)["step"] == 6


def test_a_task_whose_worker_always_dies_is_recorded_as_lost():
    from disentangled.sweep.runner import WorkerLost, _failure

    err = _failure(ray.exceptions.WorkerCrashedError(), 2, ray)
    assert isinstance(err, WorkerLost) and "all 3 attempt(s)" in str(err)
