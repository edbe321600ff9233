"""InfoGAN (Chen et al., 2016): a generator fed noise and structured codes, a discriminator, and a
Q head on the discriminator's trunk that recovers the codes from an image.

The generator input is [z, one-hot(c_1), ..., one-hot(c_m), c'_1, ..., c'_n]: noise z ~ U(−1, 1)^N,
categorical codes c_i uniform over K_i values and continuous codes c'_j ~ U(−1, 1). Q(c | x)
factorises over the codes: a softmax per categorical, a Gaussian per continuous code with unit
variance (``fixed``) or a learned one. The representation of an image (:meth:`InfoGAN.encode`)
is Q's mode, laid out like a VAE code: the continuous means first, then one one-hot per
categorical, so the metrics treat an InfoGAN like a VAE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..nets.infogan import NET_SIDES, InfoGANGenerator, InfoGANTrunk, QHead, discriminator_head

Q_VARIANCES = ("fixed", "learned")


@dataclass(frozen=True)
class CodeSpec:
    """The generator's input: ``noise`` dims, categoricals of sizes ``disc``, ``cont`` continuous
    codes, and whether Q learns the continuous codes' variances."""

    noise: int
    disc: tuple[int, ...]
    cont: int
    learned_variance: bool = False

    def __post_init__(self) -> None:
        if not self.disc and self.cont == 0:
            raise ConfigError(
                "infogan: the code is empty; set model.latent_dim > 0 (continuous codes) "
                "or model.disc (categorical codes)"
            )
        for k in self.disc:
            if k < 2:
                raise ConfigError(f"infogan: a categorical code needs K >= 2 values, got {k}")
        if self.noise < 0 or self.cont < 0:
            raise ConfigError(f"infogan: sizes must be >= 0, got noise {self.noise}, {self.cont}")

    @property
    def code_size(self) -> int:
        """Width of the representation: continuous means + one-hots."""
        return self.cont + sum(self.disc)

    @property
    def input_size(self) -> int:
        """Width of the generator input: noise + one-hots + continuous codes."""
        return self.noise + self.code_size

    @property
    def q_size(self) -> int:
        """Number of Q outputs: logits, means, and log-variances when learned."""
        return sum(self.disc) + self.cont * (2 if self.learned_variance else 1)

    def names(self) -> list[str]:
        """Code names as logged: ``cat0``.., then ``cont0``.."""
        return [f"cat{i}" for i in range(len(self.disc))] + [f"cont{j}" for j in range(self.cont)]

    def entropies(self) -> dict[str, float]:
        """H(c) per code in nats: log K for a K-way categorical; the differential entropy log 2
        for U(−1, 1) (a reference level there, not an upper bound on I(c; x))."""
        out = {f"cat{i}": math.log(k) for i, k in enumerate(self.disc)}
        out.update({f"cont{j}": math.log(2.0) for j in range(self.cont)})
        return out

    def describe(self) -> dict[str, object]:
        """A JSON-ready description for pictures and reports."""
        return {
            "noise": self.noise,
            "categorical": list(self.disc),
            "continuous": self.cont,
            "q_variance": "learned" if self.learned_variance else "fixed",
        }


@dataclass
class CodeDraw:
    """One draw of generator inputs: noise (B, N), categorical indices (B, m) long, continuous
    codes (B, n)."""

    noise: torch.Tensor
    cat: torch.Tensor
    cont: torch.Tensor

    def __len__(self) -> int:
        return int(self.noise.shape[0])

    def to(self, device) -> CodeDraw:
        return CodeDraw(self.noise.to(device), self.cat.to(device), self.cont.to(device))


@dataclass
class QOutput:
    """Q(c | x): logits (B, K_i) per categorical, means and log-variances (B, n) of the
    continuous codes (log-variances zero when the variance is fixed)."""

    logits: list[torch.Tensor]
    mean: torch.Tensor
    logvar: torch.Tensor


def sample_codes(
    spec: CodeSpec, n: int, generator: torch.Generator | None, device=None
) -> CodeDraw:
    """n generator inputs from the prior, drawn in the order noise, categoricals, continuous."""
    device = device if device is not None else (generator.device if generator else "cpu")
    noise = torch.rand((n, spec.noise), generator=generator, device=device) * 2.0 - 1.0
    cats = [torch.randint(k, (n,), generator=generator, device=device) for k in spec.disc]
    cat = torch.stack(cats, 1) if cats else torch.zeros((n, 0), dtype=torch.long, device=device)
    cont = torch.rand((n, spec.cont), generator=generator, device=device) * 2.0 - 1.0
    return CodeDraw(noise=noise, cat=cat, cont=cont)


