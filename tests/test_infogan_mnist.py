"""InfoGAN on real MNIST: L_I of the categorical code climbs from 0 toward log 10 in 30 updates.

At initialisation Q knows nothing of the code, so L_I = log 10 − CE ≈ 0 (within a few hundredths
on a batch). With the preset's settings (28x28 digits) at batch 32, the mean over the last five
of 30 updates was 1.19-1.23 nats (0.52-0.54 of log 10; seeds 0, 1, 2; first five 0.07-0.13) after
a steady climb (1.19-1.26 nats on 32x32 digits). The test asks for that mean to reach
0.3·log 10 = 0.69 nats and to exceed the first five by 0.5 nats: a margin for other platforms'
arithmetic, and far beyond what an untrained Q shows.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest
import torch

from disentangled.config import load_config
from disentangled.data import load_dataset
from disentangled.evaluation.infogan import reproduce_seed
from disentangled.train import RunDir, train
from disentangled.train.runlog import read_metrics

REAL = Path("/work/shared/data/mnist")
STEPS = 30
THRESHOLD = 0.3 * math.log(10)

pytestmark = pytest.mark.skipif(
    not (REAL / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"the real MNIST files are not in {REAL}",
)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_categorical_information_climbs_toward_log_10(tmp_path):
    data = load_dataset("mnist", path=str(REAL), subset=4096, seed=0, size=28)  # the preset's
    overrides = [
        f"steps={STEPS}",
        "batch_size=32",
        "log_every=1",
        "progress=false",
        f"data.path={REAL}",
        "subset=4096",
    ]
    cfg = load_config(preset="infogan-mnist", overrides=overrides)
    run = RunDir.create(tmp_path / "run", cfg)
    train(cfg, run, dataset=data)
    li = [r["info_cat0"] for r in read_metrics(run.metrics) if "info_cat0" in r]
    assert len(li) == STEPS
    first, last = sum(li[:5]) / 5, sum(li[-5:]) / 5
    assert max(li) <= math.log(10)
    assert last >= THRESHOLD, f"L_I(cat) reached only {last:.3f} nats: {li}"
    assert last - first >= 0.5, f"L_I(cat) did not climb: {li}"


@pytest.mark.slow
def test_reproduces_infogan_mnist_accuracy(tmp_path):
    """The infogan-mnist preset at the paper's length (5,000 updates of batch 128) for seeds 0, 1,
    2: the issue's target is a median test accuracy of the categorical code of at least 0.95 (the
    paper reports 5 % error). About 1.5 hours on a 2-core CPU; see docs/infogan.md."""
    results = [
        reproduce_seed("infogan-mnist", seed, tmp_path, [f"data.path={REAL}", "progress=false"])
        for seed in (0, 1, 2)
    ]
    accs = [r["categorical"]["disc_0"]["accuracy_hungarian"] for r in results]
    assert all(r["step"] == 5_000 for r in results)
    assert statistics.median(accs) >= 0.95, accs
