"""The commands on an InfoGAN run through the CLI: train's summary, traverse (the code grids),
evaluate (Q's categorical code), diagnose and report (the GAN sections only); the diagnostics in
a constructed case; the model-kind checks and the GAN curves."""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from disentangled.cli import main
from disentangled.config import ModelConfig, load_config
from disentangled.data import load_dataset
from disentangled.data.mnist import LabelledImages
from disentangled.evaluation.infogan import (
    evaluate_infogan_categorical,
    info_lines,
    infogan_diagnostics,
)
from disentangled.models import VAE
from disentangled.models.infogan import CodeSpec, InfoGAN
from disentangled.models.kind import (
    categorical_sizes,
    config_is_generative_adversarial,
    has_posterior,
    is_generative_adversarial,
)
from disentangled.train import RunDir
from disentangled.train.load import load_model
from disentangled.train.runlog import read_metrics
from disentangled.viz.gan_curves import gan_keys, plot_gan_curves
from disentangled.viz.grid import to_image
from disentangled.viz.infogan import code_grid
from disentangled.viz.style import unit
from test_infogan import write_idx
from test_report_html import parse, self_contained_problems

LOG10 = math.log(10)
FIXED_VARIANCE_TOP = math.log(2) - 0.5 * math.log(2 * math.pi)  # the most L_I(cont) can be
TRAIN = [
    "train", "--preset", "infogan-mnist", "--out", "{out}", "steps=4", "batch_size=8",
    "log_every=2", "checkpoint_every=4", "progress=false", "diagnostics_every=0",
]  # fmt: skip


@dataclass
class Trained:
    run: Path
    data: Path
    rc: int
    out: str


@pytest.fixture(scope="module")
def trained(tmp_path_factory, one_thread) -> Trained:
    """A 4-step InfoGAN run on synthetic MNIST-layout files (64 training, 40 test images)."""
    root = tmp_path_factory.mktemp("infogan_commands")
    data = root / "mnist"
    data.mkdir()
    write_idx(data, "train", 64, 0)
    write_idx(data, "test", 40, 1)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main([*(a.format(out=root / "run") for a in TRAIN), f"data.path={data}"])
    return Trained(root / "run", data, rc, buf.getvalue())


def _model(t: Trained):
    shape = load_dataset("mnist", path=str(t.data), size=28).image_shape  # the preset's side
    _, model, _ = load_model(RunDir.open(t.run), image_shape=shape)
    return model, shape


def _one_line_error(capsys, *fragments: str) -> None:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert all(f in err for f in fragments), err


def _grid_size(rows: int, cols: int, side: int, scale: int, pad: int = 2) -> tuple[int, int]:
    """(width, height) of a make_grid picture upscaled ``scale`` times."""
    return (cols * (side + pad) + pad) * scale, (rows * (side + pad) + pad) * scale


# ----------------------------------------------------------------------------- train summary


def test_train_summary_prints_the_last_logged_gan_terms(trained):
    assert trained.rc == 0
    last = [r for r in read_metrics(trained.run / "metrics.jsonl") if "event" not in r][-1]
    out = trained.out
    assert "nan" not in out and "recon" not in out
    d_loss, g_loss = re.search(r"d_loss (\S+), g_loss (\S+) nats", out).groups()
    real, fake = re.search(r"real (\S+), fake (\S+)", out).groups()
    shown = {"d_loss": d_loss, "g_loss": g_loss, "d_real_acc": real, "d_fake_acc": fake}
    for code in ("cat0", "cont0", "cont1"):
        shown[f"info_{code}"] = re.search(rf"L_I\({code}\)\s+(\S+)", out).group(1)
    for key, text in shown.items():
        value = float(text)
        assert math.isfinite(value) and value == pytest.approx(last[key], abs=1e-3), key
    frac = float(re.search(r"\((-?[\d.]+) % of the ceiling\)", out).group(1))
    assert frac == pytest.approx(100 * last["info_cat0"] / LOG10, abs=0.06)


