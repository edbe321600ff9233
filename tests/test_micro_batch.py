"""train.micro_batch: the nets run on slices, the loss and gradients stay the whole batch's."""

from __future__ import annotations

import pytest
import torch

from disentangled.config import ModelConfig, load_config
from disentangled.errors import ConfigError
from disentangled.models.vae import VAE
from disentangled.objectives import build_objective


def _loss_and_grads(objective_cfg: dict, model_cfg: ModelConfig, shape, micro: int):
    torch.manual_seed(0)
    objective = build_objective(objective_cfg, dataset_size=1000, recon="bernoulli")
    model = VAE.from_config(model_cfg, shape)
    objective.bind(model)
    model.micro_batch = micro
    x = (torch.rand(48, *shape, generator=torch.Generator().manual_seed(1)) > 0.7).float()
    terms = objective.loss(model, x, 100, torch.Generator().manual_seed(2))
    terms["loss"].backward()
    grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    return terms["loss"].detach(), grads


@pytest.mark.parametrize(
    "objective,model",
    [
        ({"name": "betavae", "beta": 4.0}, ModelConfig(net="burgess", latent_dim=6)),
        (
            # the capacity terms |KL - C| take the batch mean before the absolute value: a
            # per-slice loss would change them, slicing only the nets does not
            {"name": "jointvae", "cont_capacity_max": 5.0, "disc_capacity_max": 1.0},
            ModelConfig(net="conv32", latent_dim=4, disc=[3, 2]),
        ),
    ],
)
def test_slicing_the_nets_leaves_loss_and_gradients_unchanged(objective, model):
    shape = (1, 64, 64) if model.net == "burgess" else (1, 32, 32)
    whole, g_whole = _loss_and_grads(objective, model, shape, 0)
    for micro in (16, 20):  # 20 leaves a shorter last slice
        sliced, g_sliced = _loss_and_grads(objective, model, shape, micro)
        torch.testing.assert_close(sliced, whole, rtol=1e-5, atol=1e-4)
        torch.testing.assert_close(g_sliced, g_whole, rtol=1e-4, atol=1e-5)


def test_micro_batch_is_validated():
    with pytest.raises(ConfigError, match="micro_batch"):
        load_config(preset="demo", overrides=["micro_batch=-1"])
    assert load_config(preset="demo", overrides=["micro_batch=32"]).train.micro_batch == 32


def test_the_loop_sets_it_on_vaes_and_refuses_it_elsewhere(tmp_path):
    from disentangled.train.loop import build_session
    from disentangled.train.rundir import RunDir

    cfg = load_config(preset="demo", overrides=["subset=64", "micro_batch=8"])
    session = build_session(cfg, RunDir.create(tmp_path / "vae", cfg))
    assert session.model.micro_batch == 8
    gan = load_config(preset="infogan-dsprites", overrides=["subset=64", "micro_batch=8"])
    with pytest.raises(ConfigError, match="micro_batch"):
        build_session(gan, RunDir.create(tmp_path / "gan", gan))
