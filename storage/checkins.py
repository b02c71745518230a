"""Check-ins, reminder schedules and DM delivery bookkeeping: typed repository functions over migration 0002.

Every function takes a connection (``db.conn`` or the one yielded by ``db.transaction()``) so callers decide what is
atomic. Statuses, sources and cadences are plain strings here; ``services/`` owns their meaning.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from storage import dm_channels
from storage.db import from_epoch, to_epoch
from storage.sql import Conn, Row

log = logging.getLogger(__name__)

STATUSES = ("on_track", "stuck", "rut", "hired")


@dataclass(frozen=True, slots=True)
class Checkin:
    id: int
    guild_id: int
    user_id: int
    status: str
    note: str | None
    share_with_helpers: bool
    source: str
    dedupe_key: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CheckinAggregate:
    """One guild's check-ins in the week ``[start, end)``.

    ``members_by_status`` counts each member once, by their latest status in the window, so the values add up to
    ``members``. ``shared`` counts members who asked (at least once in the window) to be reached out to.
    """

    start: datetime
    end: datetime
    members_by_status: dict[str, int]
    members: int
    shared: int


@dataclass(frozen=True, slots=True)
class ReminderSchedule:
    guild_id: int
    user_id: int
    cadence: str
    local_time: str  # "HH:MM", the member's wall-clock time
    timezone: str  # IANA name
    weekday: int | None  # 0 = Monday, only for weekly
    paused: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DmDelivery:
    user_id: int
    consecutive_failures: int
    last_failure_at: datetime | None
    notice_pending: bool


def _checkin(row: Row) -> Checkin:
    return Checkin(
        id=int(row["id"]),
        guild_id=int(row["guild_id"]),
        user_id=int(row["user_id"]),
        status=str(row["status"]),
        note=row["note"],
        share_with_helpers=bool(row["share_with_helpers"]),
        source=str(row["source"]),
        dedupe_key=row["dedupe_key"],
        created_at=from_epoch(int(row["created_at"])),
    )


def _schedule(row: Row) -> ReminderSchedule:
    return ReminderSchedule(
        guild_id=int(row["guild_id"]),
        user_id=int(row["user_id"]),
        cadence=str(row["cadence"]),
        local_time=str(row["local_time"]),
        timezone=str(row["timezone"]),
        weekday=None if row["weekday"] is None else int(row["weekday"]),
        paused=bool(row["paused"]),
        created_at=from_epoch(int(row["created_at"])),
        updated_at=from_epoch(int(row["updated_at"])),
    )


def _delivery(row: Row) -> DmDelivery:
    return DmDelivery(
        user_id=int(row["user_id"]),
        consecutive_failures=int(row["consecutive_failures"]),
        last_failure_at=None if row["last_failure_at"] is None else from_epoch(int(row["last_failure_at"])),
        notice_pending=bool(row["notice_pending"]),
    )


# --- check-ins -----------------------------------------------------------------------------------------------------


async def insert_checkin(
    conn: Conn,
    *,
    guild_id: int,
    user_id: int,
    status: str,
    note: str | None,
    share_with_helpers: bool,
    source: str,
    created_at: datetime,
    dedupe_key: str | None = None,
) -> tuple[Checkin, bool]:
    """Store a check-in; return it and whether it is new.

    With a ``dedupe_key`` that this member already used in this guild, nothing is written and the stored row comes
    back with ``False`` (a double-pressed button records one check-in). The schema's unique index decides, so two
    concurrent presses cannot both insert.
    """
    async with conn.execute(
        "INSERT INTO checkins (guild_id, user_id, status, note, share_with_helpers, source, dedupe_key, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING *",
        (
            guild_id,
            user_id,
            status,
            note,
            int(share_with_helpers),
            source,
            dedupe_key,
            to_epoch(created_at),
        ),
    ) as cur:
        row = await cur.fetchone()
    if row is not None:
        return _checkin(row), True
    async with conn.execute(
        "SELECT * FROM checkins WHERE guild_id = ? AND user_id = ? AND dedupe_key = ?",
        (guild_id, user_id, dedupe_key),
    ) as cur:
        existing = await cur.fetchone()
    if existing is None:  # pragma: no cover - only a non-dedupe constraint could get here, and those raise
        raise RuntimeError("check-in insert was ignored but no existing row matches its dedupe key")
    log.info("checkin dedupe hit checkin_id=%d", existing["id"])
    return _checkin(existing), False


async def get_checkin(conn: Conn, checkin_id: int) -> Checkin | None:
    async with conn.execute("SELECT * FROM checkins WHERE id = ?", (checkin_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else _checkin(row)


async def recent_checkins(
    conn: Conn,
    guild_id: int,
    user_id: int,
    limit: int = 12,
    *,
    before_id: int | None = None,
) -> list[Checkin]:
    """The member's check-ins in this guild, newest first; ``before_id`` skips that row and everything newer."""
    sql = "SELECT * FROM checkins WHERE guild_id = ? AND user_id = ?"
    params: list[Any] = [guild_id, user_id]
    if before_id is not None:
        sql += " AND (created_at, id) < (SELECT created_at, id FROM checkins WHERE id = ?)"
        params.append(before_id)
    sql += " ORDER BY created_at DESC, id DESC"
    if limit >= 0:  # a negative limit: all of them
        sql += " LIMIT ?"
        params.append(limit)
    async with conn.execute(sql, params) as cur:
        rows = await cur.fetchall()
    return [_checkin(r) for r in rows]