def generator_input(spec: CodeSpec, draw: CodeDraw) -> torch.Tensor:
    """[noise, one-hot(c_1), .., one-hot(c_m), continuous codes]: (B, spec.input_size)."""
    parts = [draw.noise]
    parts += [F.one_hot(draw.cat[:, i], k).to(draw.noise.dtype) for i, k in enumerate(spec.disc)]
    parts.append(draw.cont.to(draw.noise.dtype))
    return torch.cat(parts, 1)


def split_q(spec: CodeSpec, params: torch.Tensor) -> QOutput:
    """Q head outputs (B, q_size) -> :class:`QOutput` (float32)."""
    params = params.float()
    logits = list(torch.split(params[:, : sum(spec.disc)], list(spec.disc), 1))
    rest = params[:, sum(spec.disc) :]
    mean = rest[:, : spec.cont]
    logvar = rest[:, spec.cont :] if spec.learned_variance else torch.zeros_like(mean)
    return QOutput(logits=logits, mean=mean, logvar=logvar)


class InfoGAN(nn.Module):
    """Generator G, discriminator trunk shared by the D head (real/fake logit) and the Q head."""

    def __init__(
        self,
        generator: nn.Module,
        trunk: nn.Module,
        d_head: nn.Module,
        q_head: nn.Module,
        codes: CodeSpec,
    ) -> None:
        super().__init__()
        self.generator = generator
        self.trunk = trunk
        self.d_head = d_head
        self.q_head = q_head
        self.codes = codes

    @classmethod
    def from_config(
        cls, cfg, image_shape: tuple[int, int, int], *, noise: int, q_variance: str = "fixed"
    ) -> InfoGAN:
        """From a ModelConfig (``net`` infogan|infogan64, ``latent_dim`` continuous codes,
        ``disc`` categorical sizes) and the noise size and Q variance."""
        if cfg.net not in NET_SIDES:
            raise ConfigError(
                f"objective infogan needs model.net {' or '.join(NET_SIDES)}, got {cfg.net!r}"
            )
        if q_variance not in Q_VARIANCES:
            raise ConfigError(f"q_variance must be fixed or learned, got {q_variance!r}")
        codes = CodeSpec(
            noise=noise,
            disc=tuple(cfg.disc),
            cont=cfg.latent_dim,
            learned_variance=q_variance == "learned",
        )
        shape = tuple(image_shape)
        generator = InfoGANGenerator(codes.input_size, shape, cfg.net)
        trunk = InfoGANTrunk(shape, cfg.net)
        return cls(
            generator,
            trunk,
            discriminator_head(trunk.features),
            QHead(trunk.features, codes.q_size),
            codes,
        )

    # --------------------------------------------------------------- generator side

    def sample_codes(
        self, n: int, generator: torch.Generator | None = None, device=None
    ) -> CodeDraw:
        """n draws of (noise, codes) from the prior (see :func:`sample_codes`)."""
        return sample_codes(self.codes, n, generator, device)

    def generate(self, draw: CodeDraw) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1]: the sigmoid of G's pixel logits."""
        return torch.sigmoid(self.generator(generator_input(self.codes, draw)))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """n images (n, C, H, W) in [0, 1] from codes drawn from the prior."""
        return self.generate(self.sample_codes(n, generator, device))

    # --------------------------------------------------------------- discriminator side

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Trunk features (B, 1024) of images (B, C, H, W) in [0, 1]."""
        return self.trunk(x)

    def d_logit(self, h: torch.Tensor) -> torch.Tensor:
        """Logit of "real" (B,) from trunk features."""
        return self.d_head(h).float().squeeze(1)

    def q_from_features(self, h: torch.Tensor) -> QOutput:
        return split_q(self.codes, self.q_head(h))

    def q(self, x: torch.Tensor) -> QOutput:
        """Q(c | x) for images (B, C, H, W) in [0, 1]."""
        return self.q_from_features(self.features(x))

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Representation (B, code_size): Q's continuous means, then argmax one-hots."""
        q = self.q(x)
        parts = [q.mean] + [F.one_hot(lg.argmax(1), lg.shape[1]).float() for lg in q.logits]
        return torch.cat(parts, 1)

    @torch.no_grad()
    def categories(self, x: torch.Tensor) -> torch.Tensor:
        """Argmax category of every categorical code: (B, m) long."""
        q = self.q(x)
        if not q.logits:
            return torch.zeros((x.shape[0], 0), dtype=torch.long, device=x.device)
        return torch.stack([lg.argmax(1) for lg in q.logits], 1)

    # --------------------------------------------------------------- optimiser groups

    def generator_parameters(self) -> list[nn.Parameter]:
        return list(self.generator.parameters())

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """Trunk, D head and Q head: trained together, as in the authors' code."""
        return [*self.trunk.parameters(), *self.d_head.parameters(), *self.q_head.parameters()]


# ----------------------------------------------------------------------------- evaluation


