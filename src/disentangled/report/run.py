"""``report.html`` for one run: summary, evaluation metrics, training curves, KL per dimension,
information plane and capacity (when logged), reconstructions, traversals, prior samples, config.

An InfoGAN run (no encoder posterior) gets what applies to a GAN instead: summary, evaluation,
its training curves (the players' losses, L_I per code against H(c), D's accuracies), generated
samples, the paper's code grids and the config."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import UserError
from ..io import atomic_write_bytes
from ..models.kind import config_is_generative_adversarial, is_generative_adversarial
from ..viz.curves import dim_labels, overlaid_keys, plot_curves, plot_dims
from ..viz.gan_curves import plot_gan_curves, shown_keys
from ..viz.grid import png_bytes, to_image
from ..viz.information import plot_capacity, plot_information_plane
from ..viz.samples import sample_grid
from ..viz.seeds import fixed_images
from ..viz.series import last_step, last_values, vector_keys
from ..viz.style import DPI, SHOWN_DPI, unit
from ..viz.traversal import DEFAULT_LIMIT, INACTIVE_KL, reconstruction_grid
from ..viz.traversal_figures import Traversals, display_scale, render_traversals
from . import html as h
from .rundata import RunInfo, evaluation_details, metric_rows, read_run

PLOT_RATIO = DPI / SHOWN_DPI
MODE_TEXT = {
    "prior": "quantiles of the prior N(0, 1), evenly spaced in probability from −{l} to +{l}",
    "fitted": "the same quantiles of a Gaussian fitted to the dimension's posterior means over "
    "the data sample (mean ± {l} standard deviations)",
    "minmax": "evenly spaced values from the smallest to the largest posterior mean of the "
    "dimension over the data sample",
}


@dataclass
class ModelPictures:
    """PNG/GIF bytes of the trained model's pictures (None where they could not be made)."""

    step: int | None = None
    reconstructions: bytes | None = None
    traversals: Traversals | None = None
    samples: bytes | None = None
    joint: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, PNG)
    why_not: str | None = None
    code_grids: list[tuple[str, bytes]] = field(default_factory=list)  # InfoGAN: (caption, PNG)


@torch.no_grad()
def model_pictures(
    info: RunInfo,
    *,
    device: str = "cpu",
    mode: str = "prior",
    seeds: int = 3,
    n_values: int = 10,
    limit: float | None = None,
) -> ModelPictures:
    """Load the newest checkpoint and its dataset and draw the pictures; a missing checkpoint or
    dataset becomes ``why_not`` instead of an error. ``limit`` (None: the default of the model's
    kind) is the traversal range in standard deviations of a VAE, or the half-width of an
    InfoGAN's continuous-code sweep."""
    from ..data import load_configured
    from ..train.device import resolve_device
    from ..train.load import load_model

    if info.cfg is None:
        return ModelPictures(why_not="the config could not be read, so the model cannot be built")
    cfg = info.cfg
    try:
        dev = resolve_device(device)
        data = load_configured(cfg.data, seed=cfg.train.seed)
        _, model, step = load_model(info.run, image_shape=data.image_shape, device=dev)
    except UserError as exc:
        return ModelPictures(why_not=str(exc))
    if is_generative_adversarial(model):
        return gan_pictures(model, data, dev, step, n_values=n_values, span=limit)
    x = fixed_images(data, 10, dev)
    scale = display_scale(x.shape[-1])
    recon = png_bytes(to_image(reconstruction_grid(model, x), scale))
    limit = DEFAULT_LIMIT if limit is None else limit
    trav = render_traversals(
        model, data, dev, mode=mode, seeds=seeds, n_values=n_values, limit=limit
    )
    samples = png_bytes(to_image(sample_grid(model, 64, 8, device=dev), scale))
    joint = joint_grids(model, trav, x[:1], scale, n_values)
    return ModelPictures(step, recon, trav, samples, joint)


def gan_pictures(
    model, data, dev, step: int, *, n_values: int = 10, span: float | None = None
) -> ModelPictures:
    """An InfoGAN's pictures: 64 generated samples and the code grids, the continuous codes swept
    over [−span, span] (default the paper's ±2)."""
    from ..viz.infogan import SPAN, render_code_grids
    from ..viz.infogan import sample_grid as generated_grid

    span = SPAN if span is None else span
    scale = display_scale(data.image_shape[-1])
    samples = png_bytes(to_image(generated_grid(model, 64, 8, device=dev), scale))
    grids = [
        (f"{g.name}: {g.describe(model.codes, n_values, span)}.", png_bytes(to_image(grid, scale)))
        for g, grid in render_code_grids(model, dev, n_values=n_values, span=span)
    ]
    return ModelPictures(step, samples=samples, code_grids=grids)