async def weeks_in_a_row(conn: Conn, guild_id: int, user_id: int, weeks: list[tuple[datetime, datetime]]) -> int:
    """How many of ``weeks`` (``[start, end)`` pairs, newest first), counted from the first, each hold a check-in
    of the member: one statement, an index seek per week, stopping at the first empty one (streaks)."""
    if not weeks:
        return 0
    values = ", ".join(f"({k}, CAST(:lo{k} AS BIGINT), CAST(:hi{k} AS BIGINT))" for k in range(len(weeks)))
    bounds: dict[str, int] = {}
    for k, (start, end) in enumerate(weeks):
        bounds[f"lo{k}"], bounds[f"hi{k}"] = to_epoch(start), to_epoch(end)
    async with conn.execute(
        f"""
        WITH RECURSIVE week(k, lo, hi) AS (
            VALUES {values}
        ), run(k) AS (
            SELECT 0
            UNION ALL
            SELECT run.k + 1 FROM run JOIN week ON week.k = run.k
            WHERE EXISTS (
                SELECT 1 FROM checkins
                WHERE guild_id = :guild AND user_id = :user AND created_at >= week.lo AND created_at < week.hi
            )
        )
        SELECT max(k) FROM run
        """,  # noqa: S608 (numbered placeholders only)
        {**bounds, "guild": guild_id, "user": user_id},
    ) as cur:
        row = await cur.fetchone()
    return 0 if row is None or row[0] is None else int(row[0])


async def week_counts(conn: Conn, guild_id: int, week: datetime) -> CheckinAggregate:
    """Raw counts for the week starting ``week`` (a Monday 00:00 UTC), read from the per-week counts that triggers
    keep (migration 0008): at most four rows, however many check-ins the week had. These are small numbers about
    real people: callers must make them safe."""
    by_status = dict.fromkeys(STATUSES, 0)
    shared = 0
    async with conn.execute(
        "SELECT status, members, shared FROM checkin_week_counts WHERE guild_id = ? AND week = ?",
        (guild_id, to_epoch(week)),
    ) as cur:
        for status, members, asked in await cur.fetchall():
            by_status[str(status)] = int(members)
            shared += int(asked)
    return CheckinAggregate(
        start=week,
        end=week + timedelta(days=7),
        members_by_status=by_status,
        members=sum(by_status.values()),
        shared=shared,
    )


# --- reminder schedules --------------------------------------------------------------------------------------------


