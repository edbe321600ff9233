"""The sweep's table: one row per trial with its config, status, final losses, diagnostics and
evaluation scores, written as CSV (and Parquet when pyarrow is importable)."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from ..io import atomic_write_bytes, atomic_write_text
from ..train.runlog import read_metrics
from .expand import Trial
from .state import SweepDir

FIXED = (
    "trial",
    "experiment",
    "method",
    "params",
    "seed",
    "status",
    "error",
    "message",
    "step",
    "steps",
    "attempts",
    "train_seconds",
    "eval_seconds",
    "eval_step",
    "eval_error",
)
PREFIX_ORDER = ("hp.", "eval.", "final.", "diag.", "config.")


def point_label(params: dict[str, Any]) -> str:
    """``beta=4, gamma=2`` (``base`` for the base config)."""
    if not params:
        return "base"
    return ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


def collect(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """One row per trial of the manifest, in its order (see :data:`FIXED` and the prefixed
    columns ``hp.KEY``, ``eval.METRIC.KEY``, ``final.TERM``, ``diag.KEY``, ``config.SECTION.KEY``).
    Status is done or failed from the trial's record, else incomplete (a run directory without
    a final record) or pending (nothing yet)."""
    sd = SweepDir(Path(sweep_dir))
    _, trials = sd.read_manifest()
    return [_row(sd, t) for t in trials]


def _row(sd: SweepDir, t: Trial) -> dict[str, Any]:
    folder = sd.trial(t.id)
    result = sd.read_result(t.id) or {}
    if result:
        status = result["status"]
    else:
        status = "incomplete" if (folder / "config.yaml").is_file() else "pending"
    records = read_metrics(folder / "metrics.jsonl") if (folder / "metrics.jsonl").is_file() else []
    train = [r for r in records if "kind" not in r and "event" not in r]
    diag = [r for r in records if r.get("kind") == "diagnostics"]
    objective = t.config.get("objective", {}) if isinstance(t.config, dict) else {}
    steps = (t.config.get("train") or {}).get("steps") if isinstance(t.config, dict) else None
    row: dict[str, Any] = {
        "trial": t.id,
        "experiment": t.experiment,
        "method": objective.get("name") if isinstance(objective, dict) else None,
        "params": point_label(t.params),
        "seed": t.seed,
        "status": status,
        "error": result.get("error"),
        "message": result.get("message"),
        "step": result.get("step", train[-1]["step"] if train else None),
        "steps": steps,
        "attempts": len(sd.read_attempts(t.id)),
        "train_seconds": result.get("train_seconds"),
        "eval_seconds": result.get("eval_seconds"),
        "eval_step": None,
        "eval_error": result.get("eval_error"),
    }
    row.update({f"hp.{k}": _cell(v) for k, v in t.params.items()})
    evaluation = _read_json(folder / "eval" / "metrics.json")
    if evaluation:
        from ..evaluation.run import flatten

        row["eval_step"] = evaluation.get("step")
        row.update({f"eval.{k}": v for k, v in flatten(evaluation).items()})
    if train:
        row.update(_scalars("final.", train[-1], skip=("step",)))
    if diag:
        row.update(_scalars("diag.", diag[-1], skip=("step", "kind")))
    row.update(_flat("config.", t.config if isinstance(t.config, dict) else {}, skip=("name",)))
    return row


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _scalars(prefix: str, record: dict[str, Any], skip: tuple[str, ...]) -> dict[str, Any]:
    return {
        prefix + k: float(v)
        for k, v in record.items()
        if k not in skip and isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def _flat(prefix: str, mapping: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in mapping.items():
        if k in skip:
            continue
        if isinstance(v, dict):
            out.update(_flat(f"{prefix}{k}.", v))
        else:
            out[prefix + str(k)] = _cell(v)
    return out


def _cell(v: Any) -> Any:
    """A table cell: numbers, strings, booleans and None as they are; lists as JSON."""
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v)
    return v


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """The fixed columns, then every other column grouped by prefix and sorted."""
    seen = {k for r in rows for k in r}
    rest = sorted(seen - set(FIXED))
    ordered = [c for p in PREFIX_ORDER for c in rest if c.startswith(p)]
    ordered += [c for c in rest if c not in ordered]
    return [*FIXED, *ordered]


def to_csv(rows: list[dict[str, Any]]) -> str:
    cols = columns(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, restval="", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if r.get(k) is None else r.get(k) for k in cols})
    return buf.getvalue()


def write_tables(rows: list[dict[str, Any]], folder: Path) -> list[Path]:
    """``results.csv`` and, when pyarrow is importable, ``results.parquet``; returns the paths."""
    paths = [folder / "results.csv"]
    atomic_write_text(paths[0], to_csv(rows))
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return paths
    cols = columns(rows)
    data = {c: _parquet_column([r.get(c) for r in rows]) for c in cols}
    buf = pa.BufferOutputStream()
    pq.write_table(pa.table(data), buf)
    paths.append(folder / "results.parquet")
    atomic_write_bytes(paths[1], buf.getvalue().to_pybytes())
    return paths


def _parquet_column(values: list[Any]) -> list[Any]:
    """Numbers as float (None for missing or non-finite), anything else as text."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return [float(v) if v is not None and math.isfinite(float(v)) else None for v in values]
    if present and all(isinstance(v, bool) for v in present):
        return values
    return [None if v is None else str(v) for v in values]
