"""Wall time of the default metric suite with the reference's sample sizes: fast vs compat.

Scoring benchmark (default): a dSprites-sized factor grid (3 x 6 x 40 x 32 x 32) with cheap
synthetic codes (no network), so the figures are sampling + scoring. Optionally times the
reference's own functions on the same data and codes (``--reference-path`` to a directory
holding disentanglement_lib's metric modules, importable without TensorFlow; nothing of the
reference lives in this repository) and an end-to-end run with a convolutional encoder
(``--encoder conv``: a randomly initialised Burgess-style 64x64 encoder as a stand-in until
trained models exist; images are procedural blobs, not dSprites).

    python benchmarks/metrics_speed.py [--modes fast,compat] [--metrics ...] [--scale 1.0]
        [--reference-path DIR] [--encoder conv] [--repeats R] [--json OUT]
    python benchmarks/metrics_speed.py --dci-deviation          # fast vs compat DCI, constructed
    python benchmarks/metrics_speed.py --dci-runs RUN_DIR ...   # fast vs compat DCI, trained

The library's suite runs ``--repeats`` times (default 3 for scoring only, 1 end to end) after an
untimed warm-up, and the median is reported beside the reference's single run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np
import torch

from disentangled.metrics import DEFAULT_SUITE, evaluate
from disentangled.metrics.registry import METRICS

SIZES = (3, 6, 40, 32, 32)
NUM_CODES = 10


def synthetic_codes(factors: np.ndarray) -> np.ndarray:
    """Codes (n, 10) of factor rows (n, 5): five partly entangled codes, two weak, three noise.

    Deterministic per image (the noise is a hash of the factor row), like a trained encoder.
    """
    f = np.asarray(factors, dtype=np.float64) / (np.array(SIZES) - 1.0) - 0.5
    mix = np.eye(5) + 0.3 * np.random.RandomState(0).randn(5, 5)
    flat = np.ravel_multi_index(tuple(np.asarray(factors).T), SIZES).astype(np.float64)
    wiggle = np.sin(flat[:, None] * (np.arange(NUM_CODES) + 1.0) * 0.7071)
    z = np.empty((f.shape[0], NUM_CODES))
    z[:, :5] = np.tanh(2 * f @ mix) + 0.1 * wiggle[:, :5]
    z[:, 5:7] = 0.02 * wiggle[:, 5:7]  # collapsed codes (pruned by the FactorVAE score)
    z[:, 7:] = wiggle[:, 7:]
    return z


class FactorImages:
    """The dataset interface over the grid; an 'image' is the factor row (1 x 1 x K pixels)."""

    factor_sizes = SIZES

    def sample_factors(self, n, rng):
        return np.stack([rng.randint(s, size=n) for s in SIZES], axis=1).astype(np.int64)

    def images_for(self, factors):
        return np.asarray(factors, dtype=np.uint8).reshape(len(factors), 1, 1, len(SIZES))


def cheap_encoder(images: torch.Tensor) -> torch.Tensor:
    f = np.rint(images.reshape(images.shape[0], -1).double().numpy() * 255).astype(np.int64)
    return torch.from_numpy(synthetic_codes(f))


class BlobImages(FactorImages):
    """64 x 64 procedural images: a Gaussian blob placed/sized by the factors."""

    def images_for(self, factors):
        f = torch.as_tensor(np.asarray(factors), dtype=torch.float32)
        grid = torch.linspace(0, 1, 64)
        x = (f[:, 3:4] / 31)[:, :, None]
        y = (f[:, 4:5] / 31)[:, :, None]
        s = (0.03 + 0.02 * f[:, 1:2])[:, :, None]
        img = torch.exp(-((grid[None, None, :] - x) ** 2 + (grid[None, :, None] - y) ** 2) / s**2)
        return (img * 255).to(torch.uint8).reshape(-1, 1, 64, 64)


def conv_encoder() -> torch.nn.Module:
    """Randomly initialised Burgess-style encoder (4 conv 4x4/2 + 2 linear -> 10 means)."""
    torch.manual_seed(0)
    layers = []
    channels = 1
    for _ in range(4):
        layers += [torch.nn.Conv2d(channels, 32, 4, 2, 1), torch.nn.ReLU()]
        channels = 32
    layers += [
        torch.nn.Flatten(),
        torch.nn.Linear(32 * 4 * 4, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, NUM_CODES),
    ]
    return torch.nn.Sequential(*layers).eval()


def scaled_sizes(metrics, scale: float) -> dict:
    out = {}
    for name in metrics:
        sizes = dict(METRICS[name].sizes)
        for key in sizes:
            if key != "batch_size":
                sizes[key] = max(10, int(sizes[key] * scale))
        out[name] = sizes
    return out


def warm_up(metrics, modes) -> None:
    """Run the suite once at a hundredth of the sizes, untimed: the first fits in a process
    pay one-time costs (scikit-learn's and scipy's lazy imports, threadpoolctl's library scan)
    that would otherwise fall on whichever column runs first. The reference's modules share
    those libraries, so this warms both columns alike."""
    start = time.perf_counter()
    tiny = scaled_sizes(metrics, 0.01)
    for mode in modes:
        evaluate(cheap_encoder, FactorImages(), metrics, mode=mode, sizes=tiny)
    print(f"warm-up (untimed): {time.perf_counter() - start:.2f}s")


def time_ours(encode, dataset, metrics, mode, sizes, batch_size, shared: bool) -> dict:
    """Per-metric wall times; with ``shared`` one evaluate() call (one code cache) for all."""
    calls = {"images": 0}

    def counting(images):
        calls["images"] += images.shape[0]
        return encode(images)

    out = {}
    if shared:
        start = time.perf_counter()
        scores = evaluate(counting, dataset, metrics, mode=mode, sizes=sizes, batch_size=batch_size)
        total = time.perf_counter() - start
        out["all (one call)"] = {"seconds": total, "scores": {}}
        for name in metrics:
            out[name] = {"seconds": float("nan"), "scores": scores[name]}
    else:
        for name in metrics:
            start = time.perf_counter()
            scores = evaluate(
                counting, dataset, [name], mode=mode, sizes=sizes, batch_size=batch_size
            )
            out[name] = {"seconds": time.perf_counter() - start, "scores": scores[name]}
    print(f"{mode}: encoder saw {calls['images']} images")
    return out


def repeat_ours(repeats: int, *args) -> dict:
    """:func:`time_ours` ``repeats`` times: per metric the median seconds (all of them under
    ``all_seconds``), and a ``total`` entry, the median over repeats of the whole suite's time.

    The fast suite takes seconds, so one run samples one moment of a machine whose speed drifts
    (by up to 15 % within minutes here); the reference's minutes average over the drift. The
    scores must be the same in every repeat (the library is deterministic under a seed).
    """
    runs = [time_ours(*args) for _ in range(repeats)]
    out = {}
    for name in runs[0]:
        secs = [r[name]["seconds"] for r in runs]
        if any(r[name]["scores"] != runs[0][name]["scores"] for r in runs):
            raise RuntimeError(f"{name}: scores differ between repeats")
        out[name] = {
            "seconds": float(np.median(secs)),
            "all_seconds": secs,
            "scores": runs[0][name]["scores"],
        }
    if "all (one call)" not in out:
        totals = [sum(r[name]["seconds"] for name in r) for r in runs]
        out["total"] = {"seconds": float(np.median(totals)), "all_seconds": totals, "scores": {}}
    for name, r in out.items():
        if repeats > 1 and name in ("total", "all (one call)"):
            listed = ", ".join(f"{t:.2f}" for t in r["all_seconds"])
            print(f"{name} over {repeats} repeats: {listed} s; median {r['seconds']:.2f} s")
    return out


class ReferenceData:
    """A dataset in the reference's ground-truth-data interface (observations are images)."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset
        self.num_factors = len(dataset.factor_sizes)
        self.factors_num_values = list(dataset.factor_sizes)

    def sample_factors(self, n, rs):
        return self.dataset.sample_factors(n, rs)

    def sample_observations_from_factors(self, f, rs):
        return self.dataset.images_for(f)

    def sample(self, n, rs):
        f = self.sample_factors(n, rs)
        return f, self.sample_observations_from_factors(f, rs)

    def sample_observations(self, n, rs):
        return self.sample(n, rs)[1]


def numpy_representation(encode):
    """The reference's representation function: a numpy batch of images -> numpy codes."""

    def represent(images):
        x = torch.as_tensor(np.asarray(images), dtype=torch.float32) / 255.0
        with torch.inference_mode():
            return encode(x).reshape(x.shape[0], -1).numpy()

    return represent


def time_reference(path: str, metrics, sizes, data=None, represent=None) -> dict:
    """The reference's compute_* functions as it runs them (per-batch encoding, RandomState(0)).

    Default: the factor grid with cheap synthetic codes; else ``data`` (ReferenceData) and
    ``represent`` (numpy images -> numpy codes)."""
    sys.path.insert(0, path)
    import beta_vae  # noqa: PLC0415  (modules from the given path)
    import dci
    import factor_vae
    import mig
    import modularity_explicitness
    import sap_score

    class Ref:
        num_factors = len(SIZES)

        def sample_factors(self, n, rs):
            return FactorImages().sample_factors(n, rs)

        def sample_observations_from_factors(self, f, rs):
            return np.asarray(f).copy()

        def sample(self, n, rs):
            f = self.sample_factors(n, rs)
            return f, f.copy()

        def sample_observations(self, n, rs):
            return self.sample(n, rs)[1]

    if data is None:
        data, represent = Ref(), synthetic_codes
    fns = {
        "beta_vae": beta_vae.compute_beta_vae_sklearn,
        "factor_vae": factor_vae.compute_factor_vae,
        "mig": mig.compute_mig,
        "dci": dci.compute_dci,
        "sap": sap_score.compute_sap,
        "modularity_explicitness": modularity_explicitness.compute_modularity_explicitness,
    }
    out = {}
    for name in metrics:
        kwargs = dict(sizes[name])
        if name == "sap":  # a required gin setting in the reference; False in its study configs
            kwargs["continuous_factors"] = False
        start = time.perf_counter()
        scores = fns[name](data, represent, np.random.RandomState(0), **kwargs)
        out[name] = {
            "seconds": time.perf_counter() - start,
            "scores": {k: float(np.real(v)) for k, v in scores.items()},
        }
    return out


def dci_deviation(n_train: int, n_test: int) -> None:
    """fast vs compat DCI on constructed representations of the dSprites-sized grid."""
    from disentangled.metrics import score

    data = FactorImages()
    rs = np.random.RandomState(0)
    f = data.sample_factors(n_train + n_test, rs)
    base = f / (np.array(SIZES) - 1.0) - 0.5
    cases = {
        "disentangled+noise0.05": np.tanh(2 * base) + 0.05 * rs.randn(*base.shape),
        "mixed0.3+noise0.1": np.tanh(2 * base @ (np.eye(5) + 0.3 * rs.randn(5, 5)))
        + 0.1 * rs.randn(*base.shape),
        "rotated+noise0.2": base @ np.linalg.qr(rs.randn(5, 5))[0] + 0.2 * rs.randn(*base.shape),
        "synthetic(benchmark codes)": synthetic_codes(f),
    }
    print(f"{'case':28s}{'key':24s}{'compat':>9s}{'fast':>9s}{'diff':>9s}  seconds c/f")
    for label, z in cases.items():
        args = (z[:n_train], f[:n_train], z[n_train:], f[n_train:])
        t0 = time.perf_counter()
        compat = score("dci", *args, mode="compat")
        t1 = time.perf_counter()
        fast = score("dci", *args, mode="fast")
        t2 = time.perf_counter()
        for key in compat:
            print(
                f"{label:28s}{key:24s}{compat[key]:9.4f}{fast[key]:9.4f}"
                f"{fast[key] - compat[key]:+9.4f}  {t1 - t0:.1f}/{t2 - t1:.1f}"
            )


def trained(path: str):
    """(config, model, step, dataset with its varying factors) of a run directory's newest
    checkpoint, on the run's whole dataset (the metrics sample the full factor grid)."""
    from disentangled.data import load_dataset
    from disentangled.data.base import varying_factors
    from disentangled.train.load import load_model
    from disentangled.train.rundir import RunDir

    run = RunDir.open(path)
    cfg = run.load_config()
    data = varying_factors(load_dataset(cfg.data.name, path=cfg.data.path))
    _, model, step = load_model(run, image_shape=data.image_shape)
    return cfg, model, step, data


def dci_on_runs(runs: list[str], n_train: int, n_test: int, seed: int = 0) -> None:
    """fast vs compat DCI on the codes of trained models (run directories), same points."""
    from disentangled.metrics import score
    from disentangled.metrics.sampling import CodeCache, sample_codes

    print(f"{'run':28s}{'key':24s}{'compat':>9s}{'fast':>9s}{'diff':>9s}  seconds c/f")
    for path in runs:
        cfg, model, step, data = trained(path)
        cache = CodeCache(model.encode, data)
        rs = np.random.RandomState(seed)
        z, f = sample_codes(cache, n_train, rs)
        z_test, f_test = sample_codes(cache, n_test, rs)
        args = (z, f, z_test, f_test)
        t0 = time.perf_counter()
        compat = score("dci", *args, mode="compat", seed=seed)
        t1 = time.perf_counter()
        fast = score("dci", *args, mode="fast", seed=seed)
        t2 = time.perf_counter()
        label = f"{cfg.name or path} @{step}"[:27]
        for key in compat:
            print(
                f"{label:28s}{key:24s}{compat[key]:9.4f}{fast[key]:9.4f}"
                f"{fast[key] - compat[key]:+9.4f}  {t1 - t0:.1f}/{t2 - t1:.1f}",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", default="fast,compat")
    ap.add_argument("--metrics", default=",".join(DEFAULT_SUITE))
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the reference sizes")
    ap.add_argument("--reference-path", default=None)
    ap.add_argument("--encoder", choices=["none", "conv"], default="none")
    ap.add_argument(
        "--run",
        default=None,
        metavar="RUN_DIR",
        help="end to end with a trained model's encoder on its dataset (overrides --encoder)",
    )
    ap.add_argument("--batch-size", type=int, default=None, help="encoder batch (library default)")
    ap.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="runs of the library's suite, median reported (default 3 for scoring only, else 1)",
    )
    ap.add_argument("--json", default=None)
    ap.add_argument(
        "--dci-deviation",
        action="store_true",
        help="only compare fast and compat DCI on constructed representations",
    )
    ap.add_argument(
        "--dci-runs",
        nargs="+",
        default=None,
        metavar="RUN_DIR",
        help="only compare fast and compat DCI on the codes of trained models",
    )
    args = ap.parse_args()
    if args.dci_runs:
        print("command: python " + " ".join(sys.argv))
        dci_on_runs(args.dci_runs, int(10000 * args.scale), int(5000 * args.scale))
        return
    if args.dci_deviation:
        print("command: python " + " ".join(sys.argv))
        dci_deviation(int(10000 * args.scale), int(5000 * args.scale))
        return
    metrics = args.metrics.split(",")
    sizes = scaled_sizes(metrics, args.scale)
    print("command: python " + " ".join(sys.argv))
    print(
        f"machine: {platform.processor() or platform.machine()}, torch threads "
        f"{torch.get_num_threads()}, sample sizes x{args.scale} of the reference"
    )
    report = {"command": " ".join(sys.argv), "sizes": sizes, "runs": {}}
    ref_data = ref_represent = None
    if args.run:
        cfg, model, step, data = trained(args.run)
        runs = {"run-" + m: (model.encode, data, m) for m in args.modes.split(",")}
        ref_data, ref_represent = ReferenceData(data), numpy_representation(model.encode)
        print(f"encoder: trained model {args.run} at step {step} on {cfg.data.name}")
    elif args.encoder == "conv":
        net = conv_encoder()
        runs = {"conv-" + m: (net, BlobImages(), m) for m in args.modes.split(",")}
        print("encoder: randomly initialised Burgess-style conv net (stand-in, not trained)")
    else:
        runs = {m: (cheap_encoder, FactorImages(), m) for m in args.modes.split(",")}
        # a numpy "encoder": large batches (the library's CPU default suits conv encoders)
        args.batch_size = args.batch_size or 512
        print("encoder: none (cheap synthetic codes): sampling + scoring only")
    end_to_end = bool(args.run) or args.encoder == "conv"
    warm_up(metrics, args.modes.split(","))
    repeats = args.repeats or (1 if end_to_end else 3)
    for label, (encode, data, mode) in runs.items():
        report["runs"][label] = repeat_ours(
            repeats, encode, data, metrics, mode, sizes, args.batch_size, end_to_end
        )
    if args.reference_path:
        report["runs"]["reference"] = time_reference(
            args.reference_path, metrics, sizes, ref_data, ref_represent
        )
    print(f"{'metric':26s}" + "".join(f"{label:>14s}" for label in report["runs"]))
    names = metrics + (["all (one call)"] if end_to_end else ["total"])
    for name in names:
        row = []
        for runs_of in report["runs"].values():
            if name in runs_of:
                secs = runs_of[name]["seconds"]
            else:  # the total of separately timed metrics
                secs = sum(r["seconds"] for r in runs_of.values())
            row.append(f"{secs:13.2f}s" if secs == secs else f"{'-':>14s}")  # NaN: not timed
        print(f"{name:26s}" + "".join(row))
    if "reference" in report["runs"]:
        last = names[-1]

        def total(runs_of):
            if last in runs_of:
                return runs_of[last]["seconds"]
            return sum(r["seconds"] for r in runs_of.values())

        ref_total = total(report["runs"]["reference"])
        for label, runs_of in report["runs"].items():
            if label != "reference":
                print(f"reference / {label}: {ref_total / total(runs_of):.1f}x ({last})")
    for label, runs_of in report["runs"].items():
        for name, r in runs_of.items():
            if not r["scores"]:
                continue
            print(label, name, json.dumps({k: round(v, 4) for k, v in r["scores"].items()}))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
