"""One page comparing runs: what each run is, their last logged values and evaluation metrics side
by side, and their training curves overlaid."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import UserError
from ..viz.curves import overlaid_keys, plot_curves
from ..viz.series import last_step, last_values
from ..viz.style import unit
from . import html as h
from .run import PLOT_RATIO, describe_run
from .rundata import RunInfo, metric_rows, read_run, run_labels


def runs_section(infos: list[RunInfo], labels: list[str]) -> h.Section:
    rows = [
        (lab, describe_run(i), last_step(i.records), str(i.path))
        for lab, i in zip(labels, infos, strict=True)
    ]
    body = h.table(["run", "model", "last step", "directory"], rows)
    for lab, i in zip(labels, infos, strict=True):
        for why in i.notes.values():
            body += h.note(f"{lab}: {why}")
    return h.Section("runs", "Runs", body)


def values_section(infos: list[RunInfo], labels: list[str]) -> h.Section:
    finals = [last_values(i.records) for i in infos]
    keys = overlaid_keys({lab: i.records for lab, i in zip(labels, infos, strict=True)})
    if not keys:
        return h.Section("values", "Last logged values", h.note("No run logged a scalar."))
    rows = [(k, unit(k), *(f.get(k) for f in finals)) for k in keys]
    return h.Section("values", "Last logged values", h.table(["quantity", "unit", *labels], rows))


def metrics_section(infos: list[RunInfo], labels: list[str]) -> h.Section:
    per_run = [_evaluation_table(i) for i in infos]
    keys = list(dict.fromkeys(key for table in per_run for key in table))
    if not keys:
        return h.Section(
            "metrics",
            "Evaluation metrics",
            h.note("No run has been evaluated: run `disentangled evaluate RUN_DIR` first."),
        )
    rows = [(m, k, *(t.get((m, k)) for t in per_run)) for m, k in keys]
    body = h.table(["metric", "key", *labels], rows)
    missing = [lab for lab, t in zip(labels, per_run, strict=True) if not t]
    if missing:
        body += h.note(f"Not evaluated: {', '.join(missing)}.")
    return h.Section("metrics", "Evaluation metrics", body)


def _evaluation_table(info: RunInfo) -> dict[tuple[str, str], object]:
    """(metric, key) -> value from eval/metrics.json; (file name, key) from other eval files."""
    table: dict[tuple[str, str], object] = {(m, k): v for m, k, v in metric_rows(info.evaluation)}
    for name, rows in info.other_evaluations.items():
        table.update({(name, k): v for k, v in rows})
    return table


def curves_section(infos: list[RunInfo], labels: list[str]) -> h.Section:
    png = plot_curves({lab: i.records for lab, i in zip(labels, infos, strict=True)})
    if png is None:
        return h.Section("curves", "Training curves", h.note("No run logged a scalar."))
    img = h.img(png, "overlaid training curves", shown_dpi_ratio=PLOT_RATIO)
    cap = "Every logged scalar against the training step, one colour per run; information in nats."
    return h.Section("curves", "Training curves", h.figure(img, cap))


def comparison_html(infos: list[RunInfo]) -> str:
    labels = run_labels(infos)
    sections = [
        runs_section(infos, labels),
        values_section(infos, labels),
        metrics_section(infos, labels),
        curves_section(infos, labels),
    ]
    return h.page(
        f"Comparison of {len(infos)} runs",
        ", ".join(labels),
        sections,
        footer="Written by disentangled.",
    )


def write_comparison(paths: Sequence[str | Path], out: str | Path) -> Path:
    """Write the comparison page of the runs in ``paths`` to ``out``."""
    if len(paths) < 2:
        raise UserError("a comparison needs at least two run directories")
    infos = [read_run(p) for p in paths]
    return h.write_page(Path(out), comparison_html(infos))
