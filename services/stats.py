"""/stats: whether Porchlight is helping, week by week over the last 8 weeks, for moderators.

Figures: help requests (asked, claimed, answered, unanswered after 24 h, median time to first claim, "did this help"
yes / no), commute calls (requested, held, cancelled, no-shows) and members by their latest check-in status. Every
count under 3 (zero included) is shown as "fewer than 3", in the text and in the chart, and a median is shown only
when it is taken over at least 3 requests. Weeks are Monday 00:00 UTC; the current week is included so far.

A request is *answered* when a helper claimed it and it was closed by the asker, a helper or a moderator (not left
to go idle, not closed because the asker left or the thread was deleted). *Unanswered after 24 h* counts requests
at least a day old that no helper claimed within 24 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.checkins import K_ANONYMITY, Status, safe_count, week_start
from services.clock import Clock
from storage import stats as store
from storage.db import Database

WEEKS = 8
ANSWERED_REASONS = frozenset({"asker", "helper", "moderator"})
UNANSWERED_AFTER = timedelta(hours=24)

HELP_FIGURES = ("asked", "claimed", "answered", "unanswered after 24 h", "helped: yes", "helped: no")
CALL_FIGURES = ("requested", "held", "cancelled", "no-shows")
QUIET = "every figure fewer than 3"
STATUS_LABELS = {s.value: s.label for s in Status}


@dataclass(frozen=True, slots=True)
class Week:
    start: datetime
    help: dict[str, int]  # by HELP_FIGURES
    median_first_claim: timedelta | None  # None under 3 claimed requests
    calls: dict[str, int]  # by CALL_FIGURES
    checkins: dict[str, int]  # members by latest status: on_track, stuck, rut, hired


@dataclass(frozen=True, slots=True)
class Stats:
    weeks: list[Week]  # oldest first
    now: datetime


def shown(count: int) -> str:
    return safe_count(count)


def visible(count: int) -> int:
    """The count as the chart draws it: hidden (0, labelled "fewer than 3") under 3."""
    return count if count >= K_ANONYMITY else 0


def duration(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


class StatsService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def weekly(self, guild_id: int) -> Stats:
        now = self.clock.now()
        first = week_start(now) - timedelta(weeks=WEEKS - 1)
        end = week_start(now) + timedelta(weeks=1)
        conn = self.db.conn
        requests = await store.help_requests(conn, guild_id, first, end)
        calls = {c.week: c for c in await store.call_weeks(conn, guild_id, first, end)}
        checkins = await store.checkin_weeks(conn, guild_id, first, end)
        weeks = []
        for i in range(WEEKS):
            start = first + timedelta(weeks=i)
            rows = [r for r in requests if start <= r.created_at < start + timedelta(weeks=1)]
            claim_times = [r.first_claimed_at - r.created_at for r in rows if r.first_claimed_at is not None]
            call = calls.get(start)
            weeks.append(
                Week(
                    start=start,
                    help={
                        "asked": len(rows),
                        "claimed": len(claim_times),
                        "answered": sum(
                            r.first_claimed_at is not None and r.close_reason in ANSWERED_REASONS for r in rows
                        ),
                        "unanswered after 24 h": sum(
                            r.created_at <= now - UNANSWERED_AFTER
                            and (r.first_claimed_at is None or r.first_claimed_at - r.created_at > UNANSWERED_AFTER)
                            for r in rows
                        ),
                        "helped: yes": sum(r.feedback == "yes" for r in rows),
                        "helped: no": sum(r.feedback == "no" for r in rows),
                    },
                    median_first_claim=(median(claim_times) if len(claim_times) >= K_ANONYMITY else None),
                    calls=dict(
                        zip(
                            CALL_FIGURES,
                            (call.requested, call.held, call.cancelled, call.no_shows) if call else (0, 0, 0, 0),
                            strict=True,
                        )
                    ),
                    checkins={status: checkins.get(start, {}).get(status, 0) for status in STATUS_LABELS},
                )
            )
        return Stats(weeks, now)


def median(values: list[timedelta]) -> timedelta:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def week_label(start: datetime) -> str:
    return f"week of {start:%d %b}"


def stats_text(stats: Stats) -> list[tuple[str, str]]:
    """The same figures as the chart, as text (for screen readers and for copying): (section title, lines). Quiet
    weeks in a row (every figure under 3) read as one line instead of a row of "fewer than 3"."""
    help_rows: list[tuple[datetime, str | None]] = []
    call_rows: list[tuple[datetime, str | None]] = []
    checkin_rows: list[tuple[datetime, str | None]] = []

    def row(counts: list[int], figures: list[str]) -> str | None:
        return None if all(count < K_ANONYMITY for count in counts) else ", ".join(figures)

    for w in stats.weeks:
        figures = [f"{name} {shown(w.help[name])}" for name in HELP_FIGURES]
        median = duration(w.median_first_claim) if w.median_first_claim is not None else "not shown (fewer than 3)"
        figures.append(f"median time to first claim {median}")
        help_rows.append((w.start, row(list(w.help.values()), figures)))
        call_rows.append((w.start, row(list(w.calls.values()), [f"{n} {shown(w.calls[n])}" for n in CALL_FIGURES])))
        statuses = [f"{label} {shown(w.checkins[status])}" for status, label in STATUS_LABELS.items()]
        checkin_rows.append((w.start, row(list(w.checkins.values()), statuses)))
    return [
        ("Help requests", _lines(help_rows)),
        ("Commute calls (by the week they were requested)", _lines(call_rows)),
        ("Check-ins (members by their latest status that week)", _lines(checkin_rows)),
    ]


def _lines(rows: list[tuple[datetime, str | None]]) -> str:
    """One line a week; a run of quiet weeks (``None``) as one line naming the first and last."""
    lines: list[str] = []
    quiet: list[datetime] = []

    def close_quiet_run() -> None:
        if quiet:
            weeks = week_label(quiet[0]) if len(quiet) == 1 else f"weeks of {quiet[0]:%d %b} to {quiet[-1]:%d %b}"
            lines.append(f"{weeks}: {QUIET}")
            quiet.clear()

    for start, text in rows:
        if text is None:
            quiet.append(start)
            continue
        close_quiet_run()
        lines.append(f"{week_label(start)}: {text}")
    close_quiet_run()
    return "\n".join(lines)
