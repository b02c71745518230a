"""Raw weekly figures for /stats: help requests, commute calls and check-ins of one server over a bounded window.

Every read is an index range over ``[since, until)`` of one server (migration 0013 adds the creation-time indexes),
so the cost follows the window, never the server's whole history. These are small numbers about real people:
callers must make them safe before showing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import from_epoch, to_epoch
from storage.sql import Conn

WEEK_SECONDS = 7 * 24 * 3600
# Monday 00:00 UTC weeks, as the check-in week tables count them (epoch 345600 is Monday 5 Jan 1970).
_WEEK = "(created_at - (((created_at - 345600) % 604800) + 604800) % 604800)"


@dataclass(frozen=True, slots=True)
class RequestRow:
    """One help request, without anything a member wrote or who they are."""

    created_at: datetime
    first_claimed_at: datetime | None
    status: str
    close_reason: str | None
    feedback: str | None


@dataclass(frozen=True, slots=True)
class CallWeek:
    week: datetime
    requested: int
    held: int
    cancelled: int
    no_shows: int


async def help_requests(conn: Conn, guild_id: int, since: datetime, until: datetime) -> list[RequestRow]:
    async with conn.execute(
        """
        SELECT created_at, first_claimed_at, status, close_reason, feedback FROM help_requests
        WHERE guild_id = ? AND created_at >= ? AND created_at < ?
        """,
        (guild_id, to_epoch(since), to_epoch(until)),
    ) as cur:
        rows = await cur.fetchall()
    return [
        RequestRow(
            created_at=from_epoch(r[0]),
            first_claimed_at=None if r[1] is None else from_epoch(r[1]),
            status=str(r[2]),
            close_reason=None if r[3] is None else str(r[3]),
            feedback=None if r[4] is None else str(r[4]),
        )
        for r in rows
    ]


async def call_weeks(conn: Conn, guild_id: int, since: datetime, until: datetime) -> list[CallWeek]:
    """Call requests made each week (by when they were requested): how many, held, cancelled, missed."""
    async with conn.execute(
        f"""
        SELECT {_WEEK} AS week, COUNT(*),
               SUM(status = 'completed' AND outcome = 'happened'),
               SUM(status = 'cancelled'),
               SUM(outcome = 'no_show')
        FROM bookings WHERE guild_id = ? AND created_at >= ? AND created_at < ?
        GROUP BY week ORDER BY week
        """,  # noqa: S608 - _WEEK is a constant expression
        (guild_id, to_epoch(since), to_epoch(until)),
    ) as cur:
        rows = await cur.fetchall()
    return [CallWeek(from_epoch(r[0]), int(r[1]), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0)) for r in rows]


async def checkin_weeks(conn: Conn, guild_id: int, since: datetime, until: datetime) -> dict[datetime, dict[str, int]]:
    """Members by their latest check-in status, each week (the per-week counts the check-in triggers keep)."""
    out: dict[datetime, dict[str, int]] = {}
    async with conn.execute(
        "SELECT week, status, members FROM checkin_week_counts WHERE guild_id = ? AND week >= ? AND week < ?",
        (guild_id, to_epoch(since), to_epoch(until)),
    ) as cur:
        for week, status, members in await cur.fetchall():
            out.setdefault(from_epoch(week), {})[str(status)] = int(members)
    return out
