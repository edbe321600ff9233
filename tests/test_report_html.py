"""Page building blocks and what a report reads from a run directory, on constructed inputs."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser

from PIL import Image

from disentangled.report import html as h
from disentangled.report.rundata import (
    evaluation_details,
    metric_rows,
    read_evaluation,
    read_other_evaluations,
    run_labels,
)


class PageParser(HTMLParser):
    """Collects tags with their attributes, ids and text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.ids: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.add(a["id"])

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> PageParser:
    p = PageParser()
    p.feed(page)
    return p


def self_contained_problems(page: str) -> list[str]:
    """Everything that would make a page depend on something outside itself, or run code."""
    p = parse(page)
    problems = []
    for tag, a in p.tags:
        if tag in ("script", "iframe", "object", "embed", "link", "base"):
            problems.append(f"<{tag}>")
        if tag == "img" and not a.get("src", "").startswith("data:image/"):
            problems.append(f"img src {a.get('src', '')[:40]}")
        if "href" in a and not (a["href"].startswith("#") and a["href"][1:] in p.ids):
            problems.append(f"href {a['href']}")
        problems += [f"{tag} {k}" for k in a if k.startswith("on")]
    if "url(" in page or "@import" in page or "http://" in page or "https://" in page:
        problems.append("external reference in text or CSS")
    return problems


def _png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 200, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_page_links_every_section_from_the_contents_and_loads_nothing():
    png = _png(300, 150)
    sections = [
        h.Section("one", "First", h.figure(h.img(png, "a plot", shown_dpi_ratio=1.5), "cap")),
        h.Section("two", "Second <b>", h.table(["k", "v"], [("a", 1.5), ("b", None)])),
    ]
    page = h.page("Title & <script>alert(1)</script>", "sub", sections, footer="end")
    assert self_contained_problems(page) == []
    p = parse(page)
    links = [a["href"] for tag, a in p.tags if tag == "a"]
    assert links == ["#one", "#two", "#top", "#top"]  # contents, then one way back per section
    assert "<script>" not in page and "&lt;script&gt;" in page and "Second &lt;b&gt;" in page
    (img,) = [a for tag, a in p.tags if tag == "img"]
    assert (img["width"], img["height"]) == ("200", "100")  # 150 dpi shown at 100 dpi
    assert base64.b64decode(img["src"].split(",", 1)[1]) == png
    assert "@media print" in page


def test_cells_are_formatted_for_reading():
    assert h.fmt(0.123456) == "0.1235" and h.fmt(12345.678) == "1.235e+04"
    assert h.fmt(3) == "3" and h.fmt(True) == "true"
    assert h.fmt(None) == h.fmt(float("nan")) == h.fmt(float("inf")) == "—"
    assert h.fmt([0.5, 2]) == "[0.5, 2]"
    assert h.fmt(list(range(20))).endswith("… (20 values)]")
    assert h.fmt([[1, 2, 3], [4, 5, 6]]) == "(2×3 values)"
    row = h.table(["x"], [(2.0,), ("text",)])
    assert '<td class="num">2</td>' in row and "<td>text</td>" in row


def test_evaluation_file_is_flattened_and_problems_are_explained(tmp_path):
    path = tmp_path / "metrics.json"
    data, why = read_evaluation(path)
    assert data is None and "disentangled evaluate" in why
    path.write_text("{not json")
    data, why = read_evaluation(path)
    assert data is None and "could not be read" in why
    path.write_text(json.dumps({"scores": {}}))
    assert "no 'metrics'" in read_evaluation(path)[1]
    ev = {
        "metrics": {
            "dci": {"disentanglement": 0.5, "informativeness": {"train": 0.9, "test": 0.8}},
            "unsupervised": 1.25,
        },
        "step": 3000,
        "seed": 0,
        "sizes": {"num_train": 10},
    }
    path.write_text(json.dumps(ev))
    data, why = read_evaluation(path)
    assert why is None
    assert metric_rows(data) == [
        ("dci", "disentanglement", 0.5),
        ("dci", "informativeness.train", 0.9),
        ("dci", "informativeness.test", 0.8),
        ("unsupervised", "", 1.25),
    ]
    assert evaluation_details(data) == [("step", 3000), ("seed", 0)]
    assert metric_rows(None) == []


class _Info:
    def __init__(self, path):
        self.path = path


def test_run_labels_are_short_and_distinct(tmp_path):
    paths = [tmp_path / "a" / "run", tmp_path / "b" / "run", tmp_path / "c" / "other"]
    assert run_labels([_Info(p) for p in paths]) == ["a/run", "b/run", "c/other"]
    assert run_labels([_Info(tmp_path / "x"), _Info(tmp_path / "y")]) == ["x", "y"]
    same = tmp_path / "x"
    assert run_labels([_Info(same), _Info(same)])[0].endswith("(1)")


def test_other_evaluation_files_are_listed_flat(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"metrics": {"mig": {"x": 1}}}))
    (tmp_path / "discrete_code.json").write_text(
        json.dumps({"step": 5, "discrete_code": {"disc_0": {"accuracy_hungarian": 0.9}}})
    )
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_other_evaluations(tmp_path) == {
        "discrete_code.json": [("step", 5), ("discrete_code.disc_0.accuracy_hungarian", 0.9)]
    }
    assert read_other_evaluations(tmp_path / "absent") == {}
