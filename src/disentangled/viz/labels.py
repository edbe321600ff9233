"""Row labels on image grids: a left margin naming each row (latent, KL in nats), dimmed rows."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

INK = 20  # grey levels (the same in every channel of a colour picture)
MUTED = 150
PAPER = 255
DIM_ALPHA = 0.35  # share of the paper colour mixed into an inactive row


@functools.lru_cache(maxsize=8)
def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font at ``size`` pixels (a fixed bitmap font where FreeType is absent)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


def label_rows(
    img: Image.Image,
    labels: Sequence[str],
    *,
    top: int,
    pitch: int,
    height: int,
    muted: Sequence[bool] = (),
    font_size: int = 14,
) -> Image.Image:
    """Add a left margin with ``labels[r]`` beside row r of a grid picture (grey-scale pictures
    stay grey-scale, others become RGB).

    Row r spans pixels ``top + r * pitch`` .. ``+ height`` of ``img``. Rows flagged in ``muted``
    are blended towards white and labelled in grey (inactive latents).
    """
    f = font(font_size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    widths = [probe.textlength(t, font=f) for t in labels] or [0.0]
    margin = int(max(widths)) + 12
    mode = "L" if img.mode == "L" else "RGB"
    ink, muted_ink, paper = (
        (INK, MUTED, PAPER) if mode == "L" else ((INK,) * 3, (MUTED,) * 3, (PAPER,) * 3)
    )
    out = Image.new(mode, (img.width + margin, img.height), paper)
    out.paste(img.convert(mode), (margin, 0))
    draw = ImageDraw.Draw(out)
    flags = list(muted) + [False] * (len(labels) - len(muted))
    for r, (text, dim) in enumerate(zip(labels, flags, strict=False)):
        y0 = top + r * pitch
        if dim:
            box = (margin, y0, out.width, min(y0 + height, out.height))
            region = out.crop(box)
            out.paste(Image.blend(region, Image.new(mode, region.size, paper), DIM_ALPHA), box)
        x0, t0, x1, t1 = draw.textbbox((0, 0), text, font=f)
        xy = (margin - 6 - x1, y0 + (height - t0 - t1) / 2)  # right-aligned, centred on the row
        draw.text(xy, text, fill=muted_ink if dim else ink, font=f)
    return out
