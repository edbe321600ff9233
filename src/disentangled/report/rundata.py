"""What a report reads from a run directory: config, ``metrics.jsonl`` and ``eval/metrics.json``.

Missing or unreadable parts are recorded as notes rather than errors, so a report can still be
written for a run that crashed, was never evaluated, or has a partly written log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..errors import UserError
from ..train.rundir import RunDir
from ..train.runlog import read_metrics

EVAL_FILE = "metrics.json"


@dataclass
class RunInfo:
    """A run directory as read for a report."""

    run: RunDir
    config_text: str
    cfg: RunConfig | None
    records: list[dict[str, Any]]
    evaluation: dict[str, Any] | None
    notes: dict[str, str] = field(default_factory=dict)  # part -> why it is missing
    other_evaluations: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.run.path

    @property
    def name(self) -> str:
        return self.cfg.name if self.cfg is not None else self.run.path.name


def read_run(path: str | Path) -> RunInfo:
    """Read a run directory (must hold config.yaml; everything else is optional)."""
    run = RunDir.open(path)
    notes: dict[str, str] = {}
    try:
        text = run.config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {run.config}: {exc}") from None
    cfg = None
    try:
        cfg = run.load_config()
    except UserError as exc:
        notes["config"] = f"the config could not be validated: {exc}"
    records: list[dict[str, Any]] = []
    if run.metrics.is_file():
        try:
            records = read_metrics(run.metrics)
        except (OSError, UnicodeDecodeError) as exc:
            notes["metrics"] = f"cannot read {run.metrics}: {exc}"
    else:
        notes["metrics"] = "the run has no metrics.jsonl (it logged no step)"
    evaluation, why = read_evaluation(run.eval / EVAL_FILE)
    if why:
        notes["evaluation"] = why
    return RunInfo(run, text, cfg, records, evaluation, notes, read_other_evaluations(run.eval))


def read_evaluation(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the parsed ``eval/metrics.json``, None) or (None, why it is not there or not usable)."""
    if not path.is_file():
        return None, "not evaluated yet: run `disentangled evaluate RUN_DIR` to add the metrics"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path} could not be read: {exc}"
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        return None, f"{path} has no 'metrics' mapping"
    return data, None


def read_other_evaluations(folder: Path) -> dict[str, list[tuple[str, Any]]]:
    """Every other ``eval/*.json`` file holding a mapping, flattened to (dotted key, value) rows;
    unreadable files are left out."""
    out: dict[str, list[tuple[str, Any]]] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        if path.name == EVAL_FILE:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(data, dict):
            out[path.name] = _flatten(data)
    return out


def metric_rows(evaluation: dict[str, Any] | None) -> list[tuple[str, str, Any]]:
    """(metric, key, value) for every entry of ``evaluation['metrics']``; nested mappings give
    dotted keys; a metric whose value is not a mapping is one row with key ''."""
    if not evaluation:
        return []
    rows: list[tuple[str, str, Any]] = []
    for metric, result in evaluation.get("metrics", {}).items():
        if isinstance(result, dict):
            for key, value in _flatten(result):
                rows.append((str(metric), key, value))
        else:
            rows.append((str(metric), "", result))
    return rows


def evaluation_details(evaluation: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """The scalar top-level entries of an evaluation file besides ``metrics`` (step, seed, ...)."""
    if not evaluation:
        return []
    return [
        (str(k), v)
        for k, v in evaluation.items()
        if k != "metrics" and (v is None or isinstance(v, (str, int, float, bool)))
    ]


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _flatten(v, key + ".")
        else:
            out.append((key, v))
    return out


def run_labels(infos: list[RunInfo]) -> list[str]:
    """Short distinct labels: the directory name, widened with its parents where two collide."""
    depth = 1
    while True:
        labels = ["/".join(i.path.resolve().parts[-depth:]) for i in infos]
        if len(set(labels)) == len(labels) or depth > 8:
            break
        depth += 1
    if len(set(labels)) < len(labels):
        labels = [f"{lab} ({n})" for n, lab in enumerate(labels, 1)]
    return labels
