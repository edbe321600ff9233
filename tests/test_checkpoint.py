"""Checkpoints: round trip, atomic files, and clear errors for bad ones (never unpickled)."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

from disentangled.config import ModelConfig
from disentangled.errors import CheckpointError
from disentangled.models import VAE
from disentangled.train.checkpoint import (
    FORMAT_VERSION,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    restore_module,
    restore_optimizer,
    save_checkpoint,
)


def _setup(latent_dim=4):
    torch.manual_seed(0)
    model = VAE.from_config(ModelConfig(net="mlp", latent_dim=latent_dim, hidden=16), (1, 8, 8))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = model(torch.rand(4, 1, 8, 8)).logits.sum()
    loss.backward()
    opt.step()
    gen = torch.Generator().manual_seed(3)
    return model, opt, gen


def _save(tmp_path, step=10, **kw):
    model, opt, gen = _setup(**kw)
    path = save_checkpoint(
        tmp_path,
        step,
        model=model,
        objective=None,
        optimizers={"main": opt},
        generators={"data": gen},
        config={"name": "x"},
    )
    return path, model, opt, gen


def test_round_trip_restores_everything(tmp_path):
    path, model, opt, gen = _save(tmp_path)
    ckpt = load_checkpoint(path)
    assert ckpt.step == 10 and ckpt.state["format_version"] == FORMAT_VERSION
    model2, opt2, gen2 = _setup()
    with torch.no_grad():
        for p in model2.parameters():
            p.add_(1.0)
    restore_module(model2, ckpt.section("model"), "model", path)
    restore_optimizer(opt2, "main", ckpt)
    gen2.set_state(ckpt.section("rng")["data"])
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(a, b)
    s1, s2 = opt.state_dict(), opt2.state_dict()
    for pid in s1["state"]:
        for k in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(s1["state"][pid][k], s2["state"][pid][k])
    assert torch.equal(torch.rand(5, generator=gen), torch.rand(5, generator=gen2))


def test_fused_adam_of_channels_last_weights_resumes_exactly(tmp_path):
    """Checkpoints hold contiguous tensors; restored moments of a channels-last weight must take
    its layout again, or the fused step pairs moments with the wrong elements."""

    def setup():
        torch.manual_seed(0)
        conv = torch.nn.Conv2d(3, 8, 3).to(memory_format=torch.channels_last)
        return conv, torch.optim.Adam(conv.parameters(), lr=0.1, fused=True)

    def step(conv, opt, seed):
        x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(seed))
        opt.zero_grad()
        conv(x).square().sum().backward()
        opt.step()

    conv, opt = setup()
    step(conv, opt, 0)
    path = save_checkpoint(
        tmp_path, 1, model=conv, objective=None, optimizers={"main": opt}, generators={}, config={}
    )
    step(conv, opt, 1)
    conv2, opt2 = setup()
    ckpt = load_checkpoint(path)
    restore_module(conv2, ckpt.section("model"), "model", path)
    restore_optimizer(opt2, "main", ckpt)
    for p in conv2.parameters():
        for v in opt2.state[p].values():
            if v.shape == p.shape:
                assert v.stride() == p.stride()
    step(conv2, opt2, 1)
    for a, b in zip(conv.parameters(), conv2.parameters(), strict=True):
        assert torch.equal(a, b)


def test_no_temporary_files_left_and_pruning(tmp_path):
    for step in (1, 2, 3):
        _save(tmp_path, step)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    prune_checkpoints(tmp_path, 2)
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        "step_000000002.safetensors",
        "step_000000003.safetensors",
    ]


@pytest.mark.parametrize("cut", [0, 7, 100, -50])
def test_truncated_checkpoint_is_a_clear_error(tmp_path, cut):
    path, *_ = _save(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut >= 0 else data[:cut])
    with pytest.raises(CheckpointError, match="truncated or corrupt|not readable"):
        load_checkpoint(path)


def test_checkpoint_from_another_model_is_refused(tmp_path):
    path, *_ = _save(tmp_path, latent_dim=4)
    other, *_ = _setup(latent_dim=6)
    with pytest.raises(CheckpointError, match="shape"):
        restore_module(other, load_checkpoint(path).section("model"), "model", path)


def test_newer_format_is_refused(tmp_path):
    path = tmp_path / "step_000000001.safetensors"
    state = {"format_version": FORMAT_VERSION + 1, "step": 1}
    save_file({"model/w": torch.zeros(1)}, path, metadata={"disentangled": json.dumps(state)})
    with pytest.raises(CheckpointError, match="newer"):
        load_checkpoint(path)


def test_foreign_safetensors_and_missing_file(tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="not a disentangled checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_pickle_file_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "step_000000001.safetensors"
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()
