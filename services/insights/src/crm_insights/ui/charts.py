"""Inline SVG charts (no JavaScript, no build step): one bar per period of a KPI."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT, PAD = 320, 90, 14


def bars(label: str, points: list[tuple[str, float | None]]) -> str:
    """A bar chart of ``points`` (period start, value); empty periods leave a gap."""
    values = [v for _, v in points if v is not None]
    top = max([abs(v) for v in values] + [1e-9])
    step = (WIDTH - 2 * PAD) / max(len(points), 1)
    shapes = []
    for i, (start, value) in enumerate(points):
        if value is None:
            continue
        height = (HEIGHT - 2 * PAD) * abs(value) / top
        x, y = PAD + i * step + step * 0.1, HEIGHT - PAD - height
        shapes.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.8:.1f}" height="{height:.1f}">'
            f"<title>{escape(start)}: {value:g}</title></rect>"
        )
    axis = f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}"/>'
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}">{axis}{"".join(shapes)}</svg>'
    )
