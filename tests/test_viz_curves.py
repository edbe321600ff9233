"""Series read from metrics.jsonl records, units, and the plots drawn from them."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from disentangled.viz.curves import dim_labels, overlaid_keys, plot_curves, plot_dims, use_log_axis
from disentangled.viz.information import capacity_pairs, plot_capacity, plot_information_plane
from disentangled.viz.series import (
    dims_series,
    joint_series,
    last_step,
    last_values,
    scalar_keys,
    series,
    vector_keys,
)
from disentangled.viz.style import DPI, PANEL, unit

RECORDS = [
    {"step": 10, "time": 1.0, "recon": 900.0, "kl": 1.0, "kl_dims": [0.5, 0.5], "beta": 4.0},
    {"step": 20, "time": 2.0, "recon": None, "kl": 2.0, "kl_dims": [1.5, None], "note": "x"},
    {"step": 20, "event": "diverged", "message": "kl was nan"},
    {"step": 30, "time": 3.0, "recon": 700.0, "kl": 3.0, "kl_dims": [1.0, 2.0, 0.0], "flag": True},
    {"step": 40, "loss": 650.0, "images_per_s": 100.0, "kl_dims": [2.5, 0.5]},
]


def test_scalar_keys_in_display_order_without_step_text_or_booleans():
    assert scalar_keys(RECORDS) == ["loss", "recon", "kl", "beta", "images_per_s", "time"]
    assert vector_keys(RECORDS) == ["kl_dims"]
    assert overlaid_keys({"a": RECORDS[:1], "b": [{"step": 1, "loss": 2.0, "mi": 1.0}]}) == [
        "loss", "recon", "kl", "mi", "beta", "time",
    ]  # fmt: skip


def test_series_skip_missing_and_null_values():
    s, v = series(RECORDS, "recon")
    np.testing.assert_array_equal(s, [10, 30])
    np.testing.assert_array_equal(v, [900, 700])
    s, v = series(RECORDS, "absent")
    assert s.size == v.size == 0
    s, v = joint_series(RECORDS, ["kl", "time"])
    np.testing.assert_array_equal(s, [10, 20, 30])
    np.testing.assert_array_equal(v, [[1, 1], [2, 2], [3, 3]])
    assert last_values(RECORDS)["recon"] == 700.0 and last_values(RECORDS)["loss"] == 650.0
    assert last_step(RECORDS) == 40 and last_step([]) is None


def test_dims_series_keeps_the_last_length_and_marks_nulls():
    s, v = dims_series(RECORDS, "kl_dims")
    np.testing.assert_array_equal(s, [10, 20, 40])  # the 3-long record at step 30 left out
    assert v.shape == (3, 2) and np.isnan(v[1, 1]) and v[2, 0] == 2.5


def test_units_and_labels():
    assert unit("recon") == unit("kl_qz_pz") == unit("tc") == "nats"
    assert unit("time") == "seconds" and unit("images_per_s") == "images / s"
    assert unit("disc_accuracy") == "fraction" and "no unit" in unit("beta")
    assert dim_labels(4, cont=2, disc=[3, 5]) == ["z0", "z1", "c0 (K=3)", "c1 (K=5)"]
    assert dim_labels(3, cont=2, disc=[3, 5]) == ["z0", "z1", "z2"]  # lengths disagree
    assert dim_labels(2, cont=2, disc=[3, 5], key="kl_disc_dims") == ["c0 (K=3)", "c1 (K=5)"]
    assert dim_labels(2, cont=2, disc=[3, 5], key="kl_cont_dims") == ["z0", "z1"]


def test_log_axis_only_for_positive_series_spanning_two_decades():
    assert use_log_axis([np.array([1.0, 50.0]), np.array([200.0])])
    assert not use_log_axis([np.array([1.0, 50.0])])
    assert not use_log_axis([np.array([0.0, 1e6])])
    assert not use_log_axis([])


def test_capacity_pairs_match_targets_to_their_kl():
    keys = ["capacity", "kl", "capacity_disc", "kl_disc", "capacity_cont", "loss"]
    assert capacity_pairs(keys) == [
        ("capacity", "kl"), ("capacity_disc", "kl_disc"), ("capacity_cont", None),
    ]  # fmt: skip


def _size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def test_plots_are_pngs_of_the_stated_size_or_none_without_data():
    png = plot_curves({"run": RECORDS})
    assert _size(png) == (round(PANEL[0] * 3 * DPI), round(PANEL[1] * 2 * DPI))  # 6 keys, 3 x 2
    assert plot_curves({"run": []}) is None
    assert plot_dims(RECORDS) is not None and plot_dims([{"step": 1}]) is None
    assert plot_information_plane(RECORDS) is None and plot_capacity(RECORDS) is None
    logged = [
        {"step": i, "mi": 0.5 * i, "kl_qz_pz": 0.1 * i, "capacity": i, "kl": i} for i in range(5)
    ]
    assert plot_information_plane(logged) is not None
    assert _size(plot_capacity(logged))[0] > 0
