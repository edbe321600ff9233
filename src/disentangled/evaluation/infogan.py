"""Evaluation of a trained InfoGAN: its categorical codes as unsupervised classifiers, the
information diagnostics of ``disentangled diagnose``, the summary lines of its logged terms, and
the MNIST reproduction driver.

    python -m disentangled.evaluation.infogan --preset infogan-mnist --seeds 0 1 2 \\
        --out runs/infogan-mnist [key=value ...]
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError
from ..info import discrete_kl_to_uniform, discrete_mutual_information
from ..models.infogan import CodeSpec, InfoGAN
from .discrete_code import DEFAULT_BATCH, score_categories
from .reproduce import Scoring, main, run_seed

# ----------------------------------------------------------------------------- categorical codes


@torch.no_grad()
def infogan_categories(
    model: InfoGAN, dataset, device: torch.device | str, batch_size: int = DEFAULT_BATCH
) -> torch.Tensor:
    """Argmax category of each categorical code for every image of ``dataset``: (N, m) long,
    with the model in eval mode (batch norm from its running statistics)."""
    was_training = model.training
    model.eval()
    try:
        n = len(dataset)
        chunks = [
            model.categories(dataset.batch(torch.arange(s, min(s + batch_size, n)), device)).cpu()
            for s in range(0, n, batch_size)
        ]
    finally:
        model.train(was_training)
    return (
        torch.cat(chunks) if chunks else torch.zeros((0, len(model.codes.disc)), dtype=torch.long)
    )


def evaluate_infogan_categorical(
    model: InfoGAN,
    dataset_test,
    device: torch.device | str = "cpu",
    batch_size: int = DEFAULT_BATCH,
    factor: str | None = None,
) -> dict[str, dict[str, float | int | str]]:
    """Each categorical code's argmax as an unsupervised classifier of the test labels.

    The same scores and layout as :func:`disentangled.evaluation.evaluate_discrete_code` for a
    JointVAE: ``{"disc_i": {accuracy_hungarian, accuracy_majority, nmi, num_categories, factor,
    num_classes}}``, the category -> class matching fitted and scored on ``dataset_test``.
    ConfigError when the model has no categorical code, DataError when the data has no labels.
    """
    disc = list(model.codes.disc)
    if not disc:
        raise ConfigError("the InfoGAN has no categorical code (model.disc is empty)")
    codes = infogan_categories(model, dataset_test, device, batch_size).numpy()
    return score_categories(codes, disc, dataset_test, factor)


# ----------------------------------------------------------------------------- diagnostics


@torch.no_grad()
def infogan_diagnostics(
    model: InfoGAN,
    dataset,
    index: torch.Tensor,
    device: torch.device | str,
    *,
    samples: int,
    generator: torch.Generator,
    batch_size: int = 512,
) -> dict[str, Any]:
    """What an InfoGAN's code carries, at the checkpoint (model in eval mode), in nats.

    On ``samples`` draws (z, c) from the prior, rendered by G (codes drawn on the CPU from
    ``generator``): ``info_cat{i}``, ``info_cont{j}``, the variational bound
    L_I = E[log Q(c|G(z, c))] + H(c) ≤ I(c; G(z, c)) per code (the quantity training
    maximises), ``info_cat{i}_frac`` = L_I / log K_i, and ``d_fake_acc``, the fraction of those
    images D calls fake. On the real images ``dataset[index]``: ``mi_disc_{i}`` = I(x; c_i) under
    Q(c_i | x) with x uniform over the images (≤ min(log N, log K_i)), ``kl_disc_{i}`` =
    E_x KL(Q(c_i | x) ‖ Uniform(K_i)), ``q_mean_std_dims`` the standard deviation of each
    continuous code's mean μ_j(x) over the images (about 0.58 for a code spread like its
    U(−1, 1) prior), and ``d_real_acc``, the fraction D calls real.
    """
    from ..objectives.infogan import info_terms

    spec = model.codes
    was_training = model.training
    model.eval()
    try:
        sums: dict[str, float] = {}
        fake_right = 0.0
        for a in range(0, samples, batch_size):
            draw = model.sample_codes(min(batch_size, samples - a), generator, "cpu").to(device)
            h = model.features(model.generate(draw))
            fake_right += float((model.d_logit(h) < 0).sum())
            for k, v in info_terms(spec, model.q_from_features(h), draw).items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(draw)
        out: dict[str, Any] = {k: v / samples for k, v in sums.items()}
        for i, k in enumerate(spec.disc):
            out[f"info_cat{i}_frac"] = out[f"info_cat{i}"] / math.log(k)
        out["d_fake_acc"] = fake_right / samples
        probs: list[list[torch.Tensor]] = [[] for _ in spec.disc]
        means, real_right = [], 0.0
        for a in range(0, index.numel(), batch_size):
            h = model.features(dataset.batch(index[a : a + batch_size], device))
            real_right += float((model.d_logit(h) > 0).sum())
            q = model.q_from_features(h)
            means.append(q.mean.cpu())
            for i, logits in enumerate(q.logits):
                probs[i].append(logits.softmax(-1).cpu())
    finally:
        model.train(was_training)
    for i, p in enumerate(probs):
        p = torch.cat(p).double()
        out[f"mi_disc_{i}"] = float(discrete_mutual_information(p))
        out[f"kl_disc_{i}"] = float(discrete_kl_to_uniform(p))
    if spec.cont:
        out["q_mean_std_dims"] = torch.cat(means).double().std(0).tolist()
    out["d_real_acc"] = real_right / max(index.numel(), 1)
    return out


def info_lines(spec: CodeSpec, values: Mapping[str, Any]) -> list[str]:
    """One line per code with its L_I (``info_cat{i}`` / ``info_cont{j}`` of ``values``) against
    H(c): for a categorical, its ceiling log K and the fraction reached; for a continuous code,
    the reference log 2 (not a ceiling) and, with Q's variance fixed at 1, the highest reachable
    value log 2 − ½ log 2π."""
    lines = []
    for name, h in spec.entropies().items():
        value = values.get(f"info_{name}")
        if not isinstance(value, (int, float)):
            continue
        if name.startswith("cat"):
            k = spec.disc[int(name[3:])]
            tail = f"of log {k} = {h:.3f} nats ({100 * value / h:.1f} % of the ceiling)"
        else:
            top = math.log(2.0) - 0.5 * math.log(2 * math.pi)
            bound = (
                "" if spec.learned_variance else f"; at most {top:.3f} with Q's variance fixed at 1"
            )
            tail = f"nats (H(c) = log 2 = {h:.3f}, not a ceiling{bound})"
        lines.append(f"L_I({name}) {value:8.3f} {tail}")
    return lines


def training_summary(spec: CodeSpec, last: Mapping[str, Any]) -> list[str]:
    """Lines summarising the last logged InfoGAN record: the GAN losses, D's accuracies, then
    L_I per code against H(c) (see :func:`info_lines`)."""
    nan = float("nan")
    return [
        f"d_loss {last.get('d_loss', nan):.4g}, g_loss {last.get('g_loss', nan):.4g} nats "
        f"(d_loss = 2 log 2 = {2 * math.log(2):.3f} when D cannot tell real from fake)",
        f"D accuracy: real {last.get('d_real_acc', nan):.3f}, fake "
        f"{last.get('d_fake_acc', nan):.3f} (fractions classified correctly)",
        *info_lines(spec, last),
    ]


# ----------------------------------------------------------------------------- reproduction

CATEGORICAL = Scoring("categorical", "infogan_categorical.json", evaluate_infogan_categorical)


def reproduce_seed(preset: str, seed: int, out: str | Path, overrides: list[str]) -> dict:
    """Train (or resume) one seed of ``preset`` in ``out/seed{seed}``, score its categorical
    codes on the test split (the training data when the dataset has none) and write the summary
    to ``RUN/eval/infogan_categorical.json``; returns it (scores under ``categorical``)."""
    return run_seed(preset, seed, Path(out), overrides, CATEGORICAL)


def reproduce(argv: list[str] | None = None) -> int:
    """``python -m disentangled.evaluation.infogan [--preset P] [--seeds S ..] [--out DIR]
    [k=v ..]``: train each seed (resuming unfinished runs), print the unsupervised classification
    accuracy of the first categorical code per seed, then the median and the spread over seeds."""
    return main(
        argv,
        default_preset="infogan-mnist",
        scoring=CATEGORICAL,
        module="disentangled.evaluation.infogan",
    )


if __name__ == "__main__":
    sys.exit(reproduce())
