"""``disentangled data list|fetch|compare``: what data is present, getting it, and checking the
procedural dSprites against the official file."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, UserError

NAME = "data"
HELP = "list the datasets and their files, download one, or compare procedural dSprites"

DSPRITES_URLS_EXTRA = (  # the same repository under its current organisation name
    "https://raw.githubusercontent.com/google-deepmind/dsprites-dataset/master/"
    "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="every dataset, and whether its files are present and where")
    f = sub.add_parser("fetch", help="download a dataset's files (verified, with a progress bar)")
    f.add_argument("name", help="a dataset name (see `disentangled data list`)")
    f.add_argument("--path", help="file or folder to put it in (default: the data folder)")
    f.add_argument("--no-progress", action="store_true", help="no progress bar")
    c = sub.add_parser("compare", help="per-shape pixel IoU of procedural vs official dSprites")
    c.add_argument("name", choices=["dsprites"], help="the dataset to compare (dsprites)")
    c.add_argument("--path", help="the official npz (default: the data folder)")
    c.add_argument("--subset", type=int, help="compare N random images only (default: all)")
    c.add_argument("--seed", type=int, default=0, help="seed of the random subset (default 0)")


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return list_datasets()
    if args.action == "fetch":
        return fetch(args.name, args.path, progress=not args.no_progress)
    return compare_dsprites(args.path, args.subset, args.seed)


# ---- list -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """One dataset's line in ``data list``."""

    name: str
    kind: str  # procedural | embedded | file | files | folder | variant
    state: str  # present | missing | cached | not built | - (nothing on disk)
    where: str


def _size(p: Path) -> str:
    return f" ({p.stat().st_size / 1e6:,.0f} MB)" if p.is_file() else ""


def _cached(name: str, p: Path) -> Status:
    state = "cached" if p.is_file() else "not built"
    return Status(name, "procedural", state, f"{p}{_size(p)}")


def _mnist_status(name: str) -> Status:
    from ..data import mnist

    source = mnist.MNIST if name == "mnist" else mnist.FASHION_MNIST
    folder = mnist.data_folder(source)
    stems = [s for pair in mnist.STEMS.values() for s in pair]
    have = [any(c.is_file() for c in mnist.candidates(folder, s)) for s in stems]
    state = "present" if all(have) else f"missing {len(have) - sum(have)} of {len(have)}"
    return Status(name, "files", state, str(folder))


def status(name: str) -> Status:
    """Where dataset ``name`` keeps its files and whether they are there."""
    from ..data import dsprites, dsprites_official, image_folder, shapes3d, shapes3d_procedural

    if name == "dsprites":
        return _cached(name, dsprites.cache_path())
    if name == "shapes3d":
        return _cached(name, shapes3d_procedural.cache_path())
    if name == "dsprites-official":
        p = dsprites_official.resolve_path()
        return Status(name, "file", "present" if p.is_file() else "missing", f"{p}{_size(p)}")
    if name == "shapes3d-official":
        p = shapes3d.resolve_path()
        return Status(name, "file", "present" if p.is_file() else "missing", f"{p}{_size(p)}")
    if name.startswith("dsprites-"):
        return Status(name, "variant", "-", "composed per batch from dsprites (or base=official)")
    if name == "digits":
        return Status(name, "embedded", "present", "ships with scikit-learn")
    if name == "celeba":
        p = image_folder.celeba_path()
        return Status(name, "folder", "present" if p.is_dir() else "missing", str(p))
    if name == "image-folder":
        return Status(name, "folder", "-", f"path=FOLDER; cache in {image_folder.cache_root()}")
    if name in ("mnist", "fashion-mnist"):
        try:
            return _mnist_status(name)
        except (ImportError, AttributeError):
            pass
    return Status(name, "?", "-", "see the dataset's loader")


def list_datasets() -> int:
    from ..data import available_datasets
    from ..data.download import ENV_VAR, cache_dir

    env = os.environ.get(ENV_VAR)
    print(f"data folder: {cache_dir()}  (${ENV_VAR} {'= ' + env if env else 'not set'})")
    rows = [status(n) for n in available_datasets()]
    widths = [max(len(getattr(r, k)) for r in rows) for k in ("name", "kind", "state")]
    for r in rows:
        cells = (r.name, r.kind, r.state)
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + r.where)
    return 0


# ---- fetch ----------------------------------------------------------------------------------


def _fetch_file(
    dest: Path, urls: tuple[str, ...], *, sha256: str | None, git_sha1: str | None, progress: bool
) -> Path:
    """``dest`` verified in place, else downloaded from the first URL that works."""
    from ..data.download import download, verify

    if dest.is_file():
        verify(dest, sha256_hex=sha256, git_sha1=git_sha1, hint="; delete it and fetch again")
        print(f"already present and verified: {dest}")
        return dest
    errors = []
    for url in urls:
        try:
            download(url, dest, sha256_hex=sha256, git_sha1=git_sha1, progress=progress)
        except DataError as exc:
            errors.append(str(exc))
            continue
        print(f"downloaded and verified: {dest}")
        return dest
    tried = "; ".join(errors)
    raise DataError(f"could not fetch {dest.name} from any of {len(urls)} URL(s): {tried}")


def _fetch_generated(name: str, path: str | None) -> None:
    """Procedural datasets: nothing to download; build their cache now."""
    from ..data import dsprites, shapes3d_procedural

    if name == "dsprites":
        arr, where = dsprites.load_or_build(path), dsprites.cache_path(path)
    else:
        arr = shapes3d_procedural.load_or_build_weights(path)
        where = shapes3d_procedural.cache_path(path)
    print(
        f"{name} is generated here, nothing to download; cache {where} ({arr.nbytes / 1e6:,.0f} MB)"
    )


