"""HTML building blocks for self-contained pages: escaped text, images as data URIs, tables, a page
with a table of contents and inline CSS for screen and print. No scripts, no external resources."""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from ..errors import UserError
from ..io import atomic_write_text

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #ffffff; color: #1d1d1f;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1140px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 1.75rem; margin: 0 0 0.2rem; line-height: 1.25; overflow-wrap: anywhere; }
h2 { font-size: 1.3rem; margin: 0 0 0.6rem; padding-bottom: 0.2rem;
  border-bottom: 2px solid #e4e4e4; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 0.4rem; }
p { margin: 0.4rem 0 0.8rem; max-width: 80ch; }
a { color: #1f5fa8; }
.subtitle { color: #555555; margin: 0 0 0.8rem; overflow-wrap: anywhere; }
nav.toc { border: 1px solid #dddddd; border-radius: 6px; background: #fafafa;
  padding: 10px 18px; margin: 14px 0 6px; }
nav.toc h2 { font-size: 1rem; border: 0; margin: 0 0 0.3rem; padding: 0; }
nav.toc ol { margin: 0; padding-left: 1.4rem; columns: 2; column-gap: 2.5rem; }
section { margin-top: 2.2rem; }
.top { float: right; font-size: 0.85rem; font-weight: normal; }
figure { margin: 0.8rem 0 1.4rem; }
figure img { display: block; max-width: 100%; height: auto; }
img.pixels { image-rendering: pixelated; }
figcaption { color: #555555; font-size: 0.9rem; margin-top: 0.35rem; max-width: 80ch; }
.gallery { display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: flex-start; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.92rem; margin: 0.4rem 0 1rem; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 14px 4px 0; text-align: left;
  vertical-align: top; }
th { font-weight: 600; border-bottom: 2px solid #cccccc; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.fields th { border-bottom: 1px solid #e3e3e3; font-weight: 600; white-space: nowrap; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
pre { background: #f6f6f6; padding: 12px 14px; border-radius: 4px; font-size: 0.85rem;
  overflow-x: auto; }
.note { background: #fff8e1; border-left: 4px solid #e9a23b; padding: 8px 12px;
  margin: 0.6rem 0 1rem; max-width: 80ch; }
footer { margin-top: 3rem; color: #777777; font-size: 0.85rem; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  .top { display: none; }
  nav.toc { background: none; }
  a { color: inherit; text-decoration: none; }
  h2, h3 { break-after: avoid; }
  figure, table, .note { break-inside: avoid; }
  pre { white-space: pre-wrap; break-inside: auto; }
  .scroll { overflow: visible; }
  @page { margin: 14mm; }
}
"""


def esc(text: Any) -> str:
    """HTML-escaped text (quotes included)."""
    return html.escape(str(text), quote=True)


def fmt(value: Any) -> str:
    """A value for a table cell: 4 significant digits for floats, '—' for missing or non-finite,
    short lists inline, longer ones summarised."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (list, tuple)) for v in value):
            return f"({len(value)}×{len(value[0])} values)"
        if len(value) <= 10:
            return "[" + ", ".join(fmt(v) for v in value) + "]"
        return "[" + ", ".join(fmt(v) for v in value[:8]) + f", … ({len(value)} values)]"
    return str(value)


def is_numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels of an encoded image (only the header is decoded)."""
    with Image.open(io.BytesIO(data)) as im:
        return im.size


def img(
    data: bytes,
    alt: str,
    *,
    mime: str = "image/png",
    shown_dpi_ratio: float = 1.0,
    pixels: bool = False,
) -> str:
    """An <img> whose source is the image itself as a base64 data URI.

    The width attribute is the image's pixel width divided by ``shown_dpi_ratio`` (a plot drawn
    at 150 dpi and shown at 100 CSS pixels per inch has ratio 1.5); ``pixels`` keeps upscaled
    latent pictures crisp.
    """
    w, h = image_size(data)
    width, height = round(w / shown_dpi_ratio), round(h / shown_dpi_ratio)
    uri = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
    cls = ' class="pixels"' if pixels else ""
    return f'<img src="{uri}" alt="{esc(alt)}" width="{width}" height="{height}"{cls}>'


def figure(image_html: str, caption: str = "") -> str:
    """A <figure> with an escaped caption."""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f"<figure>{image_html}{cap}</figure>"


def fields(rows: Sequence[tuple[str, Any]]) -> str:
    """A two-column table of named values (no header row), values formatted and escaped."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in rows)
    return f'<div class="scroll"><table class="fields"><tbody>{body}</tbody></table></div>'


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A table of escaped cells; numeric cells are formatted and right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for v in row:
            cls = ' class="num"' if is_numeric(v) or v is None else ""
            cells.append(f"<td{cls}>{esc(fmt(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def note(text: str) -> str:
    """A highlighted remark (escaped)."""
    return f'<p class="note">{esc(text)}</p>'


def para(text: str) -> str:
    return f"<p>{esc(text)}</p>"


def pre(text: str) -> str:
    return f"<pre>{esc(text)}</pre>"


@dataclass
class Section:
    """One part of a page: anchor ``id``, heading ``title`` and ``body`` (HTML)."""

    id: str
    title: str
    body: str


def page(title: str, subtitle: str, sections: Sequence[Section], footer: str = "") -> str:
    """A complete HTML document: heading, table of contents linking every section, the sections
    (each with a link back to the contents), inline CSS; nothing loaded from elsewhere."""
    toc = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f'<header id="top"><h1>{esc(title)}</h1><p class="subtitle">{esc(subtitle)}</p></header>',
        f'<nav class="toc" aria-label="contents"><h2>Contents</h2><ol>{toc}</ol></nav>',
    ]
    for s in sections:
        parts.append(
            f'<section id="{esc(s.id)}"><h2>{esc(s.title)}'
            f'<a class="top" href="#top">↑ contents</a></h2>{s.body}</section>'
        )
    if footer:
        parts.append(f"<footer>{esc(footer)}</footer>")
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def write_page(path: str | Path, text: str) -> Path:
    """Write a page atomically; an unwritable place is a UserError."""
    path = Path(path)
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