@torch.no_grad()
def infogan_categories(
    model: InfoGAN, dataset, device: torch.device | str, batch_size: int = 1024
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
    batch_size: int = 1024,
    factor: str | None = None,
) -> dict[str, dict[str, float | int | str]]:
    """Each categorical code's argmax as an unsupervised classifier of the test labels.

    The same scores and layout as :func:`disentangled.evaluation.evaluate_discrete_code` for a
    JointVAE: ``{"disc_i": {accuracy_hungarian, accuracy_majority, nmi, num_categories, factor,
    num_classes}}``, the category -> class matching fitted and scored on ``dataset_test``.
    ConfigError when the model has no categorical code, DataError when the data has no labels.
    """
    from ..evaluation.discrete_code import score_categories

    disc = list(model.codes.disc)
    if not disc:
        raise ConfigError("the InfoGAN has no categorical code (model.disc is empty)")
    codes = infogan_categories(model, dataset_test, device, batch_size).numpy()
    return score_categories(codes, disc, dataset_test, factor)


# ----------------------------------------------------------------------------- reproduction


def reproduce_seed(preset: str, seed: int, out, overrides: list[str]) -> dict:
    """Train (or resume) one seed of ``preset`` in ``out/seed{seed}``, score its categorical
    code on the test split (the training data when the dataset has none) and write the summary
    to ``RUN/eval/infogan_categorical.json``; returns it."""
    import json
    import time
    from pathlib import Path

    from ..config import load_config
    from ..evaluation.discrete_code import held_out_split
    from ..io import atomic_write_text
    from ..train import RunDir, train

    folder = Path(out) / f"seed{seed}"
    resume = (folder / "config.yaml").is_file()
    if resume:  # the run's own config, with the overrides a resume may change
        from ..commands.train import RESUMABLE
        from ..config import apply_override, from_dict

        run = RunDir.open(folder)
        raw = run.load_config().to_dict()
        for item in overrides:
            if item.partition("=")[0].strip().split(".")[-1] in RESUMABLE:
                apply_override(raw, item)
        cfg = from_dict(raw)
        run.save_config(cfg)
    else:
        cfg = load_config(preset=preset, overrides=[*overrides, f"seed={seed}"])
        run = RunDir.create(folder, cfg)
    start = time.perf_counter()
    first = _last_step(run) if resume else 0
    session = train(cfg, run, resume=resume)
    seconds = time.perf_counter() - start
    test = held_out_split(cfg.data.name, cfg.data.path)
    summary = {
        "seed": seed,
        "run": str(folder),
        "step": session.step,
        "steps": cfg.train.steps,
        "train_seconds": round(seconds, 1),
        "steps_per_second": round((session.step - first) / max(seconds, 1e-9), 3),
        "split": "test" if test is not None else "train",
        "categorical": evaluate_infogan_categorical(
            session.model, test if test is not None else session.dataset, session.device
        ),
    }
    run.eval.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run.eval / "infogan_categorical.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _last_step(run) -> int:
    """Step of the newest checkpoint of a run (0 when it has none)."""
    from ..train.checkpoint import list_checkpoints, load_checkpoint

    done = list_checkpoints(run.checkpoints)
    return load_checkpoint(done[-1]).step if done else 0


def reproduce(argv: list[str] | None = None) -> int:
    """``python -m disentangled.models.infogan [--preset P] [--seeds S ..] [--out DIR] [k=v ..]``:
    train each seed (resuming unfinished runs), print the unsupervised classification accuracy of
    the first categorical code per seed, then the median and the spread over seeds."""
    import argparse
    import statistics
    import sys
    from pathlib import Path

    from ..errors import UserError

    ap = argparse.ArgumentParser(description=reproduce.__doc__.splitlines()[1].strip())
    ap.add_argument("--preset", default="infogan-mnist")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=None, help="parent folder (default runs/PRESET)")
    ap.add_argument("overrides", nargs="*", metavar="key=value")
    args = ap.parse_args(argv)
    out = args.out or Path("runs") / args.preset
    accs = []
    try:
        for seed in args.seeds:
            s = reproduce_seed(args.preset, seed, out, list(args.overrides))
            d = s["categorical"]["disc_0"]
            accs.append(d["accuracy_hungarian"])
            print(
                f"seed {seed}: {s['split']} accuracy {d['accuracy_hungarian']:.4f} (majority "
                f"{d['accuracy_majority']:.4f}, NMI {d['nmi']:.4f}) at step {s['step']} of "
                f"{s['steps']}; {s['train_seconds']:.0f} s, {s['steps_per_second']:.3g} steps/s",
                flush=True,
            )
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"accuracy over {len(accs)} seed(s): median {statistics.median(accs):.4f}, "
        f"min {min(accs):.4f}, max {max(accs):.4f}, spread {max(accs) - min(accs):.4f}"
    )
    return 0


if __name__ == "__main__":
    import sys

    from disentangled.models.infogan import reproduce as _reproduce

    sys.exit(_reproduce())