async def upsert_reminder_schedule(
    conn: Conn,
    *,
    guild_id: int,
    user_id: int,
    cadence: str,
    local_time: str,
    timezone: str,
    weekday: int | None,
    now: datetime,
) -> ReminderSchedule:
    """Create or replace the member's schedule in this guild; a replaced schedule is no longer paused."""
    async with conn.execute(
        "INSERT INTO reminder_schedules"
        " (guild_id, user_id, cadence, local_time, timezone, weekday, paused, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)"
        " ON CONFLICT (guild_id, user_id) DO UPDATE SET cadence = excluded.cadence,"
        " local_time = excluded.local_time, timezone = excluded.timezone, weekday = excluded.weekday,"
        " paused = 0, updated_at = excluded.updated_at"
        " RETURNING *",
        (guild_id, user_id, cadence, local_time, timezone, weekday, to_epoch(now), to_epoch(now)),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return _schedule(row)


async def get_reminder_schedule(conn: Conn, guild_id: int, user_id: int) -> ReminderSchedule | None:
    async with conn.execute(
        "SELECT * FROM reminder_schedules WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _schedule(row)


async def user_reminder_schedules(conn: Conn, user_id: int) -> list[ReminderSchedule]:
    """The member's schedules in every guild (DM delivery is per user)."""
    async with conn.execute("SELECT * FROM reminder_schedules WHERE user_id = ? ORDER BY guild_id", (user_id,)) as cur:
        rows = await cur.fetchall()
    return [_schedule(r) for r in rows]


async def active_reminder_schedules(conn: Conn) -> list[ReminderSchedule]:
    """Every schedule that is not paused (for re-arming jobs after a restart)."""
    async with conn.execute("SELECT * FROM reminder_schedules WHERE paused = 0 ORDER BY guild_id, user_id") as cur:
        rows = await cur.fetchall()
    return [_schedule(r) for r in rows]


async def delete_reminder_schedule(conn: Conn, guild_id: int, user_id: int) -> bool:
    async with conn.execute(
        "DELETE FROM reminder_schedules WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    ) as cur:
        return cur.rowcount > 0


async def set_paused(conn: Conn, guild_id: int, user_id: int, paused: bool, now: datetime) -> bool:
    """Pause or resume one schedule; False when there is none or it already was in that state."""
    async with conn.execute(
        "UPDATE reminder_schedules SET paused = ?, updated_at = ? WHERE guild_id = ? AND user_id = ? AND paused != ?",
        (int(paused), to_epoch(now), guild_id, user_id, int(paused)),
    ) as cur:
        return cur.rowcount > 0


async def pause_user_schedules(conn: Conn, user_id: int, now: datetime) -> int:
    """Pause the member's schedules in every guild; return how many were running."""
    async with conn.execute(
        "UPDATE reminder_schedules SET paused = 1, updated_at = ? WHERE user_id = ? AND paused = 0",
        (to_epoch(now), user_id),
    ) as cur:
        return cur.rowcount


# --- DM delivery ---------------------------------------------------------------------------------------------------


async def record_dm_failure(conn: Conn, user_id: int, at: datetime) -> DmDelivery:
    """Count one more failed DM in a row and mark that the member must be told."""
    async with conn.execute(
        "INSERT INTO dm_delivery (user_id, consecutive_failures, last_failure_at, notice_pending)"
        " VALUES (?, 1, ?, 1)"
        " ON CONFLICT (user_id) DO UPDATE SET consecutive_failures = dm_delivery.consecutive_failures + 1,"
        " last_failure_at = excluded.last_failure_at, notice_pending = 1"
        " RETURNING *",
        (user_id, to_epoch(at)),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return _delivery(row)


async def record_dm_success(conn: Conn, user_id: int, *, clear_notice: bool) -> None:
    """A DM got through: the run of failures is over. The notice stays unless ``clear_notice``."""
    await conn.execute(
        "UPDATE dm_delivery SET consecutive_failures = 0,"
        " notice_pending = CASE WHEN ? = 1 THEN 0 ELSE notice_pending END WHERE user_id = ?",
        (int(clear_notice), user_id),
    )


async def get_dm_delivery(conn: Conn, user_id: int) -> DmDelivery | None:
    async with conn.execute("SELECT * FROM dm_delivery WHERE user_id = ?", (user_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else _delivery(row)


async def has_dm_notice(conn: Conn, user_id: int) -> bool:
    """Whether a closed-DM notice waits for the member: a read, cheap enough to run after every command."""
    async with conn.execute("SELECT 1 FROM dm_delivery WHERE user_id = ? AND notice_pending = 1", (user_id,)) as cur:
        return await cur.fetchone() is not None


async def take_dm_notice(conn: Conn, user_id: int) -> DmDelivery | None:
    """Clear a pending notice in one statement and return the state it was taken from; None if none was pending."""
    async with conn.execute(
        "UPDATE dm_delivery SET notice_pending = 0 WHERE user_id = ? AND notice_pending = 1 RETURNING *",
        (user_id,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _delivery(row)


# --- privacy -------------------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


async def export_member(conn: Conn, guild_id: int, user_id: int) -> dict[str, Any]:
    """Everything this feature keeps about the member, as JSON-ready values (instants in ISO 8601 UTC)."""
    checkins = await recent_checkins(conn, guild_id, user_id, limit=-1)  # LIMIT -1: no limit in SQLite
    schedule = await get_reminder_schedule(conn, guild_id, user_id)
    delivery = await get_dm_delivery(conn, user_id)
    dm_channel = await dm_channels.get(conn, user_id)

    def dump(obj: Any) -> dict[str, Any]:
        return {key: _jsonable(value) for key, value in asdict(obj).items()}

    return {
        "checkins": [
            {k: v for k, v in dump(c).items() if k not in ("guild_id", "user_id", "dedupe_key")}
            for c in reversed(checkins)
        ],
        "reminder_schedule": None
        if schedule is None
        else {k: v for k, v in dump(schedule).items() if k not in ("guild_id", "user_id")},
        "dm_delivery": None if delivery is None else {k: v for k, v in dump(delivery).items() if k != "user_id"},
        "dm_channel_id": None if dm_channel is None else str(dm_channel),
    }


async def delete_member(conn: Conn, guild_id: int, user_id: int) -> int:
    """Delete the member's check-ins and reminder schedule in this guild, and their DM delivery record and channel.

    The DM records are per user, not per guild; it is only bookkeeping, so losing it elsewhere just restarts the
    failure count. Returns the number of rows deleted. Pending jobs are the service's to cancel.
    """
    deleted = 0
    for sql, params in (
        ("DELETE FROM checkins WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)),
        ("DELETE FROM reminder_schedules WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)),
        ("DELETE FROM dm_delivery WHERE user_id = ?", (user_id,)),
        ("DELETE FROM dm_channels WHERE user_id = ?", (user_id,)),
    ):
        async with conn.execute(sql, params) as cur:
            deleted += cur.rowcount
    return deleted
