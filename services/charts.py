"""PNG charts for /stats and /checkin-history, drawn with matplotlib's Agg backend (no display, no pyplot state).

Each call builds its own ``Figure`` (pyplot's global figure manager is never touched), so charts can be drawn in a
worker thread (``asyncio.to_thread``) while the event loop keeps serving Discord. A figure under 3 is drawn as an
empty bar labelled "<3", exactly as the text says "fewer than 3".

matplotlib (with numpy, about 30 MiB resident) is imported by the first chart drawn, not when the bot starts: most
processes never draw one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from services.checkins import Status
from services.stats import CALL_FIGURES, HELP_FIGURES, STATUS_LABELS, Stats, visible

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 80
STATS_SIZE = (10.0, 9.0)  # inches: 800 x 720 pixels
TREND_SIZE = (5.0, 2.0)  # 400 x 160 pixels
COLOURS = ("#4c72b0", "#55a868", "#c44e52", "#8172b2", "#ccb974", "#64b5cd")
STATUS_COLOURS = {"on_track": "#55a868", "stuck": "#c44e52", "rut": "#ccb974", "hired": "#4c72b0"}


def _figure(size: tuple[float, float]) -> Figure:
    """A new figure, importing matplotlib on first use (the Agg backend is chosen before anything else of it)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _bars(axes: Axes, labels: list[str], series: dict[str, list[int]], title: str) -> None:
    """Grouped bars, one group per week; a hidden count (under 3) is an empty slot marked "<3"."""
    count = len(series)
    width = 0.8 / max(count, 1)
    for i, (name, values) in enumerate(series.items()):
        xs = [x + (i - (count - 1) / 2) * width for x in range(len(labels))]
        heights = [visible(v) for v in values]
        axes.bar(xs, heights, width, label=name, color=COLOURS[i % len(COLOURS)])
        for x, value in zip(xs, values, strict=True):
            if value < 3:
                axes.text(x, 0, "<3", ha="center", va="bottom", fontsize=6, color="#666666", rotation=90)
    axes.set_title(title, fontsize=10)
    axes.set_xticks(range(len(labels)), labels, fontsize=8)
    axes.legend(fontsize=7, loc="upper left", ncols=min(count, 3))
    axes.set_ylim(bottom=0)


def stats_png(stats: Stats) -> bytes:
    labels = [f"{w.start:%d %b}" for w in stats.weeks]
    figure = _figure(STATS_SIZE)
    figure.suptitle("Porchlight, last 8 weeks (weeks start Monday, UTC; counts under 3 hidden as <3)", fontsize=11)
    grid = figure.subplots(2, 2)
    help_axes, calls_axes, checkin_axes, claim_axes = grid[0][0], grid[0][1], grid[1][0], grid[1][1]
    _bars(
        help_axes,
        labels,
        {name: [w.help[name] for w in stats.weeks] for name in HELP_FIGURES},
        "Help requests",
    )
    _bars(calls_axes, labels, {name: [w.calls[name] for w in stats.weeks] for name in CALL_FIGURES}, "Commute calls")
    _bars(
        checkin_axes,
        labels,
        {STATUS_LABELS[s.value]: [w.checkins[s.value] for w in stats.weeks] for s in Status},
        "Check-ins: members by latest status",
    )
    hours = [w.median_first_claim.total_seconds() / 3600 if w.median_first_claim else None for w in stats.weeks]
    xs = [x for x, h in enumerate(hours) if h is not None]
    claim_axes.plot(xs, [h for h in hours if h is not None], marker="o", color=COLOURS[0])
    for x, h in enumerate(hours):
        if h is None:
            claim_axes.text(x, 0, "<3", ha="center", va="bottom", fontsize=7, color="#666666")
    claim_axes.set_title("Median hours to first claim (shown from 3 claimed requests)", fontsize=10)
    claim_axes.set_xticks(range(len(labels)), labels, fontsize=8)
    claim_axes.set_xlim(-0.5, len(labels) - 0.5)
    claim_axes.set_ylim(bottom=0)
    return _png(figure)


def trend_png(points: Sequence[tuple[datetime, Status]]) -> bytes:
    """A member's own check-ins over time, oldest first: higher is better (Stuck, In a rut, On track, Hired)."""
    figure = _figure(TREND_SIZE)
    axes = figure.subplots()
    xs = list(range(len(points)))
    axes.plot(xs, [s.level for _, s in points], color="#999999", linewidth=1)
    axes.scatter(xs, [s.level for _, s in points], c=[STATUS_COLOURS[s.value] for _, s in points], zorder=3)
    levels = sorted(Status, key=lambda s: s.level)
    axes.set_yticks([s.level for s in levels], [s.label for s in levels], fontsize=7)
    axes.set_ylim(0.5, 4.5)
    step = max(1, len(points) // 6)
    axes.set_xticks(xs[::step], [f"{at:%d %b}" for at, _ in points][::step], fontsize=7)
    axes.set_title("Your check-ins, oldest to newest", fontsize=8)
    return _png(figure)
