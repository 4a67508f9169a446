"""Server-rendered SVG charts for the admin dashboard: geometry here, markup in the template.

No charting library and no script: the page stays within the site's Content-Security-Policy
(no inline script or style; the colours are classes in static/css/dashboard.css)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 200
LEFT = 48  # room for the value axis labels
BOTTOM = 24  # room for the day labels
TOP = 8


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass
class Line:
    points: str
    css: str
    name: str


@dataclass
class Guide:
    y: float
    label: str
    css: str


@dataclass
class Chart:
    title: str
    description: str
    slug: str = "chart"
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    guides: list[Guide] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_labels: list[tuple[float, str]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM

    @property
    def left(self) -> int:
        return LEFT

    @property
    def right(self) -> int:
        return self.width


Series = tuple[str, str, Callable[[object], float | None]]  # name, css class, value of a day


def _scale(top_value: float) -> Callable[[float], float]:
    span = HEIGHT - BOTTOM - TOP
    return lambda value: HEIGHT - BOTTOM - span * (value / top_value if top_value else 0)


def _x_labels(days: Sequence, step: float) -> list[tuple[float, str]]:
    every = max(1, len(days) // 6)
    return [
        (LEFT + step * (index + 0.5), f"{day.day:%b %-d}")
        for index, day in enumerate(days)
        if index % every == 0
    ]


def stacked_bars(
    days: Sequence, series: Sequence[Series], *, title: str, description: str
) -> Chart:
    """One bar per day, each series stacked on the one before."""
    top = max([sum(value(day) or 0 for _, _, value in series) for day in days] + [1])
    y = _scale(top)
    step = (WIDTH - LEFT) / max(len(days), 1)
    chart = Chart(title=title, description=description, legend=[(n, c) for n, c, _ in series])
    for index, day in enumerate(days):
        below = 0.0
        for name, css, value in series:
            amount = value(day) or 0
            if amount:
                chart.bars.append(
                    Bar(
                        x=round(LEFT + step * index + step * 0.15, 1),
                        y=round(y(below + amount), 1),
                        width=round(step * 0.7, 1),
                        height=round(y(below) - y(below + amount), 1),
                        css=css,
                        title=f"{day.day:%b %-d}: {amount} {name.lower()}",
                    )
                )
            below += amount
    chart.x_labels = _x_labels(days, step)
    chart.y_labels = [(round(y(top), 1), f"{top:g}"), (round(y(0), 1), "0")]
    return chart


def rate_lines(
    days: Sequence,
    series: Sequence[Series],
    *,
    guides: Sequence[tuple[float, str, str]],
    title: str,
    description: str,
) -> Chart:
    """One line per series of rates (0.01 = 1 %); days without a rate leave a gap."""
    values = [value(day) for _, _, value in series for day in days]
    top = max([v for v in values if v is not None] + [rate for rate, _, _ in guides]) * 1.25
    y = _scale(top)
    step = (WIDTH - LEFT) / max(len(days), 1)
    chart = Chart(title=title, description=description, legend=[(n, c) for n, c, _ in series])
    for name, css, value in series:
        points = []
        for index, day in enumerate(days):
            rate = value(day)
            if rate is not None:
                points.append(f"{LEFT + step * (index + 0.5):.1f},{y(rate):.1f}")
        if points:
            chart.lines.append(Line(points=" ".join(points), css=css, name=name))
    chart.guides = [Guide(y=round(y(rate), 1), label=label, css=css) for rate, label, css in guides]
    chart.x_labels = _x_labels(days, step)
    chart.y_labels = [(round(y(top), 1), f"{top:.2%}"), (round(y(0), 1), "0 %")]
    return chart
