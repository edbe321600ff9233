"""Time and peak memory to build or load each dataset, and ``batch(index)`` throughput.

Each case runs in its own child process (own peak RSS, clean allocator) with the allocator
tuning the training loop applies at start-up. A case builds or loads one dataset (caches live in
a fresh temporary folder, so "build" really builds and "load" reads what the build cached), then
times ``dataset.batch(index, "cpu")`` -- the float32 [0, 1] batch the training loop draws -- for
B = 64, 128, 256 on indices drawn uniformly like the loop draws them. Reported per B: median
images/s over the windows in wall-clock time, and per CPU-second of the process (numpy's batch
paths are single-threaded, so on a shared machine the CPU figure is the steadier one). Peak RSS is
the child's maximum resident set (VmHWM) over building and batching; "data MB" subtracts the peak
after imports (it includes lazily made parts such as the noise banks, and the batch buffers).

Synthetic inputs stand in for files that cannot ship: a 20,000-row 3dshapes-format h5 (random
pixels, real label grid; needs h5py) and a folder of 2,000 JPEG faces-sized (178x218) images.
``--real`` adds the official dSprites / Shapes3D files when present in the data folder.

    python benchmarks/data_speed.py [--seconds 1] [--windows 5] [--only NAME ...] [--real]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATCHES = (64, 128, 256)
H5_ROWS = 20_000
FOLDER_IMAGES = 2_000


def _rss_mb() -> float:
    """Peak resident set of this process in MB: VmHWM (reset by exec, unlike ru_maxrss, which a
    child inherits from its parent's peak), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _make_h5(path: Path, rows: int) -> None:
    import h5py
    import numpy as np

    from disentangled.data import grid
    from disentangled.data.shapes3d_procedural import FACTOR_NAMES, FACTOR_SIZES, FACTOR_VALUES

    codes = np.sort(np.random.default_rng(0).choice(480_000, rows, replace=False))
    f = grid.unravel_np(codes, FACTOR_SIZES)
    labels = np.stack([FACTOR_VALUES[n][f[:, k]] for k, n in enumerate(FACTOR_NAMES)], 1)
    images = np.random.default_rng(1).integers(0, 256, (rows, 64, 64, 3), dtype=np.uint8)
    with h5py.File(path, "w") as h:
        h.create_dataset("images", data=images, chunks=(1, 64, 64, 3), compression="gzip")
        h.create_dataset("labels", data=labels)


def _make_folder(path: Path, n: int) -> None:
    import numpy as np
    from PIL import Image

    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:218, 0:178]
    for i in range(n):
        c = rng.integers(0, 256, 3)
        img = ((xx[..., None] * c / 178 + yy[..., None] * (255 - c) / 218) / 2).astype(np.uint8)
        Image.fromarray(img).save(path / f"{i:06d}.jpg", quality=90)


# name -> (registry name, options, what the build step is)
CASES: dict[str, tuple[str, dict, str]] = {
    "dsprites/build": ("dsprites", {}, "render all 737,280 images, bit-pack, write the cache"),
    "dsprites/load": ("dsprites", {}, "read the packed cache"),
    "dsprites-color": ("dsprites-color", {}, "cached packed base"),
    "dsprites-noisy": ("dsprites-noisy", {}, "cached packed base + noise banks"),
    "dsprites-scream": ("dsprites-scream", {}, "cached packed base + texture"),
    "digits": ("digits", {}, "scikit-learn's arrays"),
    "shapes3d/build": ("shapes3d", {}, "ray-cast the 480 weight maps, write the cache"),
    "shapes3d/load": ("shapes3d", {}, "read the weight-map cache"),
    "shapes3d-h5/memory": ("shapes3d-official", {"in_memory": True}, "20k-row h5 into memory"),
    "shapes3d-h5/stream": ("shapes3d-official", {"in_memory": False}, "20k-row h5, streamed"),
    "image-folder/build": ("image-folder", {}, "decode 2,000 JPEGs, crop, resize, cache"),
    "image-folder/load": ("image-folder", {}, "read the decoded cache"),
}
REAL_CASES: dict[str, tuple[str, dict, str]] = {
    "dsprites-official": ("dsprites-official", {}, "official npz, streamed and bit-packed"),
    "shapes3d-official": ("shapes3d-official", {"in_memory": True}, "official h5 into memory"),
}