def _fetch_mnist(name: str, path: str | None, progress: bool) -> None:
    from ..data import mnist

    source = mnist.MNIST if name == "mnist" else mnist.FASHION_MNIST
    folder = mnist.data_folder(source, path)
    for stem in [s for pair in mnist.STEMS.values() for s in pair]:
        got = mnist.find_file(source, folder, stem, download_missing=True, progress=progress)
        print(f"present: {got}")


def fetch(name: str, path: str | None, *, progress: bool = True) -> int:
    """Download the files of dataset ``name`` (or say why there is nothing to download)."""
    from ..data import available_datasets, dsprites_official, image_folder, shapes3d

    if name not in available_datasets():
        raise UserError(f"unknown dataset {name!r}; known: {', '.join(available_datasets())}")
    if name == "dsprites-official":
        urls = (dsprites_official.URL, *DSPRITES_URLS_EXTRA)
        dest = dsprites_official.resolve_path(path)
        _fetch_file(dest, urls, sha256=None, git_sha1=dsprites_official.GIT_SHA1, progress=progress)
    elif name == "shapes3d-official":
        dest = shapes3d.resolve_path(path)
        _fetch_file(dest, shapes3d.URLS, sha256=shapes3d.SHA256, git_sha1=None, progress=progress)
    elif name in ("mnist", "fashion-mnist"):
        _fetch_mnist(name, path, progress)
    elif name == "celeba":
        p = image_folder.celeba_path(path)
        if not p.is_dir():
            raise DataError(f"celeba has no automatic download. {image_folder.celeba_message(p)}")
        print(f"present: {p}")
    elif name == "image-folder":
        raise UserError("image-folder reads your own folder (path=FOLDER); nothing to fetch")
    elif name in ("dsprites", "shapes3d"):
        _fetch_generated(name, path)
    elif name == "digits":
        print("digits ships with scikit-learn; nothing to download")
    elif name.startswith("dsprites-"):
        print(
            f"{name} is composed per batch from dsprites, nothing to download; "
            "for base=official run `disentangled data fetch dsprites-official`"
        )
    else:
        raise UserError(f"{name}: no fetch recipe; loading it says where its files belong")
    return 0


# ---- compare --------------------------------------------------------------------------------

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def pixel_counts(
    a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bit-packed binary images a, b uint8 (n, bytes) -> per image |a|, |b|, |a and b|, |a or b|,
    each int64 (n,)."""
    count = lambda x: _POPCOUNT[x].sum(axis=1, dtype=np.int64)  # noqa: E731
    return count(a), count(b), count(a & b), count(a | b)


def iou_by_shape(
    official: np.ndarray, procedural: np.ndarray, shapes: np.ndarray, chunk: int = 16384
) -> dict[str, dict[str, float]]:
    """Packed official and procedural images (n, 512) of the same factors and their shape
    indices (n,) -> per shape: images, pooled IoU (sum of intersections / sum of unions),
    mean and 5th-percentile per-image IoU, and the area ratio procedural / official."""
    from ..data.dsprites import SHAPE_NAMES

    n = len(shapes)
    counts = np.empty((4, n), dtype=np.int64)
    for s in range(0, n, chunk):
        counts[:, s : s + chunk] = pixel_counts(official[s : s + chunk], procedural[s : s + chunk])
    area_off, area_proc, inter, union = counts
    per_image = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    out = {}
    for k, shape in enumerate(SHAPE_NAMES):
        m = shapes == k
        if not m.any():
            continue
        out[shape] = {
            "images": int(m.sum()),
            "iou": float(inter[m].sum() / max(union[m].sum(), 1)),
            "mean_iou": float(per_image[m].mean()),
            "p5_iou": float(np.percentile(per_image[m], 5)),
            "area_ratio": float(area_proc[m].sum() / max(area_off[m].sum(), 1)),
        }
    return out


def compare_dsprites(path: str | None, subset: int | None, seed: int) -> int:
    """Render the official file's factor values procedurally and report the per-shape IoU."""
    from ..data import dsprites, dsprites_official, grid
    from ..data.base import choose_subset

    p = dsprites_official.resolve_path(path)
    if not p.is_file():
        raise DataError(
            f"the official dSprites file is not at {p}, so there is nothing to compare against: "
            f"run `disentangled data fetch dsprites-official`, or put {dsprites_official.FILENAME} "
            f"there by hand (from {dsprites_official.URL}), or pass --path FILE"
        )
    official = dsprites_official.load_official(p)
    codes = official.codes if official.codes is not None else np.arange(len(official))
    rows = np.arange(len(official))
    if subset is not None:
        rows = choose_subset(len(official), subset, seed)
    off = official.packed.numpy()[rows]
    proc = dsprites.render_packed(codes[rows])
    shapes = grid.unravel_np(codes[rows], dsprites.FACTOR_SIZES)[:, 1]
    table = iou_by_shape(off, proc, shapes)
    print(f"procedural vs official dSprites: {len(rows):,} images of {p}")
    print(f"{'shape':<8} {'images':>8} {'IoU':>7} {'mean':>7} {'p5':>7} {'area ratio':>11}")
    for shape, r in table.items():
        print(
            f"{shape:<8} {r['images']:>8,} {r['iou']:>7.4f} {r['mean_iou']:>7.4f} "
            f"{r['p5_iou']:>7.4f} {r['area_ratio']:>11.4f}"
        )
    return 0
