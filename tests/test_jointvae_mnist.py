"""JointVAE on real MNIST: a short run in the default suite, the paper's length as a slow test."""

from __future__ import annotations

import statistics
import warnings
from pathlib import Path

import pytest
import torch

from disentangled.config import load_config
from disentangled.data import load_dataset
from disentangled.evaluation import evaluate_discrete_code
from disentangled.evaluation.reproduce import run_seed
from disentangled.models import VAE
from disentangled.train import RunDir, train

REAL = Path("/work/shared/data/mnist")
pytestmark = pytest.mark.skipif(
    not (REAL / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"the real MNIST files are not in {REAL}",
)

# Short-run settings: the categorical is the only channel (continuous capacity held at 0) and
# its KL is weighted by 1 with no capacity target, at a larger learning rate.
SHORT = [
    f"data.path={REAL}",
    "steps=400",
    "lr=2e-3",
    "cont_capacity_max=0",
    "disc_capacity_max=0",
    "disc_gamma=1",
    "progress=false",
    "diagnostics_every=0",
    "checkpoint_every=100000",
]
THRESHOLD = 0.25


@pytest.fixture
def one_thread():
    """One intra-op thread: this net is small and two threads on a busy 2-core machine were
    over 10x slower per step; the result does not depend on the thread count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_discrete_code_is_far_above_chance_after_400_steps(tmp_path, one_thread):
    """400 steps (25,600 images, under half an epoch) of JointVAE on MNIST with the SHORT
    settings; the digit accuracy of the categorical (Hungarian matching, full test set).

    Measured on this machine for seeds 0-5: 0.38, 0.32, 0.33, 0.38, 0.36, 0.38 (NMI 0.26-0.33);
    untrained networks of the same seeds score 0.12-0.18 (chance is 0.10; a constant code scores
    the largest class share, 0.11). The threshold 0.25 sits 0.07 above every untrained network
    and 0.07 below every trained one; the untrained network of the same seed must stay below it,
    so the test fails if training does not move the code.
    """
    cfg = load_config(preset="jointvae-mnist", overrides=SHORT)
    test = load_dataset("mnist", path=str(REAL), split="test")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.train.seed)
        untrained = VAE.from_config(cfg.model, test.image_shape)
    before = evaluate_discrete_code(untrained, test, "cpu")["disc_0"]["accuracy_hungarian"]
    session = train(cfg, RunDir.create(tmp_path / "run", cfg))
    after = evaluate_discrete_code(session.model, test, "cpu")["disc_0"]
    assert before < THRESHOLD, f"an untrained code already scores {before:.3f}"
    assert after["accuracy_hungarian"] > THRESHOLD, f"after 400 steps: {after}"
    assert after["nmi"] > 0.1


@pytest.mark.slow
def test_reproduces_dupont_mnist_accuracy(tmp_path):
    """The jointvae-mnist preset at the paper's length (93,750 steps) for seeds 0, 1, 2: the
    issue's target is a median test accuracy of at least 0.90 (the paper reports 0.887 +- 0.037).
    Hours on a 2-core CPU; see docs/jointvae.md for measured speeds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the clipped C_disc warning
        results = [
            run_seed("jointvae-mnist", seed, tmp_path, [f"data.path={REAL}", "progress=false"])
            for seed in (0, 1, 2)
        ]
    accs = [r["discrete_code"]["disc_0"]["accuracy_hungarian"] for r in results]
    assert all(r["step"] == 93_750 for r in results)
    assert statistics.median(accs) >= 0.90, accs