JOINT_GRIDS = 3  # Gaussian dimensions (largest KL first) crossed with the top categorical


def joint_grids(
    model, trav: Traversals, x_seed: torch.Tensor, scale: int, n_values: int
) -> list[tuple[str, bytes]]:
    """JointVAE's continuous x discrete grids (Dupont, 2018) for a code with both parts: the
    categorical of largest KL (rows: its categories) against each of the Gaussian dimensions of
    largest KL (columns: prior quantiles)."""
    from ..viz.joint import joint_traversal_grid

    cont = [r for r in trav.rows if r.kind == "cont"][:JOINT_GRIDS]
    disc = [r for r in trav.rows if r.kind == "disc"]
    if not cont or not disc:
        return []
    out = []
    for r in cont:
        grid = joint_traversal_grid(
            model, x_seed, cont_dim=r.index, disc_index=disc[0].index, n_values=n_values
        )
        caption = f"{disc[0].name} (rows: its {disc[0].size} categories) × {r.name} (columns)"
        # half the traversal scale (native size for 32x32 images): three grids side by side
        out.append((caption, png_bytes(to_image(grid, max(1, scale // 2)))))
    return out


def _plot(data: bytes | None, alt: str, caption: str) -> str:
    if data is None:
        return ""
    return h.figure(h.img(data, alt, shown_dpi_ratio=PLOT_RATIO), caption)


def describe_run(info: RunInfo) -> str:
    """One line: objective and parameters, data, network and code."""
    cfg = info.cfg
    if cfg is None:
        return str(info.path)
    params = ", ".join(f"{k}={v}" for k, v in cfg.objective.items() if k != "name")
    if config_is_generative_adversarial(cfg):
        latents = f"{cfg.model.latent_dim} continuous U(−1, 1) codes"
        if cfg.model.disc:
            latents = f"categorical codes {cfg.model.disc} + {latents}"
    else:
        latents = f"{cfg.model.latent_dim} Gaussian latents"
        if cfg.model.disc:
            latents += f" + categoricals {cfg.model.disc}"
    subset = f" (subset of {cfg.data.subset} images)" if cfg.data.subset else ""
    side = f" at {cfg.data.size}×{cfg.data.size}" if cfg.data.size else ""
    objective = cfg.objective.get("name", "?") + (f" ({params})" if params else "")
    return f"{objective} on {cfg.data.name}{side}{subset}; {cfg.model.net} net, {latents}"


def summary_section(info: RunInfo, pics: ModelPictures) -> h.Section:
    step = last_step(info.records)
    planned = info.cfg.train.steps if info.cfg is not None else None
    rows = [
        ("run directory", str(info.path)),
        ("model", describe_run(info)),
        ("steps logged", f"{step} of {planned}" if step is not None else "none"),
        ("checkpoint shown", pics.step if pics.step is not None else "none"),
    ]
    body = h.fields(rows)
    finals = last_values(info.records)
    if finals:
        body += f"<h3>Last logged values (step {step})</h3>"
        body += h.table(["quantity", "value", "unit"], [(k, v, unit(k)) for k, v in finals.items()])
    for part in ("config", "metrics"):
        if part in info.notes:
            body += h.note(info.notes[part])
    if config_is_generative_adversarial(info.cfg):
        body += h.note(GAN_NOTE)
    return h.Section("summary", "Summary", body)


GAN_NOTE = (
    "An InfoGAN has no encoder posterior, so this page has no reconstructions, KL per dimension "
    "or information plane; the code grids take the place of latent traversals, and "
    "`disentangled diagnose` estimates L_I per code at the checkpoint."
)


def metrics_section(info: RunInfo) -> h.Section:
    rows = metric_rows(info.evaluation)
    if rows:
        body = h.para(f"From {info.run.eval / 'metrics.json'}.")
        body += h.table(["metric", "key", "value"], rows)
        details = evaluation_details(info.evaluation)
        if details:
            body += "<h3>Evaluation settings</h3>" + h.fields(details)
    else:
        body = h.note(info.notes.get("evaluation", "the evaluation file lists no metrics"))
    for name, entries in info.other_evaluations.items():
        body += f"<h3>{h.esc(name)}</h3>" + h.fields(entries)
    return h.Section("metrics", "Evaluation metrics", body)


def curves_section(info: RunInfo) -> h.Section:
    png = plot_curves({info.name: info.records})
    if png is None:
        return h.Section("curves", "Training curves", h.note("No scalar was logged."))
    cap = (
        "Every scalar logged to metrics.jsonl against the training step; information in nats. "
        "Series spanning more than a factor of 100 are drawn on a log axis."
    )
    return h.Section("curves", "Training curves", _plot(png, "training curves", cap))


def gan_curves_section(info: RunInfo) -> h.Section:
    """An InfoGAN's curves: the GAN panels, then every other logged scalar."""
    disc = info.cfg.model.disc if info.cfg is not None else []
    gan = plot_gan_curves(info.records, disc)
    shown = shown_keys(info.records)
    rest = [k for k in overlaid_keys({info.name: info.records}) if k not in shown]
    other = plot_curves({info.name: info.records}, rest) if rest else None
    if gan is None and other is None:
        return h.Section("curves", "Training curves", h.note("No scalar was logged."))
    cap = (
        "Against the training step, in nats unless stated: the discriminator loss L_D and the "
        "generator loss L_G (dotted: 2 log 2 = 1.386, L_D when D cannot tell real from fake); L_I "
        "per categorical code with its ceiling log K dashed (L_I reaches log K when Q reads the "
        "code off every generated image); L_I per continuous code with H(c) = log 2 dashed (a "
        "reference level, not a ceiling); the fractions of real and of generated images the "
        "discriminator classifies correctly."
    )
    body = _plot(gan, "GAN training curves", cap)
    body += _plot(other, "other logged scalars", "The other logged scalars against the step.")
    return h.Section("curves", "Training curves", body)


def save_figure(info: RunInfo, name: str, png: bytes | None) -> None:
    """Keep a report figure as ``RUN_DIR/figures/NAME.png`` too (nothing when there is none)."""
    if png is None:
        return
    info.run.figures.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(info.run.figures / f"{name}.png", png)


def dims_section(info: RunInfo) -> h.Section | None:
    keys = vector_keys(info.records)
    if not keys:
        return None
    cont = info.cfg.model.latent_dim if info.cfg is not None else None
    disc = info.cfg.model.disc if info.cfg is not None else []
    body = ""
    for key in keys:
        n = len(next(r[key] for r in reversed(info.records) if isinstance(r.get(key), list)))
        png = plot_dims(info.records, key, dim_labels(n, cont, disc, key), INACTIVE_KL)
        save_figure(info, key, png)
        cap = (
            f"{key}: one value per latent (Gaussian dimensions z, then categoricals c), nats. "
            f"Right: at the last logged step, largest first; below {INACTIVE_KL:g} nats "
            "(dashed line) a latent is inactive."
        )
        body += _plot(png, key, cap)
    return h.Section("kl-dims", "KL per dimension", body)


def information_section(info: RunInfo) -> h.Section | None:
    plane = plot_information_plane(info.records)
    cap = plot_capacity(info.records)
    if plane is None and cap is None:
        return None
    save_figure(info, "information_plane", plane)
    save_figure(info, "capacity", cap)
    body = _plot(
        plane,
        "information plane",
        "I(x;z) against KL(q(z)‖p(z)), one point per logged step coloured by step. Their sum is "
        "the mean KL(q(z|x)‖p(z)) the objective pays: dotted lines keep it constant.",
    )
    body += _plot(
        cap,
        "capacity",
        "The capacity target C(t) (dashed) and the measured KL it controls, in nats.",
    )
    return h.Section("information", "Information plane and capacity", body)


def reconstruction_section(pics: ModelPictures) -> h.Section:
    if pics.reconstructions is None:
        return h.Section("reconstructions", "Reconstructions", h.note(_no_pictures(pics)))
    img = h.img(pics.reconstructions, "reconstructions", pixels=True)
    cap = "Top row: 10 data images (fixed seed); bottom row: their mean reconstructions."
    return h.Section("reconstructions", "Reconstructions", h.figure(img, cap))


def traversal_section(pics: ModelPictures, limit: float) -> h.Section:
    t = pics.traversals
    if t is None:
        return h.Section("traversals", "Latent traversals", h.note(_no_pictures(pics)))
    n_inactive = sum(not r.active for r in t.rows)
    intro = (
        f"Each row changes one latent of a seed image's code and keeps the others: Gaussian "
        f"dimensions (z) take {MODE_TEXT[t.mode].format(l=f'{limit:g}')}; categorical variables "
        f"(c) take each of their K categories. Rows are sorted by mean KL over "
        f"{t.stats.n} data images, largest first"
    )
    intro += (
        f"; {n_inactive} grey row(s) are inactive (mean KL < {INACTIVE_KL:g} nats)."
        if n_inactive
        else "; every latent is active."
    )
    body = h.para(intro)
    if t.frames:
        gif = h.img(t.gif(), "traversal animation", mime="image/gif", pixels=True)
        body += h.figure(
            gif, "Animation: one column per seed image, every row moving through its values."
        )
    grids = "".join(
        h.figure(h.img(t.png(s), f"traversal of seed image {s}", pixels=True), f"seed image {s}")
        for s in range(len(t.grids))
    )
    body += f'<div class="gallery">{grids}</div>'
    rows = []
    for r in t.rows:
        lo, hi = (
            (float(t.values[r.index, 0]), float(t.values[r.index, -1]))
            if r.kind == "cont"
            else (None, None)
        )
        rows.append((r.name, r.kl, "yes" if r.active else "no", lo, hi))
    body += "<h3>Rows</h3>" + h.table(["latent", "mean KL (nats)", "active", "from", "to"], rows)
    if pics.joint:
        body += "<h3>Continuous × discrete</h3>" + h.para(
            "Seed image 0 with the categorical of largest KL set to each category (rows) and a "
            "Gaussian dimension set to prior quantiles from 5 % to 95 % (columns)."
        )
        body += (
            '<div class="gallery">'
            + "".join(h.figure(h.img(png, cap, pixels=True), cap) for cap, png in pics.joint)
            + "</div>"
        )
    return h.Section("traversals", "Latent traversals", body)


def samples_section(pics: ModelPictures, gan: bool = False) -> h.Section:
    title = "Generated samples" if gan else "Prior samples"
    if pics.samples is None:
        return h.Section("samples", title, h.note(_no_pictures(pics)))
    img = h.img(pics.samples, title.lower(), pixels=True)
    cap = (
        "64 images G renders from noise and codes drawn from their priors (fixed seed)."
        if gan
        else "64 mean images decoded from codes drawn from the prior p(z) (fixed seed)."
    )
    return h.Section("samples", title, h.figure(img, cap))


def code_grids_section(pics: ModelPictures) -> h.Section:
    """An InfoGAN's code grids, as in the paper's figures."""
    if not pics.code_grids:
        return h.Section("code-grids", "Code grids", h.note(_no_pictures(pics)))
    intro = (
        "Images G renders from chosen codes: each grid varies one categorical code down its rows "
        "and one continuous code (or the noise) along its columns, the noise and the other "
        "categorical values fixed along a row and the other continuous codes at 0. The draws "
        "come from a fixed seed, so every run shows the same ones."
    )
    grids = "".join(h.figure(h.img(png, cap, pixels=True), cap) for cap, png in pics.code_grids)
    return h.Section("code-grids", "Code grids", h.para(intro) + grids)


def config_section(info: RunInfo) -> h.Section:
    return h.Section("config", "Configuration", h.pre(info.config_text))


def _no_pictures(pics: ModelPictures) -> str:
    return f"No pictures of the model: {pics.why_not}"


def run_report_html(
    info: RunInfo,
    *,
    device: str = "cpu",
    mode: str = "prior",
    seeds: int = 3,
    n_values: int = 10,
    limit: float | None = None,
) -> str:
    """The report page of one run as a string. ``limit`` (None: the default of the model's
    kind): see :func:`model_pictures`."""
    pics = model_pictures(
        info, device=device, mode=mode, seeds=seeds, n_values=n_values, limit=limit
    )
    if config_is_generative_adversarial(info.cfg):
        sections = [
            summary_section(info, pics),
            metrics_section(info),
            gan_curves_section(info),
            samples_section(pics, gan=True),
            code_grids_section(pics),
            config_section(info),
        ]
    else:
        sections = vae_sections(info, pics, DEFAULT_LIMIT if limit is None else limit)
    return h.page(
        f"Run report: {info.name}",
        describe_run(info),
        [s for s in sections if s is not None],
        footer=f"Written by disentangled from {info.path}.",
    )


def vae_sections(info: RunInfo, pics: ModelPictures, limit: float) -> list[h.Section | None]:
    """The sections of a VAE run's page (None where a term was not logged)."""
    return [
        summary_section(info, pics),
        metrics_section(info),
        curves_section(info),
        dims_section(info),
        information_section(info),
        reconstruction_section(pics),
        traversal_section(pics, limit),
        samples_section(pics),
        config_section(info),
    ]


def write_run_report(
    path: str | Path,
    out: str | Path | None = None,
    *,
    device: str = "cpu",
    mode: str = "prior",
    seeds: int = 3,
    n_values: int = 10,
    limit: float | None = None,
) -> Path:
    """Write the report of the run in ``path`` to ``out`` (default RUN_DIR/report.html)."""
    info = read_run(path)
    text = run_report_html(
        info, device=device, mode=mode, seeds=seeds, n_values=n_values, limit=limit
    )
    return h.write_page(Path(out) if out is not None else info.run.report, text)