# ----------------------------------------------------------------------------- traverse


def test_traverse_writes_the_code_grids_g_renders(trained, tmp_path, capsys):
    out = tmp_path / "grids"
    args = ["traverse", str(trained.run), "--values", "5", "--limit", "1.5", "--out", str(out)]
    assert main(args) == 0
    assert "cont1 from -1.5 to 1.5" in capsys.readouterr().out
    model, (_, side, _) = _model(trained)
    scale = 64 // side
    grids = {"codes_cat0": (0, None), "codes_cat0_cont0": (0, 0), "codes_cat0_cont1": (0, 1)}
    assert {p.stem for p in out.glob("*.png")} == set(grids)
    for name, (cat, cont) in grids.items():
        with Image.open(out / f"{name}.png") as im:
            assert im.size == _grid_size(10, 5, side, scale)  # 10 categories x 5 values
            written = np.asarray(im)
        expected = to_image(code_grid(model, cat, cont, n_rows=5, n_cols=5, span=1.5), scale)
        assert np.array_equal(written, np.asarray(expected)), name


def test_traverse_refuses_the_vae_only_options(trained, capsys):
    assert main(["traverse", str(trained.run), "--gif", "--seeds", "2"]) == 2
    _one_line_error(capsys, "--gif", "--seeds", "InfoGAN")
    assert main(["traverse", str(trained.run), "--values", "1"]) == 2
    _one_line_error(capsys, "--values")


# ----------------------------------------------------------------------------- evaluate, report


