"""The interaction path's reads (and its updates by a filter) are index seeks, never a scan of a table that grows
with history.

Each storage function runs for real; its SQL is captured as SQLite expanded it and explained. The benchmark
(``make bench``) measures the same reads at 10M check-ins."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage import checkins, help_relays, jobs, mentors, safety, stats
from storage.db import Database

pytestmark = pytest.mark.sqlite_only  # about the SQLite file itself

AT = datetime(2026, 3, 2, tzinfo=UTC)

READS: dict[str, Callable[[Any], Awaitable[object]]] = {
    "pulse": lambda c: checkins.week_counts(c, 1, AT),
    "history": lambda c: checkins.recent_checkins(c, 1, 2, 12),
    "previous check-in": lambda c: checkins.recent_checkins(c, 1, 2, 1, before_id=5),
    "streak": lambda c: checkins.weeks_in_a_row(c, 1, 2, [(AT, AT + timedelta(days=7)), (AT - timedelta(days=7), AT)]),
    "limits": lambda c: safety.count_events(c, guild_id=1, user_id=2, action="checkin", since=AT),
    "unanswered booking requests": lambda c: safety.pending_booking_requests(c, 1, 2),
    "no-shows": lambda c: mentors.no_show_counts(c, 1),
    "free slots": lambda c: mentors.list_bookings(c, guild_id=1, mentor_user_id=2, starts_from=AT),
    "calls": lambda c: mentors.list_bookings(c, guild_id=1, involving=2, ends_after=AT),
    "calls anywhere": lambda c: mentors.list_bookings(c, involving=2, statuses=("requested",), ends_after=AT),
    "stats: help requests": lambda c: stats.help_requests(c, 1, AT - timedelta(weeks=8), AT),
    "stats: calls": lambda c: stats.call_weeks(c, 1, AT - timedelta(weeks=8), AT),
    "stats: check-ins": lambda c: stats.checkin_weeks(c, 1, AT - timedelta(weeks=8), AT),
    "a DM's anonymous requests": lambda c: help_relays.live_anonymous_for_asker(c, 2),
    "a reply to a relayed DM": lambda c: help_relays.request_of_relayed_dm(c, 3),
    "a reply to a request's DM": lambda c: help_relays.request_of_effect_dm(c, 3),
    "an effect's safety-net job": lambda c: jobs.pending_due_at(c, "effects:help:1"),
    "a check-in cancels its member's follow-ups": lambda c: jobs.cancel(
        c, kind="checkin.followup", guild_id=1, user_id=2, now=AT
    ),
    "a job cancelled by its key": lambda c: jobs.cancel(c, dedupe_key="checkin-followup:1:2", now=AT),
    "a member's pending jobs": lambda c: jobs.pending(c, kind="help.nudge", guild_id=1, user_id=2),
    "a reminder looks for a follow-up": lambda c: jobs.of_member(
        c, kind="checkin.followup", user_id=2, guild_id=1, done_since=AT
    ),
}

# Where a coarser index would still be a SEARCH but read a whole server's history, the right index is pinned.
NARROW = {
    "no-shows": "bookings_no_shows",
    "unanswered booking requests": "bookings_member_requests",
    "calls": "bookings_member_time",  # the person's calls, not the server's
    "stats: help requests": "help_requests_guild_created",  # 8 weeks of one server, not all its history
    "stats: calls": "bookings_guild_created",
    "a DM's anonymous requests": "help_requests_anonymous",
    "a reply to a request's DM": "effects_result",
    "an effect's safety-net job": "jobs_live_dedupe",  # not every pending job (``jobs_status_due``)
    "a check-in cancels its member's follow-ups": "jobs_user",
    "a job cancelled by its key": "jobs_live_dedupe",
    "a member's pending jobs": "jobs_user",
    "a reminder looks for a follow-up": "jobs_user",  # not every job the server ever ran
}


@pytest.mark.parametrize("name", READS)
async def test_read_on_the_interaction_path_uses_an_index(db: Database, name: str) -> None:
    statements: list[str] = []
    await db.raw.set_trace_callback(statements.append)
    try:
        await READS[name](db.conn)
    finally:
        await db.raw.set_trace_callback(None)
    [sql] = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE"))]
    async with db.conn.execute("EXPLAIN QUERY PLAN " + sql) as cur:
        steps = [str(row[3]) for row in await cur.fetchall()]
    async with db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cur:
        tables = {str(row[0]) for row in await cur.fetchall()}
    scans = [step for step in steps if step.startswith("SCAN") and step.split()[1] in tables]  # CTEs may be scanned
    assert scans == [], (name, steps)
    assert any(step.startswith("SEARCH") for step in steps), (name, steps)
    if name in NARROW:
        assert any(NARROW[name] in step for step in steps), (name, steps)
