"""FactorVAE: loss and discriminator update against hand computations, gradient isolation,
the discriminator on a correlated toy code, training and exact resume with the discriminator."""

from __future__ import annotations

import contextlib
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangled.config import ModelConfig, load_config
from disentangled.errors import ConfigError
from disentangled.models import VAE
from disentangled.objectives import StepContext, build_objective
from disentangled.objectives.factorvae import discriminator_loss, permute_dims
from disentangled.train import RunDir, build_session, list_checkpoints, load_checkpoint, train

FAST = [
    "net=mlp",
    "hidden=32",
    "subset=256",
    "batch_size=32",
    "progress=false",
    "log_every=10",
    "disc_hidden=32",
    "disc_layers=2",
]


pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(*extra):
    return load_config(preset="factorvae-dsprites", overrides=[*FAST, *extra])


def _tiny(gamma=7.0, hidden=8, layers=2):
    torch.manual_seed(0)
    model = VAE.from_config(ModelConfig(net="mlp", latent_dim=4, hidden=16), (1, 8, 8))
    spec = {"name": "factorvae", "gamma": gamma, "disc_hidden": hidden, "disc_layers": layers}
    obj = build_objective(spec, dataset_size=100, recon="bernoulli")
    obj.bind(model)
    return model, obj


def _batch(seed, n=6):
    return (torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


def _disc_by_hand(disc, z):
    """The MLP written out: (Linear, LeakyReLU 0.2) per hidden layer, then Linear to 2 logits."""
    linears = [m for m in disc.modules() if isinstance(m, torch.nn.Linear)]
    h = z
    for lin in linears[:-1]:
        a = h @ lin.weight.T + lin.bias
        h = torch.where(a > 0, a, 0.2 * a)
    return h @ linears[-1].weight.T + linears[-1].bias


def _vae_loss_by_hand(model, obj, x, g, gamma):
    post = model.posterior(x)
    eps = torch.randn(post.mu.shape, generator=g)
    z = post.mu + (0.5 * post.logvar).exp() * eps
    logits = model.decode(z)
    rec = -(x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum() / x.shape[0]
    kl = 0.5 * (post.mu**2 + post.logvar.exp() - 1 - post.logvar).sum() / x.shape[0]
    d = _disc_by_hand(obj.discriminator, z)
    tc = (d[:, 0] - d[:, 1]).mean()
    return rec + kl + gamma * tc, z, tc


def test_loss_matches_hand_computation():
    model, obj = _tiny(gamma=7.0)
    x = _batch(1)
    terms = obj.loss(model, x, 3, torch.Generator().manual_seed(11))
    expected, _, tc = _vae_loss_by_hand(model, obj, x, torch.Generator().manual_seed(11), 7.0)
    assert terms["tc"].item() == pytest.approx(tc.item(), rel=1e-5, abs=1e-6)
    assert terms["loss"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert terms["loss"].item() == pytest.approx(
        (terms["recon"] + terms["kl"] + 7.0 * terms["tc"]).item(), rel=1e-6
    )


def test_training_step_gradients_match_separate_losses_and_do_not_leak():
    """VAE grads = d(VAE loss)/d(VAE params) only; D grads = d(D loss)/d(D params) only, with D
    trained on the step's own q(z) samples (class 0) and a permuted second batch (class 1)."""
    gamma = 3.0
    model, obj = _tiny(gamma=gamma)
    disc = obj.discriminator
    x1, x2 = _batch(1), _batch(2)
    opts = {
        "main": torch.optim.SGD(model.parameters(), lr=0.0),
        "discriminator": torch.optim.SGD(disc.parameters(), lr=0.0),
    }
    ctx = StepContext(
        generator=torch.Generator().manual_seed(5),
        autocast=contextlib.nullcontext,
        next_batch=lambda: x2,
        dataset_size=100,
    )
    terms = obj.training_step(model, x1, 0, opts, ctx)

    g = torch.Generator().manual_seed(5)  # the same draws in the same order
    vae_loss, z, _ = _vae_loss_by_hand(model, obj, x1, g, gamma)
    post2 = model.posterior(x2)
    z2 = post2.mu + (0.5 * post2.logvar).exp() * torch.randn(post2.mu.shape, generator=g)
    keys = torch.rand(z2.shape, generator=g)
    z_perm = torch.stack([z2[keys[:, d].argsort(), d] for d in range(z2.shape[1])], 1).detach()
    lq, lp = _disc_by_hand(disc, z.detach()), _disc_by_hand(disc, z_perm)
    d_loss = -0.5 * (lq.log_softmax(1)[:, 0].mean() + lp.log_softmax(1)[:, 1].mean())
    accuracy = ((lq[:, 0] > lq[:, 1]).sum() + (lp[:, 1] > lp[:, 0]).sum()) / (2 * z.shape[0])

    vae_grads = torch.autograd.grad(vae_loss, list(model.parameters()))
    d_grads = torch.autograd.grad(d_loss, list(disc.parameters()))
    for p, want in zip(model.parameters(), vae_grads, strict=True):
        torch.testing.assert_close(p.grad, want, rtol=1e-4, atol=1e-6)
    for p, want in zip(disc.parameters(), d_grads, strict=True):
        torch.testing.assert_close(p.grad, want, rtol=1e-4, atol=1e-7)
    assert terms["loss"].item() == pytest.approx(vae_loss.item(), rel=1e-6)
    assert terms["discriminator_loss"].item() == pytest.approx(d_loss.item(), rel=1e-5)
    assert terms["discriminator_accuracy"].item() == pytest.approx(accuracy.item())


def test_training_step_updates_both_networks_with_their_own_optimizers():
    model, obj = _tiny()
    opts = {"main": torch.optim.Adam(model.parameters(), lr=1e-3)}
    opts.update(obj.extra_optimizers(lr=123.0))  # train.lr must not reach the discriminator
    assert opts["discriminator"].param_groups[0]["lr"] == pytest.approx(1e-4)
    assert opts["discriminator"].param_groups[0]["betas"] == (0.5, 0.9)
    before_d = [p.detach().clone() for p in obj.discriminator.parameters()]
    before_m = [p.detach().clone() for p in model.parameters()]
    ctx = StepContext(
        torch.Generator().manual_seed(0), contextlib.nullcontext, lambda: _batch(4), 100
    )
    obj.training_step(model, _batch(3), 0, opts, ctx)
    # Adam's first step moves every parameter with a nonzero gradient by about lr.
    d_moves = [
        (p - b).abs().max().item()
        for p, b in zip(obj.discriminator.parameters(), before_d, strict=True)
    ]
    m_moves = [
        (p - b).abs().max().item() for p, b in zip(model.parameters(), before_m, strict=True)
    ]
    assert max(d_moves) == pytest.approx(1e-4, rel=0.05)
    assert max(m_moves) == pytest.approx(1e-3, rel=0.05)


@settings(max_examples=30, deadline=None)
@given(b=st.integers(1, 40), d=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
def test_permute_dims_permutes_each_column(b, d, seed):
    z = torch.randn(b, d, generator=torch.Generator().manual_seed(seed))
    perm = permute_dims(z, torch.Generator().manual_seed(seed + 1))
    assert torch.equal(perm.sort(0).values, z.sort(0).values)


def test_permute_dims_uses_independent_permutations():
    """Columns that are identical copies come out decorrelated."""
    u = torch.randn(4000, 1, generator=torch.Generator().manual_seed(0))
    perm = permute_dims(u.repeat(1, 3), torch.Generator().manual_seed(1))
    corr = torch.corrcoef(perm.T)
    assert (corr - torch.eye(3)).abs().max() < 0.06


def _train_discriminator_on(sample, steps=250):
    """Train a fresh discriminator with the objective's own update on a toy code alone; return
    its accuracy on fresh q(z) and permuted samples."""
    torch.manual_seed(0)
    obj = build_objective(
        {"name": "factorvae", "disc_hidden": 64, "disc_layers": 2, "disc_lr": 1e-3},
        dataset_size=100,
        recon="bernoulli",
    )
    obj.bind(VAE.from_config(ModelConfig(net="mlp", latent_dim=4, hidden=8), (1, 4, 4)))
    opt = obj.extra_optimizers(1e-4)["discriminator"]
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        loss, _ = discriminator_loss(
            obj.discriminator(sample(g)), obj.discriminator(permute_dims(sample(g), g))
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        _, acc = discriminator_loss(
            obj.discriminator(sample(g)), obj.discriminator(permute_dims(sample(g), g))
        )
    return acc.item()


def test_discriminator_separates_a_correlated_code_and_not_an_independent_one():
    def correlated(g):  # z_1 = z_0 + small noise: q(z) is far from prod_d q(z_d)
        u = torch.randn(256, 1, generator=g)
        rest = torch.randn(256, 3, generator=g)
        return torch.cat([u, u + 0.1 * rest[:, :1], rest[:, 1:]], 1)

    def independent(g):  # q(z) = prod_d q(z_d): the classes are the same distribution
        return torch.randn(256, 4, generator=g)

    assert _train_discriminator_on(correlated) > 0.85
    assert _train_discriminator_on(independent) < 0.6


def test_preset_settings_reach_the_optimizers_and_the_discriminator(tmp_path):
    cfg = load_config(preset="factorvae-dsprites", overrides=["net=mlp", "subset=64"])
    s = build_session(cfg, RunDir(tmp_path))
    main, disc_opt = (
        s.optimizers["main"].param_groups[0],
        s.optimizers["discriminator"].param_groups[0],
    )
    assert (main["lr"], main["betas"]) == (1e-4, (0.9, 0.999))
    assert (disc_opt["lr"], disc_opt["betas"]) == (1e-4, (0.5, 0.9))
    assert cfg.objective["gamma"] == 35.0
    linears = [m for m in s.objective.discriminator.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(10, 1000)] + [
        (1000, 1000)
    ] * 5 + [(1000, 2)]
    slopes = {
        m.negative_slope
        for m in s.objective.discriminator.modules()
        if isinstance(m, torch.nn.LeakyReLU)
    }
    assert slopes == {0.2}
    assert {id(p) for p in disc_opt["params"]} == {id(p) for p in s.objective.parameters()}


def test_discriminator_initialisation_follows_the_seed(tmp_path):
    def first_weight(seed):
        cfg = _cfg(f"seed={seed}")
        return build_session(cfg, RunDir(tmp_path)).objective.discriminator.net[0].weight

    assert torch.equal(first_weight(3), first_weight(3))
    assert not torch.equal(first_weight(3), first_weight(4))


def test_training_decreases_the_loss(tmp_path):
    cfg = _cfg("steps=300", "lr=1e-3")
    s = train(cfg, RunDir.create(tmp_path / "r", cfg))
    losses = [r["loss"] for r in s.history]
    assert sum(losses[-3:]) / 3 < 0.6 * sum(losses[:3]) / 3
    last = s.history[-1]
    assert math.isfinite(last["tc"]) and 0 <= last["discriminator_accuracy"] <= 1
    assert 0 < last["discriminator_loss"] < 2 * math.log(2)


def _assert_same_state(a, b):
    for (name, x), (_, y) in zip(
        [*a.model.state_dict().items(), *a.objective.state_dict().items()],
        [*b.model.state_dict().items(), *b.objective.state_dict().items()],
        strict=True,
    ):
        assert torch.equal(x, y), name
    assert set(a.optimizers) == set(b.optimizers) == {"main", "discriminator"}
    for opt_name in a.optimizers:
        sa, sb = a.optimizers[opt_name].state_dict(), b.optimizers[opt_name].state_dict()
        assert sa["state"].keys() == sb["state"].keys()
        for pid in sa["state"]:
            for key, val in sa["state"][pid].items():
                assert torch.equal(torch.as_tensor(val), torch.as_tensor(sb["state"][pid][key]))


def test_resume_is_bit_for_bit_including_the_discriminator(tmp_path):
    n = 8
    straight = train(_cfg(f"steps={2 * n}"), RunDir.create(tmp_path / "a", _cfg(f"steps={2 * n}")))
    run = RunDir.create(tmp_path / "b", _cfg(f"steps={n}"))
    train(_cfg(f"steps={n}"), run)
    ckpt = load_checkpoint(list_checkpoints(run.checkpoints)[-1])
    assert "objective/discriminator.net.0.weight" in ckpt.tensors
    assert any(k.startswith("optim/discriminator/") for k in ckpt.tensors)
    resumed = train(_cfg(f"steps={2 * n}"), run, resume=True)
    assert resumed.step == straight.step == 2 * n
    _assert_same_state(straight, resumed)


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("gamma=-1", "objective.gamma"),
        ("disc_beta1=1", "objective.disc_beta1"),
        ("disc_layers=0", "objective.disc_layers"),
        ("disc_lr=0", "objective.disc_lr"),
    ],
)
def test_bad_parameters_name_the_field(override, fragment):
    with pytest.raises(ConfigError, match=fragment):
        _cfg(override)


def test_categorical_codes_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="factorvae needs a Gaussian code"):
        build_session(_cfg("disc=[3]"), RunDir(tmp_path))