def test_evaluate_diagnose_and_report(trained, capsys):
    run = trained.run
    assert main(["evaluate", str(run)]) == 0
    record = json.loads((run / "eval" / "metrics.json").read_text())
    model, _ = _model(trained)
    test = load_dataset("mnist", path=str(trained.data), split="test", size=28)
    expected = evaluate_infogan_categorical(model, test)
    assert record["metrics"]["discrete_code"] == expected  # exact: JSON keeps every float
    assert 0.0 <= expected["disc_0"]["accuracy_hungarian"] <= 1.0

    assert main(["diagnose", str(run), "--images", "40", "--samples", "64"]) == 0
    assert "L_I(cat0)" in capsys.readouterr().out
    d = json.loads((run / "eval" / "diagnostics.json").read_text())
    assert (d["model"], d["n_images"], d["samples"]) == ("infogan", 40, 64)
    assert d["info_cat0"] <= LOG10 + 1e-6
    assert d["info_cat0_frac"] == pytest.approx(d["info_cat0"] / LOG10)
    assert max(d["info_cont0"], d["info_cont1"]) <= FIXED_VARIANCE_TOP + 1e-6
    # E KL(Q(c|x) || uniform) = I(x; c) + KL(Q(c) || uniform) >= I(x; c) >= 0; I <= log N
    assert 0.0 <= d["mi_disc_0"] <= d["kl_disc_0"] + 1e-9
    assert d["mi_disc_0"] <= math.log(40) + 1e-9
    assert all(0.0 <= d[k] <= 1.0 for k in ("d_real_acc", "d_fake_acc"))

    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    assert self_contained_problems(page) == []
    p = parse(page)
    sections = {a["id"] for tag, a in p.tags if tag == "section"}
    assert sections == {"summary", "metrics", "curves", "samples", "code-grids", "config"}
    text = " ".join(p.text)
    assert f"{expected['disc_0']['accuracy_hungarian']:.4g}" in text  # evaluate's result
    assert "diagnostics.json" in text and "no reconstructions" in text
    assert "on mnist at 28×28;" in text  # the run's data.size
    imgs = {a["alt"]: a for tag, a in p.tags if tag == "img"}
    assert {"GAN training curves", "generated samples"} <= set(imgs)
    grids = [a for alt, a in imgs.items() if alt.startswith("codes_cat0")]
    assert len(grids) == 3 and len(imgs) == 6  # GAN curves, other scalars, samples, 3 grids
    side = test.image_shape[-1]
    for a in grids:
        assert (int(a["width"]), int(a["height"])) == _grid_size(10, 10, side, 64 // side)


def test_a_run_at_another_side_is_reopened_at_that_side(trained, tmp_path, capsys):
    """data.size=32 (the preset runs at the paper's 28) reaches training and every command that
    reloads the run: an 8x8 first map in G, so a model rebuilt at 28x28 could not load it."""
    run = tmp_path / "run32"
    args = [a.format(out=run) for a in TRAIN]
    assert main([*args, f"data.path={trained.data}", "data.size=32"]) == 0
    _, model, _ = load_model(RunDir.open(run), image_shape=(1, 32, 32))
    assert model.generate(model.sample_codes(2, None, "cpu")).shape == (2, 1, 32, 32)
    assert main(["evaluate", str(run)]) == 0
    record = json.loads((run / "eval" / "metrics.json").read_text())
    test = load_dataset("mnist", path=str(trained.data), split="test", size=32)
    assert record["metrics"]["discrete_code"] == evaluate_infogan_categorical(model, test)
    assert main(["traverse", str(run), "--values", "3", "--out", str(tmp_path / "g")]) == 0
    with Image.open(tmp_path / "g" / "codes_cat0_cont0.png") as im:
        assert im.size == _grid_size(10, 3, 32, 64 // 32)
    assert main(["diagnose", str(run), "--images", "8", "--samples", "16"]) == 0
    assert main(["report", str(run)]) == 0
    assert "on mnist at 32×32;" in (run / "report.html").read_text(encoding="utf-8")
    capsys.readouterr()


def test_diagnose_needs_two_images_and_samples(trained, capsys):
    assert main(["diagnose", str(trained.run), "--samples", "1"]) == 2
    _one_line_error(capsys, "--samples")


# ----------------------------------------------------------------------------- constructed case


class _Render(nn.Module):
    """G: writes the one-hots as pixel logits ±30 and each continuous code as its pixel's logit,
    on a (1, 1, ΣK + n) image; the noise is ignored."""

    def __init__(self, spec: CodeSpec) -> None:
        super().__init__()
        self.spec = spec

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        k = sum(self.spec.disc)
        code = inp[:, self.spec.noise :]
        return torch.cat([(2 * code[:, :k] - 1) * 30, code[:, k:]], 1)[:, None, None, :]


class _ReadBack(nn.Module):
    """Q: logits 50 · pixel for the categoricals, logit(pixel) as each continuous mean."""

    def __init__(self, spec: CodeSpec) -> None:
        super().__init__()
        self.k = sum(spec.disc)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        p = h[:, self.k :].clamp(1e-6, 1 - 1e-6)
        return torch.cat([50 * h[:, : self.k], torch.log(p) - torch.log1p(-p)], 1)


class _Real(nn.Module):
    """D: calls every image real (logit 5)."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.full((h.shape[0], 1), 5.0)


def _oracle() -> InfoGAN:
    spec = CodeSpec(noise=2, disc=(3,), cont=2)
    return InfoGAN(_Render(spec), nn.Flatten(), _Real(), _ReadBack(spec), spec)


def _images(categories: list[int], cont_pixels: np.ndarray) -> LabelledImages:
    """Images as _Render draws them: a one-hot of 3 pixels, then 2 continuous pixels (uint8)."""
    n = len(categories)
    u8 = torch.zeros(n, 1, 1, 5, dtype=torch.uint8)
    u8[torch.arange(n), 0, 0, torch.tensor(categories)] = 255
    u8[:, 0, 0, 3:] = torch.from_numpy(cont_pixels)
    return LabelledImages("oracle", u8, torch.tensor(categories), ("a", "b", "c"))


def test_diagnostics_of_a_q_that_reads_every_code_exactly():
    """Q recovers every code from G's images: L_I = log K for the categorical and
    log 2 − ½ log 2π (the fixed-variance maximum) for each continuous code. On data spread evenly
    over the 3 categories Q's I(x; c) = log 3; on data all in one category it is 0 while
    E KL(Q(c|x) || uniform) stays log 3. D calls everything real."""
    model = _oracle()
    rng = np.random.default_rng(0)
    pixels = rng.integers(1, 255, (30, 2), dtype=np.uint8)
    even = _images([i % 3 for i in range(30)], pixels)
    g = torch.Generator().manual_seed(0)
    d = infogan_diagnostics(model, even, torch.arange(30), "cpu", samples=50, generator=g)
    assert d["info_cat0"] == pytest.approx(math.log(3), abs=1e-6)
    assert d["info_cat0_frac"] == pytest.approx(1.0, abs=1e-6)
    for j in (0, 1):
        assert d[f"info_cont{j}"] == pytest.approx(FIXED_VARIANCE_TOP, abs=1e-5)
    assert d["mi_disc_0"] == pytest.approx(math.log(3), abs=1e-6)
    assert d["kl_disc_0"] == pytest.approx(math.log(3), abs=1e-6)
    p = pixels.astype(np.float64) / 255
    assert d["q_mean_std_dims"] == pytest.approx(np.log(p / (1 - p)).std(0, ddof=1), abs=1e-4)
    assert (d["d_real_acc"], d["d_fake_acc"]) == (1.0, 0.0)
    same = _images([0] * 30, pixels)
    d = infogan_diagnostics(model, same, torch.arange(30), "cpu", samples=50, generator=g)
    assert d["mi_disc_0"] == pytest.approx(0.0, abs=1e-6)
    assert d["kl_disc_0"] == pytest.approx(math.log(3), abs=1e-6)


def test_info_lines_put_each_code_against_its_entropy():
    spec = CodeSpec(noise=0, disc=(10, 4), cont=1)
    lines = info_lines(spec, {"info_cat0": LOG10 / 2, "info_cat1": math.log(4), "info_cont0": -1})
    assert "50.0 % of the ceiling" in lines[0] and "log 10 = 2.303" in lines[0]
    assert "100.0 % of the ceiling" in lines[1]
    assert f"at most {FIXED_VARIANCE_TOP:.3f}" in lines[2]
    learned = CodeSpec(noise=0, disc=(), cont=1, learned_variance=True)
    assert "at most" not in info_lines(learned, {"info_cont0": 1.0})[0]


# ----------------------------------------------------------------------------- kinds, curves


def test_model_kind_is_decided_by_capability():
    vae = VAE.from_config(ModelConfig(net="mlp", latent_dim=3, disc=[4], hidden=8), (1, 8, 8))
    gan = _oracle()
    assert has_posterior(vae) and not is_generative_adversarial(vae)
    assert is_generative_adversarial(gan) and not has_posterior(gan)
    assert categorical_sizes(vae) == [4] and categorical_sizes(gan) == [3]
    assert config_is_generative_adversarial(load_config(preset="infogan-dsprites"))
    assert not config_is_generative_adversarial(load_config(preset="jointvae-mnist"))
    assert not config_is_generative_adversarial(None)


def test_gan_curves_group_the_logged_terms_and_skip_vae_runs():
    records = [
        {"step": s, "d_loss": 1.3, "g_loss": 0.7, "info_cat0": 0.1 * s, "info_cat1": 0.2,
         "info_cont0": -0.4, "d_real_acc": 0.5, "d_fake_acc": 0.6, "info_cat0_frac": 0.1}
        for s in (1, 2, 3)
    ]  # fmt: skip
    assert gan_keys(records) == {
        "losses": ["d_loss", "g_loss"],
        "cat": ["info_cat0", "info_cat1"],
        "cont": ["info_cont0"],
        "accuracy": ["d_real_acc", "d_fake_acc"],
    }
    with Image.open(io.BytesIO(plot_gan_curves(records, [10, 3]))) as im:
        assert im.width > 4 * im.height  # four panels side by side
    assert plot_gan_curves([{"step": 1, "loss": 2.0, "recon": 1.0, "kl": 1.0}]) is None
    assert unit("info_cat0_frac") == "fraction" and unit("info_cat0") == "nats"
