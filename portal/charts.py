"""Small SVG charts drawn on the server.

The portal runs without internet access and the dashboard needs no JavaScript: a chart is an inline
`<svg>` built from the numbers the selectors return. Geometry is computed in `Decimal`, like the
amounts it draws, and every label is escaped.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 28, 26
PALETTE = ("#417690", "#c9763a", "#6b9f4a")
Number = Decimal | int


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number | None]  # None: no data that day, the line breaks there


def _ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `value`, so gridlines fall on round numbers."""
    if value <= 0:
        return Decimal(1)
    magnitude = Decimal(1).scaleb(value.adjusted())
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= magnitude * step:
            return magnitude * step
    raise AssertionError("unreachable")  # pragma: no cover


def _number(value: Decimal) -> str:
    text = f"{value:,.2f}"
    return text[:-3] if text.endswith(".00") else text


def _frame(*, title: str, labels: Sequence[str], top: Decimal, unit: str, body: list[str]) -> SafeString:
    plot_height = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold" fill="#333">{escape(title)}</text>',
    ]
    for fraction in (Decimal(0), Decimal("0.5"), Decimal(1)):
        y = TOP + plot_height - plot_height * fraction
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#666">'
            f"{escape(_number(top * fraction))}{escape(unit)}</text>"
        )
    if labels:
        shown = sorted({0, len(labels) // 2, len(labels) - 1})
        for index in shown:
            x = _slot_center(index, len(labels))
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 8}" font-size="10" text-anchor="middle" fill="#666">'
                f"{escape(labels[index])}</text>"
            )
    if not body:
        parts.append(
            f'<text x="{(LEFT + WIDTH - RIGHT) // 2}" y="{TOP + plot_height // 2}" font-size="12" '
            f'text-anchor="middle" fill="#999">No data yet</text>'
        )
    parts.extend(body)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text above is escaped


def _slot_center(index: int, count: int) -> Decimal:
    slot = Decimal(WIDTH - LEFT - RIGHT) / count
    return LEFT + slot * index + slot / 2


def _y(value: Number, top: Decimal) -> Decimal:
    plot_height = HEIGHT - TOP - BOTTOM
    return TOP + plot_height - plot_height * Decimal(value) / top


def chart_bars_svg(
    *, title: str, labels: Sequence[str], values: Sequence[Number], unit: str = ""
) -> SafeString:
    """One bar per label with a value; hovering a bar shows its label and value."""
    top = _ceiling(Decimal(max(values, default=0)))
    slot = Decimal(WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bar = max(slot * Decimal("0.7"), Decimal(1))
    body = []
    if any(values):
        for index, (label, value) in enumerate(zip(labels, values, strict=True)):
            if not value:
                continue
            y = _y(value, top)
            x = _slot_center(index, len(labels)) - bar / 2
            body.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{HEIGHT - BOTTOM - y:.1f}" fill="{PALETTE[0]}">'
                f"<title>{escape(label)}: {escape(_number(Decimal(value)))}{escape(unit)}</title></rect>"
            )
    return _frame(title=title, labels=labels, top=top, unit=unit, body=body)


def chart_lines_svg(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    unit: str = "",
    top: Number | None = None,
) -> SafeString:
    """One line per series, broken where a value is missing; `top` fixes the scale (100 for a rate)."""
    present = [Decimal(v) for s in series for v in s.values if v is not None]
    ceiling = Decimal(top) if top is not None else _ceiling(max(present, default=Decimal(0)))
    body = []
    if present:
        for number, line in enumerate(series):
            colour = PALETTE[number % len(PALETTE)]
            body.append(
                f'<text x="{WIDTH - RIGHT - 90 * (len(series) - number)}" y="16" font-size="11" '
                f'fill="{colour}">■ {escape(line.name)}</text>'
            )
            segment: list[str] = []
            for index, value in enumerate([*line.values, None]):
                if value is None:
                    if len(segment) > 1:
                        body.append(
                            f'<polyline class="line" fill="none" stroke="{colour}" stroke-width="2" '
                            f'points="{" ".join(segment)}"/>'
                        )
                    segment = []
                    continue
                x, y = _slot_center(index, len(labels)), _y(value, ceiling)
                segment.append(f"{x:.1f},{y:.1f}")
                body.append(
                    f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}">'
                    f"<title>{escape(line.name)} {escape(labels[index])}: "
                    f"{escape(_number(Decimal(value)))}{escape(unit)}</title></circle>"
                )
    return _frame(title=title, labels=labels, top=ceiling, unit=unit, body=body)
