"""Proposed new times for confirmed calls (migration ``booking_moves``), and moving a booking to one.

A booking keeps its row when it moves, so its invite keeps its UID; :func:`move_booking` changes its times and bumps
``ics_sequence`` in one UPDATE, and the partial unique index on live bookings refuses a time another live booking
holds (:class:`storage.mentors.SlotTaken`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import from_epoch, to_epoch
from storage.mentors import Booking, SlotTaken, _booking
from storage.sql import Conn, IntegrityError, Row

MOVE_STATUSES = ("pending", "accepted", "declined", "expired", "withdrawn")


@dataclass(frozen=True, slots=True)
class Move:
    id: int
    booking_id: int
    guild_id: int
    mentor_user_id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    expires_at: datetime
    created_at: datetime
    decided_at: datetime | None


def _move(row: Row) -> Move:
    return Move(
        id=row["id"],
        booking_id=row["booking_id"],
        guild_id=row["guild_id"],
        mentor_user_id=row["mentor_user_id"],
        starts_at=from_epoch(row["starts_at"]),
        ends_at=from_epoch(row["ends_at"]),
        status=row["status"],
        expires_at=from_epoch(row["expires_at"]),
        created_at=from_epoch(row["created_at"]),
        decided_at=from_epoch(row["decided_at"]) if row["decided_at"] is not None else None,
    )


async def _rows(conn: Conn, sql: str, params: Sequence[object]) -> list[Row]:
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


async def insert_move(
    conn: Conn,
    booking: Booking,
    *,
    starts_at: datetime,
    ends_at: datetime,
    expires_at: datetime,
    now: datetime,
) -> Move:
    """A pending proposal. :class:`SlotTaken` when another call's proposal holds that time already."""
    try:
        async with conn.may_fail():
            rows = await _rows(
                conn,
                """
                INSERT INTO booking_moves
                    (booking_id, guild_id, mentor_user_id, starts_at, ends_at, expires_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                RETURNING *
                """,
                (
                    booking.id,
                    booking.guild_id,
                    booking.mentor_user_id,
                    to_epoch(starts_at),
                    to_epoch(ends_at),
                    to_epoch(expires_at),
                    to_epoch(now),
                ),
            )
    except IntegrityError as exc:
        if "booking_moves" in str(exc):
            raise SlotTaken() from None
        raise
    return _move(rows[0])


async def get_move(conn: Conn, move_id: int) -> Move | None:
    rows = await _rows(conn, "SELECT * FROM booking_moves WHERE id = ?", (move_id,))
    return _move(rows[0]) if rows else None


async def pending_move(conn: Conn, booking_id: int) -> Move | None:
    rows = await _rows(conn, "SELECT * FROM booking_moves WHERE booking_id = ? AND status = 'pending'", (booking_id,))
    return _move(rows[0]) if rows else None


@dataclass(frozen=True, slots=True)
class Taken:
    """Time a mentor has given away: a booking (``booking_id``, its status) or a pending proposal's held time
    (``booking_id`` None, status ``held``)."""

    booking_id: int | None
    guild_id: int
    status: str
    starts_at: datetime
    ends_at: datetime


async def taken_times(
    conn: Conn, mentor_user_id: int, *, statuses: Sequence[str], starts_from: datetime
) -> list[Taken]:
    """A mentor's bookings in ``statuses`` starting from ``starts_from``, and the times held by their pending
    proposals (not free to anyone else while the mentor decides), in every server: one statement, only the
    columns a free-time computation needs."""
    marks = ", ".join("?" for _ in statuses)
    rows = await _rows(
        conn,
        f"""
        SELECT id, guild_id, status, starts_at, ends_at FROM bookings
        WHERE mentor_user_id = ? AND status IN ({marks}) AND starts_at >= ?
        UNION ALL
        SELECT NULL, guild_id, 'held', starts_at, ends_at FROM booking_moves
        WHERE mentor_user_id = ? AND status = 'pending'
        """,  # noqa: S608
        (mentor_user_id, *statuses, to_epoch(starts_from), mentor_user_id),
    )
    return [Taken(r[0], int(r[1]), r[2], from_epoch(r[3]), from_epoch(r[4])) for r in rows]


async def moves_of_booking(conn: Conn, booking_id: int) -> list[Move]:
    rows = await _rows(conn, "SELECT * FROM booking_moves WHERE booking_id = ? ORDER BY id", (booking_id,))
    return [_move(r) for r in rows]


async def decide_move(conn: Conn, move_id: int, *, to_status: str, now: datetime) -> Move | None:
    """Close a pending proposal; None when it was no longer pending (a second click, a race with expiry)."""
    rows = await _rows(
        conn,
        "UPDATE booking_moves SET status = ?, decided_at = ? WHERE id = ? AND status = 'pending' RETURNING *",
        (to_status, to_epoch(now), move_id),
    )
    return _move(rows[0]) if rows else None


async def move_booking(
    conn: Conn, booking_id: int, *, starts_at: datetime, ends_at: datetime, now: datetime
) -> Booking | None:
    """Give a confirmed booking its new times and the next invite sequence; None when it is no longer confirmed.
    :class:`SlotTaken` when another live booking holds the new start (the partial unique index)."""
    try:
        async with conn.may_fail():
            rows = await _rows(
                conn,
                """
                UPDATE bookings SET starts_at = ?, ends_at = ?, ics_sequence = ics_sequence + 1, updated_at = ?
                WHERE id = ? AND status = 'confirmed'
                RETURNING *
                """,
                (to_epoch(starts_at), to_epoch(ends_at), to_epoch(now), booking_id),
            )
    except IntegrityError as exc:
        if "UNIQUE" in str(exc) and "bookings" in str(exc):
            raise SlotTaken() from None
        raise
    return _booking(rows[0]) if rows else None
