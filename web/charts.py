"""Inline SVG charts drawn on the server (no CDN, no JavaScript): lines for trends, bars for counts."""
from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#7f7f7f", "#bcbd22")


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
                  f'viewBox="0 0 {width} {height}" style="max-width:100%;font:12px sans-serif">'
                  f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def lines(title: str, labels: list[str], series: list[tuple[str, list[float | None]]],
          width: int = 640, height: int = 260) -> Markup:
    """One polyline per series over the x labels; the y axis spans the data and 0–100."""
    values = [v for _, points in series for v in points if v is not None]
    low, high = min([0.0, *values]), max([100.0, *values])
    left, right, top, bottom = 40, 170, 20, 30
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (plot_w * i / max(1, len(labels) - 1))

    def y(v: float) -> float:
        return top + plot_h * (high - v) / ((high - low) or 1)

    body = [f'<line x1="{left}" y1="{y(low):.1f}" x2="{left + plot_w}" y2="{y(low):.1f}" stroke="#999"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>']
    for tick in (low, (low + high) / 2, high):
        body.append(f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.0f}</text>')
    for i, label in enumerate(labels):
        body.append(f'<text x="{x(i):.1f}" y="{height - 10}" text-anchor="middle">{escape(label)}</text>')
    for n, (name, points) in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(points) if v is not None)
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
        body.append(f'<rect x="{width - right + 10}" y="{top + 16 * n}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{width - right + 24}" y="{top + 16 * n + 9}">{escape(name)}</text>')
    return _svg(width, height, title, body)


def bars(title: str, items: list[tuple[str, float]], width: int = 640, colour: str = "#1f77b4") -> Markup:
    """Horizontal bars, one per item, labelled with the value."""
    row, label_w = 22, 220
    height = max(1, len(items)) * row + 10
    top = max([0.0, *[v for _, v in items]]) or 1.0
    body = []
    for i, (label, value) in enumerate(items):
        length = (width - label_w - 60) * value / top
        y = 5 + i * row
        body.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
                    f'<rect x="{label_w}" y="{y + 2}" width="{length:.1f}" height="{row - 6}" fill="{colour}"/>'
                    f'<text x="{label_w + length + 4:.1f}" y="{y + 14}">{value:g}</text>')
    return _svg(width, height, title, body)
