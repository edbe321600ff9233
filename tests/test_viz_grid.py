"""Image grids, PNG encoding and row labels: every pixel where it belongs."""

from __future__ import annotations

import io

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from disentangled.viz.grid import make_grid, png_bytes, to_image
from disentangled.viz.labels import DIM_ALPHA, label_rows


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 13),
    ncol=st.integers(1, 6),
    pad=st.integers(0, 3),
    c=st.sampled_from([1, 3]),
    h=st.integers(1, 5),
    w=st.integers(1, 5),
)
def test_grid_places_image_i_at_row_i_div_ncol_and_column_i_mod_ncol(n, ncol, pad, c, h, w):
    images = torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(n * 31 + h))
    grid = make_grid(images, ncol, pad=pad, pad_value=-1.0)
    rows = -(-n // ncol)
    assert grid.shape == (c, rows * (h + pad) + pad, ncol * (w + pad) + pad)
    covered = torch.zeros(grid.shape[1:], dtype=torch.bool)
    for i in range(n):
        r, k = divmod(i, ncol)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        assert torch.equal(grid[:, y : y + h, x : x + w], images[i])
        covered[y : y + h, x : x + w] = True
    assert torch.all(grid[:, ~covered] == -1.0)  # padding and empty cells


def test_png_round_trip_is_exact_and_upscaling_is_nearest_neighbour():
    levels = torch.arange(256, dtype=torch.float32).reshape(1, 16, 16) / 255.0
    img = Image.open(io.BytesIO(png_bytes(to_image(levels, scale=3))))
    arr = np.asarray(img)
    assert arr.shape == (48, 48)
    np.testing.assert_array_equal(arr[::3, ::3], np.arange(256).reshape(16, 16))
    np.testing.assert_array_equal(arr[1::3, 2::3], arr[::3, ::3])
    rgb = torch.stack([levels[0], 1 - levels[0], torch.full((16, 16), 2.0)])  # 2.0 clamps to 1
    arr = np.asarray(to_image(rgb))
    assert arr.shape == (16, 16, 3) and np.all(arr[..., 2] == 255)
    np.testing.assert_array_equal(arr[..., 0].astype(int) + arr[..., 1], 255)


def test_labels_add_a_margin_and_grey_out_muted_rows_only():
    base = np.zeros((30, 20, 3), dtype=np.uint8)
    base[:, :, 0] = 200  # a red picture: two rows of height 10 at y = 5 and y = 15
    img = Image.fromarray(base)
    out = np.asarray(label_rows(img, ["z0", "z1  inactive"], top=5, pitch=10, height=10,
                                muted=[False, True]))  # fmt: skip
    margin = out.shape[1] - 20
    assert margin > 0 and out.shape[0] == 30
    pic = out[:, margin:].astype(int)
    np.testing.assert_array_equal(pic[:15], base[:15])  # above and the first row unchanged
    greyed = np.round(np.array([200, 0, 0]) * (1 - DIM_ALPHA) + 255 * DIM_ALPHA)
    assert np.all(np.abs(pic[15:25] - greyed) <= 1)  # the muted row is blended towards white
    np.testing.assert_array_equal(pic[25:], base[25:])
    assert (out[:, :margin] < 128).any()  # some text was drawn in the margin
