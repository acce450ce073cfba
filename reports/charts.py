"""Small server-side charts: an inline SVG line chart of a daily series (no script, no CDN)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 320, 90, 6


def line_chart(points: list[tuple[str, Decimal]], *, title: str, css_id: str) -> SafeString:
    """`points` are (label, value) in date order; the SVG carries each value in a <title>."""
    if not points:
        return mark_safe(f'<p id="{escape(css_id)}" class="chart-empty">{escape(title)}: '
                         "no data yet</p>")
    values = [Decimal(v) for _, v in points]
    lo, hi = min(values + [Decimal(0)]), max(values + [Decimal(0)])
    span = (hi - lo) or Decimal(1)
    step = Decimal(WIDTH - 2 * PAD) / max(len(points) - 1, 1)

    def y(v: Decimal) -> Decimal:
        return (PAD + (hi - v) * (HEIGHT - 2 * PAD) / span).quantize(Decimal("0.1"))

    coords = [((PAD + i * step).quantize(Decimal("0.1")), y(v)) for i, v in enumerate(values)]
    path = " ".join(f"{x},{yy}" for x, yy in coords)
    zero = y(Decimal(0))
    dots = "".join(
        f'<circle cx="{x}" cy="{yy}" r="2"><title>{escape(label)}: {Decimal(v):,}</title></circle>'
        for (x, yy), (label, v) in zip(coords, points, strict=True))
    return mark_safe(
        f'<figure class="chart" id="{escape(css_id)}"><figcaption>{escape(title)} '
        f'<small>{escape(points[0][0])} – {escape(points[-1][0])}, last {values[-1]:,}</small>'
        f'</figcaption><svg role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}"><line x1="0" x2="{WIDTH}" y1="{zero}" y2="{zero}" '
        f'stroke="#ccc"/><polyline fill="none" stroke="#417690" stroke-width="1.5" '
        f'points="{path}"/>{dots}</svg></figure>')
