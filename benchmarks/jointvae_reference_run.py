"""Full-length JointVAE MNIST runs with a trainer organised like the authors' reference trainer.

The library's ``jointvae-mnist`` preset differs from the authors' code (Schlumberger/joint-vae)
in a few listed ways (docs/jointvae.md): batches drawn with replacement instead of shuffled
epochs, the schedule counting from 0 instead of 1, the loss not divided by the number of pixels,
28x28 digits resized once with PyTorch's kernel instead of per item with Pillow, and PyTorch's
current initialisation of transposed convolutions instead of 0.3.1's. This script removes all
of them at once: it trains with the update of ``jointvae_speed.py``'s conventional loop (the
loss written out as theirs, divided by 1,024, the step counter incremented before the schedule
is read) on shuffled epochs of the digits resized to 32x32 by Pillow (bilinear, as their
``Resize(32)``; resized once up front, which gives the same tensors as resizing per item), for
the paper's 100 epochs (93,800 updates, the last batch of each epoch partial), with 0.3.1's
transposed-convolution initialisation, then scores the categorical's argmax on the 10,000 test
digits (Hungarian and majority accuracy, NMI) and writes the result as JSON.

    OMP_NUM_THREADS=1 python benchmarks/jointvae_reference_run.py --data MNIST_DIR --seed 0 \\
        --out runs/jointvae-reference/seed0.json [--epochs 100] [--modern-init]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jointvae_speed as conv  # noqa: E402


def test_scores(encoder, data: str) -> dict:
    """Scores of the categorical's argmax (the last ``DISC`` encoder outputs) on the test split,
    as ``disentangled evaluate`` reports them."""
    import torch

    from disentangled.data import load_dataset
    from disentangled.evaluation.discrete_code import score_categories

    test = load_dataset("mnist", path=data, split="test")
    with torch.no_grad():
        chunks = [
            encoder(test.batch(torch.arange(s, min(s + 1000, len(test))), "cpu"))
            for s in range(0, len(test), 1000)
        ]
    categories = torch.cat(chunks)[:, -conv.DISC :].argmax(1, keepdim=True).numpy()
    return score_categories(categories, [conv.DISC], test)


def pillow_resized(data: str):
    """The 60,000 training digits resized to 32x32 by Pillow (bilinear) and scaled to [0, 1]:
    float32 (N, 1, 32, 32), what the authors' ``Resize(32)`` and ``ToTensor()`` give per item."""
    import torch

    digits, _ = conv.raw_digits(data)
    return torch.stack([conv.pillow_item(d) for d in digits])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder with the MNIST IDX files")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--modern-init", action="store_true", help="keep PyTorch's current init")
    ap.add_argument("--out", required=True, help="JSON file for the result")
    args = ap.parse_args()

    import torch

    parts: dict = {}
    update = conv.conventional_parts(
        args.data, seed=args.seed, legacy_init=not args.modern_init, parts=parts
    )
    images = pillow_resized(args.data)
    t0 = time.perf_counter()
    steps = 0
    for epoch in range(args.epochs):
        order = torch.randperm(len(images))
        for start in range(0, len(images), conv.BATCH):
            update(images[order[start : start + conv.BATCH]])
            steps += 1
        elapsed = time.perf_counter() - t0
        print(f"epoch {epoch + 1}/{args.epochs}: {steps} updates, {elapsed:.0f} s", flush=True)
    seconds = time.perf_counter() - t0
    result = {
        "command": "python " + " ".join(sys.argv),
        "seed": args.seed,
        "epochs": args.epochs,
        "updates": steps,
        "legacy_init": not args.modern_init,
        "train_seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "load_average_end": os.getloadavg()[0],
        "test": test_scores(parts["encoder"], args.data),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