def child(case: str, workdir: str, seconds: float, windows: int) -> dict:
    from disentangled._malloc import tune_malloc

    tuned = tune_malloc()
    import torch

    from disentangled.data import load_dataset

    base_rss = _rss_mb()
    name, opts, _ = {**CASES, **REAL_CASES}[case]
    opts = dict(opts)
    work = Path(workdir)
    if case.startswith("shapes3d-h5"):
        opts.update(path=str(work / "3dshapes.h5"), sha256=None, progress=False)
        import disentangled.data.shapes3d as s3

        real_load = s3.load_official
        s3.load_official = lambda *a, **kw: real_load(*a, expected_count=None, **kw)
    elif case.startswith("image-folder"):
        opts.update(path=str(work / "faces"), progress=False)
    elif case == "shapes3d-official":
        opts.update(progress=False)
    t0 = time.perf_counter()
    ds = load_dataset(name, **opts)
    build_s = time.perf_counter() - t0

    gen = torch.Generator().manual_seed(0)
    out = {}
    for b in BATCHES:
        draws = [torch.randint(len(ds), (b,), generator=gen) for _ in range(64)]
        for idx in draws[:5]:
            ds.batch(idx, "cpu")
        wall, cpu = [], []
        for _ in range(windows):
            n, t, c = 0, time.perf_counter(), time.process_time()
            while time.perf_counter() - t < seconds:
                ds.batch(draws[n % len(draws)], "cpu")
                n += 1
            wall.append(n * b / (time.perf_counter() - t))
            cpu.append(n * b / max(time.process_time() - c, 1e-9))
        out[b] = {"wall": statistics.median(wall), "cpu": statistics.median(cpu)}
    result = {
        "case": case,
        "n": len(ds),
        "shape": list(ds.image_shape),
        "build_s": round(build_s, 3),
        "peak_rss_mb": round(_rss_mb(), 1),
        "data_mb": round(_rss_mb() - base_rss, 1),
        "malloc_tuned": tuned,
        "batch": {str(k): {m: round(v) for m, v in r.items()} for k, r in out.items()},
    }
    if case == "shapes3d/load":  # every image once: what building the whole set costs
        t0 = time.perf_counter()
        for s in range(0, len(ds), 1024):
            ds.batch(torch.arange(s, min(s + 1024, len(ds))), "cpu")
        result["render_all_s"] = round(time.perf_counter() - t0, 2)
    return result


def run_child(case: str, workdir: str, env: dict, args) -> dict:
    cmd = [sys.executable, __file__, "--child", case, "--workdir", workdir]
    cmd += ["--seconds", str(args.seconds), "--windows", str(args.windows)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"case": case, "error": out.stderr.strip().splitlines()[-1][-300:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="seconds per timing window")
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="case names (default: all)")
    ap.add_argument("--real", action="store_true", help="also the official files, when present")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.workdir, args.seconds, args.windows)))
        return

    cases = list(CASES) + (list(REAL_CASES) if args.real else [])
    if args.only:
        cases = [c for c in cases if c in args.only or c.split("/")[0] in args.only]
    print(f"# python {' '.join(sys.argv)}")
    print(
        f"# {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; batch(index) "
        f"float32 on the CPU, median of {args.windows} windows x {args.seconds:g} s"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="data_speed_") as work:
        private = dict(os.environ, DISENTANGLED_DATA=str(Path(work) / "cache"))
        if any(c.startswith("shapes3d-h5") for c in cases):
            try:
                _make_h5(Path(work) / "3dshapes.h5", H5_ROWS)
            except ImportError:
                cases = [c for c in cases if not c.startswith("shapes3d-h5")]
                print("# h5py not installed: shapes3d-h5 cases skipped")
        if any(c.startswith("image-folder") for c in cases):
            _make_folder(Path(work) / "faces", FOLDER_IMAGES)
        header = f"{'case':<20} {'N':>8} {'build/load s':>12} {'peak MB':>8} {'data MB':>8}"
        cols = "".join(f" {'B=' + str(b) + ' wall/cpu img/s':>24}" for b in BATCHES)
        print(header + cols)
        for case in cases:
            env = dict(os.environ) if case in REAL_CASES else private  # real files: your folder
            r = run_child(case, work, env, args)
            results.append(r)
            if "error" in r:
                print(f"{case:<20} error: {r['error']}")
                continue
            line = f"{case:<20} {r['n']:>8,} {r['build_s']:>12.2f} {r['peak_rss_mb']:>8.0f} "
            line += f"{r['data_mb']:>8.0f}"
            for b in BATCHES:
                t = r["batch"][str(b)]
                line += f" {t['wall']:>11,} / {t['cpu']:>10,}"
            print(
                line
                + (f"  (all 480k rendered in {r['render_all_s']} s)" if "render_all_s" in r else "")
            )
    print(f"# load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
