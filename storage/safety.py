"""Moderator blocks, write-rate events, members who left a server and the bot's presence per server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import fetch_one, from_epoch, to_epoch
from storage.sql import Conn, Row


@dataclass(frozen=True, slots=True)
class Block:
    guild_id: int
    user_id: int
    blocked_by: int | None
    reason: str | None
    created_at: datetime
    until: datetime | None

    def active(self, now: datetime) -> bool:
        return self.until is None or self.until > now


@dataclass(frozen=True, slots=True)
class Departure:
    guild_id: int
    user_id: int
    left_at: datetime
    purge_after: datetime


@dataclass(frozen=True, slots=True)
class Presence:
    guild_id: int
    welcomed_at: datetime | None
    removed_at: datetime | None
    purge_after: datetime | None


def _opt(value: int | None) -> datetime | None:
    return None if value is None else from_epoch(value)


def _block(row: Row) -> Block:
    return Block(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        blocked_by=row["blocked_by"],
        reason=row["reason"],
        created_at=from_epoch(row["created_at"]),
        until=_opt(row["until"]),
    )


def _departure(row: Row) -> Departure:
    return Departure(row["guild_id"], row["user_id"], from_epoch(row["left_at"]), from_epoch(row["purge_after"]))


def _presence(row: Row) -> Presence:
    return Presence(row["guild_id"], _opt(row["welcomed_at"]), _opt(row["removed_at"]), _opt(row["purge_after"]))


# --- blocks --------------------------------------------------------------------------------------------------------


async def put_block(
    conn: Conn,
    *,
    guild_id: int,
    user_id: int,
    blocked_by: int,
    reason: str | None,
    until: datetime | None,
    now: datetime,
) -> Block:
    """Create or replace the member's block (a second /block sets the new length)."""
    async with conn.execute(
        """
        INSERT INTO member_blocks (guild_id, user_id, blocked_by, reason, created_at, until)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (guild_id, user_id) DO UPDATE SET
            blocked_by = excluded.blocked_by, reason = excluded.reason,
            created_at = excluded.created_at, until = excluded.until
        RETURNING *
        """,
        (guild_id, user_id, blocked_by, reason, to_epoch(now), None if until is None else to_epoch(until)),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return _block(row)


async def get_block(conn: Conn, guild_id: int, user_id: int) -> Block | None:
    async with conn.execute(
        "SELECT * FROM member_blocks WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _block(row)


async def delete_block(conn: Conn, guild_id: int, user_id: int) -> bool:
    cur = await conn.execute("DELETE FROM member_blocks WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    return cur.rowcount > 0


async def delete_expired_blocks(conn: Conn, now: datetime) -> int:
    cur = await conn.execute("DELETE FROM member_blocks WHERE until IS NOT NULL AND until <= ?", (to_epoch(now),))
    return cur.rowcount


async def forget_blocker(conn: Conn, guild_id: int, user_id: int) -> int:
    """A moderator deleted their data: their blocks stay, without their id."""
    cur = await conn.execute(
        "UPDATE member_blocks SET blocked_by = NULL WHERE guild_id = ? AND blocked_by = ?", (guild_id, user_id)
    )
    return cur.rowcount


# --- rate events ---------------------------------------------------------------------------------------------------


async def count_events(
    conn: Conn, *, guild_id: int, user_id: int, action: str, since: datetime
) -> tuple[int, datetime | None]:
    """How many ``action`` events the member made since ``since``, and the oldest of them."""
    async with conn.execute(
        "SELECT count(*), min(at) FROM rate_events WHERE guild_id = ? AND user_id = ? AND action = ? AND at > ?",
        (guild_id, user_id, action, to_epoch(since)),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), _opt(row[1])


async def add_event(conn: Conn, *, guild_id: int, user_id: int, action: str, now: datetime) -> int:
    """Count one use; returns the event's id (to delete it again if the use is given back)."""
    rows = await conn.execute_fetchall(
        "INSERT INTO rate_events (guild_id, user_id, action, at) VALUES (?, ?, ?, ?) RETURNING id",
        (guild_id, user_id, action, to_epoch(now)),
    )
    return int(rows[0][0])


async def add_event_within_limits(
    conn: Conn,
    *,
    guild_id: int,
    user_id: int,
    action: str,
    now: datetime,
    since: datetime,
    allowed: int,
    blockable: bool,
    pending_most: int | None,
) -> int | None:
    """Count one use in one statement, only if the member may make it: fewer than ``allowed`` ``action`` events
    since ``since``, no active block (when the action is ``blockable``) and, with ``pending_most``, fewer booking
    requests waiting for an answer. The event's id, or None when a limit refused it (the caller finds which). The
    statement is atomic by itself, so no transaction is needed around it."""
    rows = await conn.execute_fetchall(
        """
        INSERT INTO rate_events (guild_id, user_id, action, at)
        SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT)
        WHERE (SELECT count(*) FROM rate_events WHERE guild_id = ? AND user_id = ? AND action = ? AND at > ?) < ?
          AND (? = 0 OR NOT EXISTS (
                SELECT 1 FROM member_blocks WHERE guild_id = ? AND user_id = ? AND (until IS NULL OR until > ?)))
          AND (CAST(? AS BIGINT) IS NULL OR (
                SELECT count(*) FROM bookings WHERE guild_id = ? AND member_user_id = ? AND status = 'requested'
              ) < ?)
        RETURNING id
        """,
        (
            guild_id,
            user_id,
            action,
            to_epoch(now),
            guild_id,
            user_id,
            action,
            to_epoch(since),
            allowed,
            int(blockable),
            guild_id,
            user_id,
            to_epoch(now),
            pending_most,
            guild_id,
            user_id,
            pending_most,
        ),
    )
    return int(rows[0][0]) if rows else None


async def delete_event(conn: Conn, event_id: int) -> bool:
    cur = await conn.execute("DELETE FROM rate_events WHERE id = ?", (event_id,))
    return cur.rowcount > 0


async def purge_events(conn: Conn, before: datetime) -> int:
    cur = await conn.execute("DELETE FROM rate_events WHERE at < ?", (to_epoch(before),))
    return cur.rowcount


async def delete_member_safety(conn: Conn, guild_id: int, user_id: int, now: datetime) -> int:
    """/privacy delete: the member's rate events, departure record and expired block. An active block stays."""
    deleted = 0
    for sql, params in (
        ("DELETE FROM rate_events WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)),
        ("DELETE FROM member_departures WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)),
        (
            "DELETE FROM member_blocks WHERE guild_id = ? AND user_id = ? AND until IS NOT NULL AND until <= ?",
            (guild_id, user_id, to_epoch(now)),
        ),
    ):
        cur = await conn.execute(sql, params)
        deleted += cur.rowcount
    deleted += await forget_blocker(conn, guild_id, user_id)
    return deleted


# --- departures ----------------------------------------------------------------------------------------------------


async def record_departure(
    conn: Conn, *, guild_id: int, user_id: int, now: datetime, purge_after: datetime
) -> tuple[Departure, bool]:
    """Remember that the member left; (the record, True when this call made it)."""
    async with conn.execute(
        "INSERT INTO member_departures (guild_id, user_id, left_at, purge_after) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING *",
        (guild_id, user_id, to_epoch(now), to_epoch(purge_after)),
    ) as cur:
        row = await cur.fetchone()
    if row is not None:
        return _departure(row), True
    existing = await get_departure(conn, guild_id, user_id)
    assert existing is not None
    return existing, False


async def get_departure(conn: Conn, guild_id: int, user_id: int) -> Departure | None:
    row = await fetch_one(
        conn, "SELECT * FROM member_departures WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return None if row is None else _departure(row)


async def departures(conn: Conn, guild_id: int) -> list[Departure]:
    async with conn.execute("SELECT * FROM member_departures WHERE guild_id = ?", (guild_id,)) as cur:
        return [_departure(row) for row in await cur.fetchall()]


async def delete_departure(conn: Conn, guild_id: int, user_id: int) -> bool:
    cur = await conn.execute("DELETE FROM member_departures WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    return cur.rowcount > 0


async def due_departures(conn: Conn, now: datetime) -> list[Departure]:
    async with conn.execute(
        "SELECT * FROM member_departures WHERE purge_after <= ? ORDER BY purge_after", (to_epoch(now),)
    ) as cur:
        return [_departure(row) for row in await cur.fetchall()]


# --- the bot's presence per server ---------------------------------------------------------------------------------


async def get_presence(conn: Conn, guild_id: int) -> Presence | None:
    async with conn.execute("SELECT * FROM guild_presence WHERE guild_id = ?", (guild_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else _presence(row)


async def mark_welcomed(conn: Conn, guild_id: int, now: datetime) -> bool:
    """True when this call is the first to welcome the server (the message goes out once)."""
    cur = await conn.execute(
        """
        INSERT INTO guild_presence (guild_id, welcomed_at) VALUES (?, ?)
        ON CONFLICT (guild_id) DO UPDATE SET welcomed_at = excluded.welcomed_at
        WHERE guild_presence.welcomed_at IS NULL
        """,
        (guild_id, to_epoch(now)),
    )
    return cur.rowcount > 0


async def mark_present(conn: Conn, guild_id: int) -> bool:
    """The bot is in the server: cancel a pending purge. True when one was pending."""
    cur = await conn.execute(
        "UPDATE guild_presence SET removed_at = NULL, purge_after = NULL WHERE guild_id = ? AND removed_at IS NOT NULL",
        (guild_id,),
    )
    return cur.rowcount > 0


async def mark_removed(conn: Conn, guild_id: int, now: datetime, purge_after: datetime) -> None:
    await conn.execute(
        """
        INSERT INTO guild_presence (guild_id, removed_at, purge_after) VALUES (?, ?, ?)
        ON CONFLICT (guild_id) DO UPDATE SET removed_at = excluded.removed_at, purge_after = excluded.purge_after
        WHERE guild_presence.removed_at IS NULL
        """,
        (guild_id, to_epoch(now), to_epoch(purge_after)),
    )


async def due_guild_purges(conn: Conn, now: datetime) -> list[int]:
    async with conn.execute(
        "SELECT guild_id FROM guild_presence WHERE purge_after IS NOT NULL AND purge_after <= ?", (to_epoch(now),)
    ) as cur:
        return [int(row[0]) for row in await cur.fetchall()]


async def pending_booking_requests(conn: Conn, guild_id: int, user_id: int) -> int:
    """Booking requests the member made that no mentor has answered yet."""
    async with conn.execute(
        "SELECT count(*) FROM bookings WHERE guild_id = ? AND member_user_id = ? AND status = 'requested'",
        (guild_id, user_id),
    ) as cur:
        row = await cur.fetchone()
    return 0 if row is None else int(row[0])
