"""The ``report`` and ``traverse`` commands on a run trained for a few steps through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from disentangled.cli import main
from disentangled.train.runlog import read_metrics
from disentangled.viz.series import vector_keys
from test_report_html import parse, self_contained_problems

TRAIN = [
    "train", "--preset", "capacity-dsprites", "steps=4", "subset=256", "batch_size=16",
    "log_every=2", "progress=false", "capacity_steps=4", "capacity_max=3",
]  # fmt: skip
EVAL = {"metrics": {"mig": {"discrete_mig": 0.123456}, "dci": {"disentanglement": 0.25}}, "step": 4}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    assert main([*TRAIN, "--out", str(out)]) == 0
    (out / "eval").mkdir()
    (out / "eval" / "metrics.json").write_text(json.dumps(EVAL))
    return out


def _copy(run: Path, dest: Path, *, checkpoints=True, metrics=True, evaluation=True) -> Path:
    shutil.copytree(run, dest)
    if not checkpoints:
        shutil.rmtree(dest / "checkpoints")
    if not metrics:
        (dest / "metrics.jsonl").unlink()
    if not evaluation:
        shutil.rmtree(dest / "eval")
    return dest


def _one_line_error(capsys, fragment: str) -> None:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and fragment in err and "Traceback" not in err, err


def test_training_writes_the_standard_figures(run):
    for name in ("reconstructions.png", "traversals.png", "samples.png"):
        with Image.open(run / "figures" / name) as im:
            assert im.width > 64 and im.height > 64, name


def test_report_has_every_section_and_only_embedded_images(run, capsys):
    assert main(["report", str(run), "--device", "cpu"]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    assert self_contained_problems(page) == []
    p = parse(page)
    assert {"summary", "metrics", "curves", "kl-dims", "information", "reconstructions",
            "traversals", "samples", "config"} <= p.ids  # fmt: skip
    text = " ".join(p.text)
    assert "0.1235" in text and "discrete_mig" in text  # the evaluation file, formatted
    imgs = [a for tag, a in p.tags if tag == "img"]
    records = read_metrics(run / "metrics.jsonl")
    plane = any("mi" in r and "kl_qz_pz" in r for r in records)
    # curves, one per *_dims term, capacity, information plane when logged, reconstructions,
    # GIF, 3 seeds, samples
    assert len(imgs) == 1 + len(vector_keys(records)) + 1 + plane + 1 + 1 + 3 + 1
    assert {"kl_dims", "capacity", "training curves"} <= {a["alt"] for a in imgs}
    assert sum(a["src"].startswith("data:image/gif;base64,") for a in imgs) == 1
    rows_table = page.split('id="traversals"')[1].split("</table>")[0]
    assert sorted(f"z{d}" for d in range(10)) == sorted(
        t for t in parse(rows_table).text if t.startswith("z") and t[1:].isdigit()
    )
    assert "capacity_max: 3" in page  # the config, verbatim
    # the information figures are kept as PNG files in the run directory too
    saved = {"kl_dims", "capacity"} | ({"information_plane"} if plane else set())
    for name in saved:
        with Image.open(run / "figures" / f"{name}.png") as im:
            assert im.format == "PNG" and im.width > 100, name


def test_report_out_mode_and_seeds(run, tmp_path):
    out = tmp_path / "elsewhere" / "r.html"
    assert main(["report", str(run), "--out", str(out), "--seeds", "1", "--mode", "minmax"]) == 0
    p = parse(out.read_text(encoding="utf-8"))
    alts = [a["alt"] for tag, a in p.tags if tag == "img"]
    assert [a for a in alts if a.startswith("traversal of seed")] == ["traversal of seed image 0"]
    assert "smallest to the largest posterior mean" in " ".join(p.text)


def test_report_without_checkpoint_log_or_evaluation_still_explains(run, tmp_path):
    bare = _copy(run, tmp_path / "bare", checkpoints=False, metrics=False, evaluation=False)
    (bare / "report.html").unlink(missing_ok=True)
    assert main(["report", str(bare)]) == 0
    page = (bare / "report.html").read_text(encoding="utf-8")
    assert self_contained_problems(page) == []
    assert "has no checkpoint" in page and "no metrics.jsonl" in page
    assert "disentangled evaluate" in page
    assert "<img" not in page


def test_comparison_puts_runs_side_by_side(run, tmp_path, capsys):
    other = _copy(run, tmp_path / "other", evaluation=False)
    out = tmp_path / "cmp.html"
    assert main(["report", str(run), str(other), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert self_contained_problems(page) == []
    p = parse(page)
    headers = [t for t in p.text if t in ("run", "other")]
    assert headers.count("run") >= 3 and headers.count("other") >= 3  # runs, values, metrics
    assert "Not evaluated: other." in page
    assert len([1 for tag, _ in p.tags if tag == "img"]) == 1  # the overlaid curves
    assert main(["report", str(run), str(other)]) == 2
    _one_line_error(capsys, "--out FILE")


def test_traverse_writes_a_png_per_seed_and_a_gif(run, tmp_path, capsys):
    out = tmp_path / "t"
    argv = ["traverse", str(run), "--seeds", "2", "--values", "5", "--gif", "--out", str(out)]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "traversal-prior-seed0.png", "traversal-prior-seed1.png", "traversal-prior.gif",
    ]  # fmt: skip
    with Image.open(out / "traversal-prior-seed0.png") as im:
        assert im.height == 10 * (64 + 2) + 2  # 10 latents of 64x64 cells, 2-pixel padding
        assert im.width > 5 * (64 + 2) + 2  # five values plus the label margin
    with Image.open(out / "traversal-prior.gif") as gif:
        assert gif.is_animated and gif.height == 10 * (64 + 2) + 2
    printed = capsys.readouterr().out
    assert printed.count(" nats") == 10 and "traversal-prior.gif" in printed
    assert main(["traverse", str(run), "--mode", "fitted", "--seeds", "1", "--out", str(out)]) == 0
    assert (out / "traversal-fitted-seed0.png").is_file()
    assert not (out / "traversal-fitted.gif").exists()


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["traverse", "/nonexistent/run"], "not a run directory"),
        (["report", "/nonexistent/run"], "not a run directory"),
        (["traverse", "RUN", "--seeds", "0"], "--seeds"),
        (["traverse", "RUN", "--values", "1"], "--values"),
        (["traverse", "RUN", "--mode", "sideways"], "invalid choice"),
        (["traverse", "BARE"], "has no checkpoint"),
    ],
)
def test_bad_requests_are_one_line_and_exit_2(run, tmp_path, capsys, argv, fragment):
    bare = _copy(run, tmp_path / "bare", checkpoints=False)
    argv = [str(run) if a == "RUN" else str(bare) if a == "BARE" else a for a in argv]
    assert main(argv) == 2
    _one_line_error(capsys, fragment)


def test_categorical_latents_get_rows_and_continuous_by_discrete_grids(tmp_path, capsys):
    out = tmp_path / "joint"
    argv = ["train", "--preset", "betavae-dsprites", "--out", str(out), "steps=2", "subset=128",
            "batch_size=8", "progress=false", "latent_dim=2", "disc=[3]"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["traverse", str(out), "--seeds", "1", "--values", "4"]) == 0
    printed = capsys.readouterr().out
    assert "c0 K=3" in printed and printed.count(" nats") == 3
    with Image.open(out / "figures" / "traversal-prior-seed0.png") as im:
        assert im.height == 3 * (64 + 2) + 2
    assert main(["report", str(out)]) == 0
    alts = [a["alt"] for tag, a in parse((out / "report.html").read_text()).tags if tag == "img"]
    joint = [a for a in alts if "categories" in a]
    assert len(joint) == 2 and all(a.startswith("c0 (rows: its 3 categories)") for a in joint)
