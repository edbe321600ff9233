"""InfoGAN: L_I and GAN losses in closed form, code sampling and layout, which parameters each
phase updates, the picture grids, categorical-code evaluation, exact resume, checkpoint round
trip and bad input."""

from __future__ import annotations

import contextlib
import copy
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangled.cli import main
from disentangled.config import ModelConfig, load_config
from disentangled.data.mnist import LabelledImages
from disentangled.errors import ConfigError, TrainingDiverged
from disentangled.evaluation.infogan import evaluate_infogan_categorical
from disentangled.models.infogan import (
    CodeDraw,
    CodeSpec,
    InfoGAN,
    QOutput,
    generator_input,
    sample_codes,
    split_q,
)
from disentangled.objectives import StepContext, build_objective
from disentangled.objectives.infogan import (
    discriminator_loss,
    generator_loss,
    info_terms,
    weighted_info,
)
from disentangled.train import RunDir, train
from disentangled.train.load import load_model
from disentangled.train.runlog import read_metrics
from disentangled.viz.infogan import code_draws
from disentangled.viz.run_figures import write_run_figures

LOG_2PI = math.log(2 * math.pi)
SHAPE = (1, 28, 28)
FAST = ["progress=false", "log_every=1", "batch_size=8", "diagnostics_every=0"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small batches: one thread avoids OpenMP hand-offs that dominate on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class TrainCfg:
    adam_beta1, adam_beta2 = 0.5, 0.999


def _objective(**params):
    return build_objective({"name": "infogan", **params}, dataset_size=64, recon="bernoulli")


def _model(obj, latent_dim=2, disc=(10,), net="infogan", shape=SHAPE, seed=0) -> InfoGAN:
    torch.manual_seed(seed)
    return obj.build_model(ModelConfig(net=net, latent_dim=latent_dim, disc=list(disc)), shape)


def _ctx(seed: int) -> StepContext:
    return StepContext(
        generator=torch.Generator().manual_seed(seed),
        autocast=contextlib.nullcontext,
        next_batch=lambda: None,
        dataset_size=64,
    )


def _synthetic(n=64, side=28, seed=0) -> LabelledImages:
    """n random uint8 images with labels 0..9 (a stand-in for MNIST's layout)."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, side, side), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % 10
    return LabelledImages("synthetic", images, labels, tuple(str(d) for d in range(10)))


def _cfg(*extra):
    return load_config(preset="infogan-mnist", overrides=[*FAST, *extra])


# ----------------------------------------------------------------------------- closed forms


def test_categorical_info_is_log_k_minus_cross_entropy():
    """Uniform Q -> L_I = 0; a Q that names the code with certainty -> L_I = log K."""
    spec = CodeSpec(noise=3, disc=(10, 4), cont=0)
    draw = sample_codes(spec, 32, torch.Generator().manual_seed(0))
    uniform = QOutput([torch.zeros(32, 10), torch.zeros(32, 4)], torch.zeros(32, 0), None)
    t = info_terms(spec, uniform, draw)
    assert t["info_cat0"].item() == pytest.approx(0.0, abs=1e-6)
    assert t["info_cat1"].item() == pytest.approx(0.0, abs=1e-6)
    sure = [50.0 * F.one_hot(draw.cat[:, i], k).float() for i, k in enumerate(spec.disc)]
    t = info_terms(spec, QOutput(sure, torch.zeros(32, 0), None), draw)
    assert t["info_cat0"].item() == pytest.approx(math.log(10), abs=1e-5)
    assert t["info_cat1"].item() == pytest.approx(math.log(4), abs=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(2, 12),
    n=st.integers(1, 40),
    seed=st.integers(0, 2**31 - 1),
    scale=st.floats(0.0, 20.0),
)
def test_categorical_info_never_exceeds_its_ceiling(k, n, seed, scale):
    """L_I = log K + mean log Q(c|x) <= log K for any logits, and equals the hand formula."""
    g = torch.Generator().manual_seed(seed)
    spec = CodeSpec(noise=0, disc=(k,), cont=0)
    draw = sample_codes(spec, n, g)
    logits = scale * torch.randn(n, k, generator=g)
    t = info_terms(spec, QOutput([logits], torch.zeros(n, 0), None), draw)
    by_hand = math.log(k) + logits.log_softmax(1)[torch.arange(n), draw.cat[:, 0]].mean()
    assert t["info_cat0"].item() == pytest.approx(by_hand.item(), abs=1e-5)
    assert t["info_cat0"].item() <= math.log(k) + 1e-6


def test_continuous_info_closed_form_fixed_and_learned_variance():
    """L_I = log 2 − ½ log 2π − ½ log σ² − ½ E(c − μ)²/σ²: with σ = 1 and μ = c it is
    log 2 − ½ log 2π < 0; a learned σ below 1/sqrt(2π) with μ = c lifts it above log 2."""
    n = 64
    spec = CodeSpec(noise=0, disc=(), cont=2, learned_variance=True)
    draw = sample_codes(spec, n, torch.Generator().manual_seed(3))
    exact = QOutput([], draw.cont.clone(), torch.zeros(n, 2))
    t = info_terms(spec, exact, draw)
    assert t["info_cont0"].item() == pytest.approx(math.log(2) - 0.5 * LOG_2PI, abs=1e-6)
    shift = torch.tensor([0.5, -0.25])
    logvar = torch.tensor([-3.0, 1.0])
    q = QOutput([], draw.cont + shift, logvar.expand(n, 2))
    t = info_terms(spec, q, draw)
    for j in range(2):
        want = (
            math.log(2) - 0.5 * (LOG_2PI + logvar[j]) - 0.5 * shift[j] ** 2 * math.exp(-logvar[j])
        )
        assert t[f"info_cont{j}"].item() == pytest.approx(float(want), abs=1e-5)
    sharp = QOutput([], draw.cont.clone(), torch.full((n, 2), -6.0))
    assert info_terms(spec, sharp, draw)["info_cont0"].item() > math.log(2)


def test_weighted_info_applies_lambda_per_code_type():
    terms = {
        "info_cat0": torch.tensor(2.0),
        "info_cat1": torch.tensor(1.0),
        "info_cont0": torch.tensor(-0.5),
    }
    assert weighted_info(terms, 3.0, 0.1).item() == pytest.approx(3.0 * 3.0 - 0.05)


def test_gan_losses_closed_form():
    """Logit 0 everywhere: D loss 2 log 2, G loss log 2; confident and right: both near 0."""
    zero = torch.zeros(5)
    d, real_acc, fake_acc = discriminator_loss(zero, zero)
    assert d.item() == pytest.approx(2 * math.log(2))
    assert generator_loss(zero).item() == pytest.approx(math.log(2))
    real = torch.tensor([30.0, 30.0, -1.0, 2.0])
    fake = torch.tensor([-30.0, 1.0, -2.0])
    d, real_acc, fake_acc = discriminator_loss(real, fake)
    want = F.softplus(-real).mean() + F.softplus(fake).mean()
    assert d.item() == pytest.approx(want.item())
    assert real_acc.item() == pytest.approx(3 / 4)
    assert fake_acc.item() == pytest.approx(2 / 3)
    assert generator_loss(fake).item() == pytest.approx(-F.logsigmoid(fake).mean().item())


# ----------------------------------------------------------------------------- codes and layout


@settings(max_examples=30, deadline=None)
@given(
    noise=st.integers(0, 8),
    disc=st.lists(st.integers(2, 6), max_size=3),
    cont=st.integers(0, 3),
    n=st.integers(1, 50),
    seed=st.integers(0, 2**31 - 1),
)
def test_sampled_codes_and_generator_input_layout(noise, disc, cont, n, seed):
    if not disc and cont == 0:
        cont = 1
    spec = CodeSpec(noise=noise, disc=tuple(disc), cont=cont)
    draw = sample_codes(spec, n, torch.Generator().manual_seed(seed))
    again = sample_codes(spec, n, torch.Generator().manual_seed(seed))
    assert torch.equal(draw.noise, again.noise) and torch.equal(draw.cat, again.cat)
    assert draw.noise.shape == (n, noise) and draw.cont.shape == (n, cont)
    assert ((draw.noise >= -1) & (draw.noise < 1)).all()
    assert ((draw.cont >= -1) & (draw.cont < 1)).all()
    for i, k in enumerate(disc):
        assert ((draw.cat[:, i] >= 0) & (draw.cat[:, i] < k)).all()
    g_in = generator_input(spec, draw)
    assert g_in.shape == (n, spec.input_size)
    assert torch.equal(g_in[:, :noise], draw.noise)
    at = noise
    for i, k in enumerate(disc):
        assert torch.equal(g_in[:, at : at + k].argmax(1), draw.cat[:, i])
        assert torch.equal(g_in[:, at : at + k].sum(1), torch.ones(n))
        at += k
    assert torch.equal(g_in[:, at:], draw.cont)


def test_q_split_and_encode_layout():
    """Q outputs: logits per categorical, means, log-variances (learned) or zeros (fixed);
    encode = [means, one-hot(argmax)] like a VAE code."""
    spec = CodeSpec(noise=1, disc=(3, 2), cont=2, learned_variance=True)
    params = torch.arange(2 * spec.q_size, dtype=torch.float32).view(2, spec.q_size)
    q = split_q(spec, params)
    assert [t.shape for t in q.logits] == [(2, 3), (2, 2)]
    assert torch.equal(q.mean, params[:, 5:7]) and torch.equal(q.logvar, params[:, 7:9])
    fixed = CodeSpec(noise=1, disc=(3, 2), cont=2)
    q = split_q(fixed, torch.randn(2, fixed.q_size))
    assert fixed.q_size == 7 and torch.equal(q.logvar, torch.zeros(2, 2))
    model = _model(_objective(), latent_dim=2, disc=(10, 3)).eval()
    x = torch.rand(4, *SHAPE)
    code = model.encode(x)
    q = model.q(x)
    assert code.shape == (4, model.codes.code_size) == (4, 15)
    assert torch.equal(code[:, :2], q.mean)
    assert torch.equal(code[:, 2:12].argmax(1), q.logits[0].argmax(1))
    assert torch.equal(code[:, 12:].argmax(1), model.categories(x)[:, 1])
    assert torch.equal(code[:, 2:].sum(1), torch.full((4,), 2.0))


@pytest.mark.parametrize(
    "net,shape", [("infogan", (1, 28, 28)), ("infogan", (1, 32, 32)), ("infogan64", (3, 64, 64))]
)
def test_networks_map_codes_to_images_and_back(net, shape):
    obj = _objective(noise_dim=5)
    model = _model(obj, latent_dim=1, disc=(4,), net=net, shape=shape)
    draw = model.sample_codes(3, torch.Generator().manual_seed(0))
    images = model.generate(draw)
    assert images.shape == (3, *shape)
    assert ((images >= 0) & (images <= 1)).all()
    h = model.features(images)
    assert model.d_logit(h).shape == (3,)
    assert model.q_from_features(h).logits[0].shape == (3, 4)


@pytest.mark.parametrize("slope", [0.01, 0.1, 0.0])
def test_leaky_slope_reaches_every_leaky_relu_of_d_and_q(slope):
    obj = _objective(noise_dim=5)
    cfg = ModelConfig(net="infogan", latent_dim=1, disc=[4], leaky_slope=slope)
    model = obj.build_model(cfg, SHAPE)
    slopes = [m.negative_slope for m in model.modules() if isinstance(m, torch.nn.LeakyReLU)]
    assert len(slopes) == 4  # two convolutions and the FC of the trunk, the Q head's FC
    assert slopes == [slope] * 4
    h = torch.linspace(-2.0, 2.0, 9)
    assert torch.allclose(model.trunk.conv[1](h.clone()), torch.where(h > 0, h, slope * h))


@pytest.mark.parametrize("slope", [-0.1, 1.0, 2.0, float("nan"), True])
def test_leaky_slope_outside_zero_one_is_refused(slope):
    with pytest.raises(ConfigError, match="model.leaky_slope"):
        ModelConfig(net="infogan", leaky_slope=slope).validate()


def test_code_spec_entropies_and_sizes():
    spec = CodeSpec(noise=62, disc=(10,), cont=2)
    assert spec.input_size == 74 and spec.code_size == 12 and spec.q_size == 12
    assert spec.entropies() == {
        "cat0": pytest.approx(math.log(10)),
        "cont0": pytest.approx(math.log(2)),
        "cont1": pytest.approx(math.log(2)),
    }


# ----------------------------------------------------------------------------- update phases


def test_each_phase_updates_only_its_own_player():
    """The step's D+Q parameters equal a D+Q-only update; G changes; the G phase leaves
    gradients on G alone."""
    obj = _objective()
    model = _model(obj)
    twin = copy.deepcopy(model)
    opts = obj.configure_optimizers(model, TrainCfg)
    twin_opts = obj.configure_optimizers(twin, TrainCfg)
    x = torch.rand(8, *SHAPE, generator=torch.Generator().manual_seed(5))
    g_before = [p.detach().clone() for p in model.generator_parameters()]

    obj.training_step(model, x, 0, opts, _ctx(11))
    d = obj.discriminator_terms(twin, x, torch.Generator().manual_seed(11))
    twin_opts["discriminator"].zero_grad(set_to_none=True)
    d["loss"].backward()
    twin_opts["discriminator"].step()

    for a, b in zip(model.discriminator_parameters(), twin.discriminator_parameters(), strict=True):
        assert torch.equal(a, b)
    for p in model.discriminator_parameters():
        assert p.grad is None
    assert all(p.grad is not None for p in model.generator_parameters())
    after = model.generator_parameters()
    changed = [not torch.equal(a, b) for a, b in zip(g_before, after, strict=True)]
    assert changed[-2] and changed[-1]  # the output layer's weight and bias
    assert sum(changed) > len(changed) // 2


def test_non_finite_discriminator_loss_stops_before_any_update(monkeypatch):
    import disentangled.objectives.infogan as mod

    obj = _objective()
    model = _model(obj)
    opts = obj.configure_optimizers(model, TrainCfg)
    before = [p.detach().clone() for p in model.parameters()]
    real = mod.discriminator_loss

    def poisoned(real_logit, fake_logit):
        loss, a, b = real(real_logit, fake_logit)
        return loss * float("nan"), a, b

    monkeypatch.setattr(mod, "discriminator_loss", poisoned)
    x = torch.rand(8, *SHAPE, generator=torch.Generator().manual_seed(5))
    with pytest.raises(TrainingDiverged, match="'d_loss'"):
        obj.training_step(model, x, 4, opts, _ctx(0))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_bf16_autocast_step_logs_finite_float32_terms():
    obj = _objective(q_variance="learned")
    model = _model(obj)
    opts = obj.configure_optimizers(model, TrainCfg)
    ctx = _ctx(0)
    ctx.autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    x = torch.rand(8, *SHAPE, generator=torch.Generator().manual_seed(5))
    terms = obj.training_step(model, x, 0, opts, ctx)
    for name, value in terms.items():
        assert value.dtype == torch.float32 and torch.isfinite(value).all(), name


@pytest.mark.parametrize("lam", [0.0, 1.0])
def test_q_head_learns_only_through_lambda(lam):
    """λ = 0: Q gets no gradient and Adam leaves it exactly where it was; λ > 0: it moves."""
    obj = _objective(lambda_cat=lam, lambda_cont=lam)
    model = _model(obj)
    opts = obj.configure_optimizers(model, TrainCfg)
    before = [p.detach().clone() for p in model.q_head.parameters()]
    x = torch.rand(8, *SHAPE, generator=torch.Generator().manual_seed(5))
    ctx = _ctx(3)
    for step in range(2):
        terms = obj.training_step(model, x, step, opts, ctx)
    same = all(torch.equal(a, b) for a, b in zip(before, model.q_head.parameters(), strict=True))
    assert same == (lam == 0.0)
    assert {"d_loss", "g_loss", "info_cat0", "info_cont1", "d_real_acc", "d_fake_acc"} <= set(terms)


def test_optimizers_partition_the_parameters_with_the_preset_rates():
    obj = _objective(g_lr=1e-3, d_lr=2e-4)
    model = _model(obj)
    opts = obj.configure_optimizers(model, TrainCfg)
    ids = {name: {id(p) for g in o.param_groups for p in g["params"]} for name, o in opts.items()}
    assert ids["generator"] == {id(p) for p in model.generator.parameters()}
    q_and_trunk = [
        *model.trunk.parameters(),
        *model.q_head.parameters(),
        *model.d_head.parameters(),
    ]
    assert ids["discriminator"] == {id(p) for p in q_and_trunk}
    assert ids["generator"].isdisjoint(ids["discriminator"])
    assert len(ids["generator"] | ids["discriminator"]) == len(list(model.parameters()))
    assert opts["generator"].param_groups[0]["lr"] == 1e-3
    assert opts["discriminator"].param_groups[0]["lr"] == 2e-4
    assert opts["generator"].param_groups[0]["betas"] == (0.5, 0.999)


def test_q_optimizer_generator_moves_the_q_head_to_g_and_out_of_the_d_step():
    """q_optimizer=generator: Q in G's optimizer (g_lr), the D step is the GAN loss alone (the
    trunk's update equals one from d_loss only) and the Q head moves in the G step."""
    obj = _objective(q_optimizer="generator")
    model = _model(obj)
    twin = copy.deepcopy(model)
    opts = obj.configure_optimizers(model, TrainCfg)
    ids = {name: {id(p) for g in o.param_groups for p in g["params"]} for name, o in opts.items()}
    q_ids = {id(p) for p in model.q_head.parameters()}
    assert q_ids <= ids["generator"] and q_ids.isdisjoint(ids["discriminator"])
    assert len(ids["generator"] | ids["discriminator"]) == len(list(model.parameters()))
    assert opts["generator"].param_groups[0]["lr"] == obj.params.g_lr

    x = torch.rand(8, *SHAPE, generator=torch.Generator().manual_seed(5))
    q_before = [p.detach().clone() for p in model.q_head.parameters()]
    obj.training_step(model, x, 0, opts, _ctx(11))
    # the D step alone, replayed on the twin with the GAN loss only
    twin_d = [*twin.trunk.parameters(), *twin.d_head.parameters()]
    d_opt = torch.optim.Adam(twin_d, lr=obj.params.d_lr, betas=(0.5, 0.999))
    d = obj.discriminator_terms(twin, x, torch.Generator().manual_seed(11))
    assert torch.equal(d["loss"], d["d_loss"])
    d_opt.zero_grad(set_to_none=True)
    d["loss"].backward()
    d_opt.step()
    for a, b in zip(model.trunk.parameters(), twin.trunk.parameters(), strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-7)
    assert not all(
        torch.equal(a, b) for a, b in zip(q_before, model.q_head.parameters(), strict=True)
    )


# ----------------------------------------------------------------------------- pictures


def test_code_grid_rows_vary_the_category_columns_the_continuous_code():
    model = _model(_objective(noise_dim=4), latent_dim=2, disc=(10, 3))
    draw, rows, cols = code_draws(model, 0, 1, n_cols=7, span=2.0)
    assert (rows, cols) == (10, 7)
    noise = draw.noise.view(rows, cols, -1)
    cat = draw.cat.view(rows, cols, -1)
    cont = draw.cont.view(rows, cols, -1)
    assert torch.equal(noise, noise[:, :1].expand_as(noise))  # noise fixed along each row
    assert not torch.equal(noise[0], noise[1])
    assert torch.equal(cat[:, :, 0], torch.arange(10)[:, None].expand(10, 7))
    assert torch.equal(cat[:, :, 1], cat[:, :1, 1].expand(10, 7))  # other categorical fixed
    assert torch.allclose(cont[:, :, 1], torch.linspace(-2, 2, 7).expand(10, 7))
    assert torch.equal(cont[:, :, 0], torch.zeros(10, 7))
    draw, rows, cols = code_draws(model, 1, None, n_cols=5)
    noise = draw.noise.view(rows, cols, -1)
    assert rows == 3 and torch.equal(noise, noise[:1].expand_as(noise))  # shared per column


def test_run_figures_dispatch_to_the_infogan_grids(tmp_path):
    model = _model(_objective(noise_dim=4), latent_dim=2, disc=(10,))
    out = write_run_figures(model, _synthetic(16), tmp_path, torch.device("cpu"))
    assert set(out) == {"samples", "codes_cat0", "codes_cat0_cont0", "codes_cat0_cont1"}
    assert all(p.is_file() and p.stat().st_size > 0 for p in out.values())


# ----------------------------------------------------------------------------- evaluation


class _Oracle(torch.nn.Module):
    """Stands in for an InfoGAN whose categorical reads the label off pixel (0, 0) through a
    fixed category map."""

    def __init__(self, mapping):
        super().__init__()
        self.codes = CodeSpec(noise=0, disc=(len(mapping),), cont=0)
        self.mapping = torch.tensor(mapping)

    def categories(self, x):
        label = torch.round(x[:, 0, 0, 0] * 255).long()
        return self.mapping[label][:, None]


def _labelled(n=200):
    labels = torch.arange(n) % 10
    images = torch.zeros(n, 1, 4, 4, dtype=torch.uint8)
    images[:, 0, 0, 0] = labels.to(torch.uint8)
    return LabelledImages("toy", images, labels, tuple(str(d) for d in range(10)))


def test_categorical_evaluation_matches_permutations_and_merges():
    """A permutation of the classes scores 1; merging two classes into one category scores
    0.9 (Hungarian, one class left unmatched) with the majority map also 0.9."""
    perm = list(np.random.default_rng(0).permutation(10))
    scores = evaluate_infogan_categorical(_Oracle(perm), _labelled())["disc_0"]
    assert scores["accuracy_hungarian"] == pytest.approx(1.0)
    assert scores["nmi"] == pytest.approx(1.0)
    merged = list(range(10))
    merged[9] = 8
    scores = evaluate_infogan_categorical(_Oracle(merged), _labelled())["disc_0"]
    assert scores["accuracy_hungarian"] == pytest.approx(0.9)
    assert scores["accuracy_majority"] == pytest.approx(0.9)


def test_evaluation_without_a_categorical_code_is_refused():
    model = _model(_objective(), latent_dim=2, disc=())
    with pytest.raises(ConfigError, match="no categorical"):
        evaluate_infogan_categorical(model, _labelled())


# ----------------------------------------------------------------------------- training loop


def test_resume_is_bit_for_bit_with_both_optimizers(tmp_path):
    data = _synthetic()
    n = 3
    full = _cfg(f"steps={2 * n}")
    straight = train(full, RunDir.create(tmp_path / "a", full), dataset=data)
    half = _cfg(f"steps={n}")
    run = RunDir.create(tmp_path / "b", half)
    train(half, run, dataset=data)
    resumed = train(_cfg(f"steps={2 * n}"), run, resume=True, dataset=data)
    assert resumed.step == straight.step == 2 * n
    for (name, a), (_, b) in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    for opt in ("generator", "discriminator"):
        sa = straight.optimizers[opt].state_dict()["state"]
        sb = resumed.optimizers[opt].state_dict()["state"]
        assert sa.keys() == sb.keys() and sa
        for pid in sa:
            assert torch.equal(sa[pid]["exp_avg"], sb[pid]["exp_avg"]), (opt, pid)
            assert torch.equal(sa[pid]["exp_avg_sq"], sb[pid]["exp_avg_sq"]), (opt, pid)
    assert torch.equal(
        straight.generators["model"].get_state(), resumed.generators["model"].get_state()
    )
    records = [r for r in read_metrics(run.metrics) if "event" not in r]
    assert [r["step"] for r in records] == list(range(1, 2 * n + 1))
    for key in ("d_loss", "g_loss", "info_cat0", "info_cont0", "d_real_acc", "info_cat0_frac"):
        assert key in records[-1]


def test_checkpoint_round_trip_restores_the_model(tmp_path):
    data = _synthetic()
    cfg = _cfg("steps=2", "noise_dim=7", "q_variance=learned")
    run = RunDir.create(tmp_path / "r", cfg)
    session = train(cfg, run, dataset=data)
    _, loaded, step = load_model(run, image_shape=data.image_shape)
    assert step == 2 and isinstance(loaded, InfoGAN)
    assert loaded.codes == CodeSpec(noise=7, disc=(10,), cont=2, learned_variance=True)
    for (name, a), (_, b) in zip(
        session.model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    x = data.batch(torch.arange(8), "cpu")
    session.model.eval()
    assert torch.equal(session.model.encode(x), loaded.encode(x))
    draw: CodeDraw = loaded.sample_codes(4, torch.Generator().manual_seed(0))
    assert torch.equal(session.model.generate(draw), loaded.generate(draw))


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "override,fragment",
    [
        ("lambda_cat=-1", "lambda_cat"),
        ("lambda_cont=-0.5", "lambda_cont"),
        ("disc=[1]", "K >= 2"),
        ("latent_dim=0 disc=[]", "code is empty"),
        ("q_variance=wide", "q_variance"),
        ("noise_dim=-3", "noise_dim"),
        ("g_lr=0", "g_lr"),
        ("q_optimizer=both", "q_optimizer"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(tmp_path, capsys, override, fragment):
    args = ["train", "--preset", "infogan-mnist", "--out", str(tmp_path / "r")]
    assert main([*args, *override.split()]) == 2
    assert fragment in capsys.readouterr().err


def test_wrong_net_or_image_size_exits_2(tmp_path, capsys):
    args = ["train", "--preset", "infogan-dsprites", "--out"]
    tail = ["subset=64", "progress=false"]
    assert main([*args, str(tmp_path / "a"), *tail, "net=infogan"]) == 2
    assert "64x64" in capsys.readouterr().err
    assert main([*args, str(tmp_path / "b"), *tail, "net=burgess"]) == 2
    assert "model.net" in capsys.readouterr().err


# ----------------------------------------------------------------------------- reproduction


def write_idx(folder, split: str, n: int, seed: int) -> None:
    """n random 28x28 images and labels as an uncompressed IDX pair for ``split``."""
    import struct

    rng = np.random.default_rng(seed)
    stems = {
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }[split]
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    (folder / stems[0]).write_bytes(struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes())
    (folder / stems[1]).write_bytes(struct.pack(">II", 0x801, n) + labels.tobytes())


def test_reproduction_scores_each_seed_and_resumes_to_more_steps(tmp_path, capsys):
    from disentangled.evaluation.infogan import reproduce

    data = tmp_path / "mnist"
    data.mkdir()
    write_idx(data, "train", 64, 0)
    write_idx(data, "test", 40, 1)
    args = ["--out", str(tmp_path / "runs"), f"data.path={data}", *FAST]
    assert reproduce(["--seeds", "0", "1", *args, "steps=1"]) == 0
    first = capsys.readouterr().out
    assert "seed 0: test accuracy" in first and "seed 1: test accuracy" in first
    assert "median" in first and "spread" in first
    assert reproduce(["--seeds", "1", *args, "steps=2"]) == 0  # resumes to the longer length
    assert "seed 1: test accuracy" in capsys.readouterr().out
    path = tmp_path / "runs/seed1/eval/infogan_categorical.json"
    summary = json.loads(path.read_text())
    assert (summary["split"], summary["step"], summary["steps"]) == ("test", 2, 2)
    assert summary["trained_this_call"] and summary["train_seconds"] > 0
    assert 0.0 <= summary["categorical"]["disc_0"]["accuracy_hungarian"] <= 1.0

    # a complete run scored again keeps the training time its summary recorded
    recorded = {**summary, "train_seconds": 1234.5, "steps_per_second": 6.5}
    path.write_text(json.dumps(recorded))
    assert reproduce(["--seeds", "1", *args, "steps=2"]) == 0
    assert "already trained (1234 s of training recorded, 6.5 steps/s)" in capsys.readouterr().out
    again = json.loads(path.read_text())
    assert (again["train_seconds"], again["steps_per_second"]) == (1234.5, 6.5)
    assert not again["trained_this_call"] and again["categorical"] == summary["categorical"]
    path.unlink()  # no record of the training left: no time is invented
    assert reproduce(["--seeds", "1", *args, "steps=2"]) == 0
    assert "already trained (no training time recorded)" in capsys.readouterr().out
    assert json.loads(path.read_text())["train_seconds"] is None
