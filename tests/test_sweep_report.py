"""The sweep table and figures from a constructed sweep directory (no training, no Ray)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from disentangled.cli import main
from disentangled.sweep import SweepDir, expand, parse_sweep
from disentangled.sweep.analysis import grouped, metric_columns, rank_correlation
from disentangled.sweep.report import summary, write_report
from disentangled.sweep.table import collect

SWEEP = "experiments:\n  - {preset: betavae-dsprites, grid: {beta: [1, 4]}, seeds: 3}\n"
MIG = [0.1, 0.3, 0.2, 0.6, 0.5, 0.4]  # per trial: beta=1 seeds 0..2, beta=4 seeds 0..2


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def sweep_dir(tmp_path):
    """Six trials: four done with scores, one failed, one incomplete (no record yet)."""
    trials = expand(parse_sweep(SWEEP, name="s", where="s", folder=None))
    sd = SweepDir(tmp_path)
    sd.write_manifest("s", trials)
    for i, t in enumerate(trials):
        folder = sd.trial(t.id)
        (folder / "eval").mkdir(parents=True)
        (folder / "config.yaml").write_text("{}\n")
        records = [
            {"step": 5, "loss": 9.0, "recon": 8.0},
            {"step": 5, "kind": "diagnostics", "mi": 1.5 + i, "active_units": 2},
            {"step": 10, "loss": 7.0 - i, "recon": 6.0, "kl_dims": [0.1, 0.2]},
            {"step": 10, "event": "warning", "message": "x"},
        ]
        _write_jsonl(folder / "metrics.jsonl", records)
        scores = {"mig": {"discrete_mig": MIG[i]}, "sap": {"SAP_score": -MIG[i]}}
        scores["dci"] = {"disentanglement": MIG[i] ** 3, "completeness": 0.5}
        (folder / "eval" / "metrics.json").write_text(json.dumps({"metrics": scores, "step": 10}))
        if i == 0:
            sd.log_attempt(t.id, resumed_from=None)
        if i == 4:
            sd.write_result(t.id, {"status": "failed", "error": "TrainingDiverged", "message": "m"})
        elif i != 5:
            sd.write_result(t.id, {"status": "done", "step": 10, "attempts": 1})
    return sd, trials


def test_one_row_per_trial_with_status_losses_diagnostics_and_scores(sweep_dir):
    sd, trials = sweep_dir
    rows = collect(sd.path)
    assert [r["trial"] for r in rows] == [t.id for t in trials]
    assert [r["status"] for r in rows] == ["done"] * 4 + ["failed", "incomplete"]
    assert rows[4]["error"] == "TrainingDiverged" and rows[4]["message"] == "m"
    assert [r["final.loss"] for r in rows] == [7.0 - i for i in range(6)]
    assert "final.kl_dims" not in rows[0] and "final.step" not in rows[0]
    assert [r["diag.mi"] for r in rows] == [1.5 + i for i in range(6)]
    assert [r["eval.mig.discrete_mig"] for r in rows] == MIG
    assert [r["hp.beta"] for r in rows] == [1, 1, 1, 4, 4, 4]
    assert [r["seed"] for r in rows] == [0, 1, 2] * 2
    assert rows[0]["config.objective.beta"] == 1 and rows[0]["method"] == "betavae"
    assert [r["attempts"] for r in rows] == [1, 0, 0, 0, 0, 0]


def test_csv_holds_every_row_and_column(sweep_dir):
    sd, trials = sweep_dir
    report = write_report(sd.path)
    with open(report.tables[0], newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["trial"] for r in table] == [t.id for t in trials]
    assert table[4]["status"] == "failed" and table[4]["message"] == "m"
    assert [float(r["eval.mig.discrete_mig"]) for r in table] == MIG
    assert set(table[0]) == {k for r in report.rows for k in r}


def test_rank_correlation_of_constructed_metrics():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    d = rng.normal(size=40)
    rows = [
        {"status": "done", "a": float(v), "b": float(v**3), "c": float(-v), "d": float(w), "k": 1}
        for v, w in zip(x, d, strict=True)
    ]
    rows[3]["b"] = float("nan")  # dropped pairwise only
    rows.append({"status": "failed", "a": 100.0, "b": -100.0, "c": 0.0, "d": 0.0, "k": 1})
    rho, n = rank_correlation(rows, ["a", "b", "c", "d", "k"])
    assert rho[0, 1] == pytest.approx(1.0) and rho[0, 2] == pytest.approx(-1.0)
    assert rho[0, 3] == pytest.approx(spearmanr(x, d).statistic)
    assert np.allclose(rho[:4, :4], rho[:4, :4].T) and np.allclose(np.diag(rho)[:4], 1.0)
    assert n[0, 1] == 39 and n[0, 3] == 40  # the failed trial is never counted
    assert np.isnan(rho[4]).all()  # a constant score has no ranks


def test_figures_and_groups_follow_the_headline_scores(sweep_dir):
    sd, trials = sweep_dir
    rows = collect(sd.path)
    cols = metric_columns(rows)
    assert cols == ["eval.mig.discrete_mig", "eval.sap.SAP_score", "eval.dci.disentanglement"]
    groups = grouped(rows, cols[0], ("experiment", "params"))
    assert groups == {
        ("betavae-dsprites", "beta=1"): MIG[:3],
        ("betavae-dsprites", "beta=4"): [MIG[3]],
    }
    report = write_report(sd.path)
    assert set(report.figures) == {
        "metric_mig",
        "metric_sap",
        "metric_dci",
        "metrics_by_method",
        "rank_correlation",
    }
    for path in report.figures.values():
        assert path.parent == sd.figures and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_lists_failures_and_medians_over_seeds(sweep_dir):
    sd, _ = sweep_dir
    lines = summary(collect(sd.path))
    assert lines[0] == "6 trial(s): 4 done, 1 failed, 1 incomplete"
    assert any(line.endswith("TrainingDiverged: m") for line in lines)
    medians = {line.split()[1]: line.split()[2:] for line in lines if "betavae-dsprites" in line}
    assert medians["beta=1"][0] == f"{np.median(MIG[:3]):.3f}"
    assert medians["beta=4"][0] == f"{MIG[3]:.3f}"  # the only done seed of beta=4


def test_sweep_report_command_and_a_folder_that_is_not_a_sweep(sweep_dir, tmp_path, capsys):
    sd, _ = sweep_dir
    assert main(["sweep-report", str(sd.path)]) == 0
    out = capsys.readouterr().out
    assert "results.csv" in out and "rank_correlation.png" in out
    assert main(["sweep-report", str(tmp_path / "nope")]) == 2
    assert "not a sweep directory" in capsys.readouterr().err


def test_parquet_holds_the_same_table_when_pyarrow_is_installed(sweep_dir):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed")
    sd, trials = sweep_dir
    report = write_report(sd.path)
    assert [p.name for p in report.tables] == ["results.csv", "results.parquet"]
    table = pq.read_table(report.tables[1]).to_pylist()
    assert [r["trial"] for r in table] == [t.id for t in trials]
    assert [r["eval.mig.discrete_mig"] for r in table] == MIG
    assert [r["status"] for r in table] == ["done"] * 4 + ["failed", "incomplete"]
    assert table[0]["hp.beta"] == 1.0 and table[0]["config.model.disc"] == "[]"
