"""Mentor profiles and bookings: typed repository functions over migration 0004.

Every function takes a connection (``db.conn`` or the one yielded by ``db.transaction()``) so callers decide what is
atomic. Phone numbers arrive and leave as Fernet tokens only; ``repr`` of the models hides them and member-written
text, so a logged model leaks neither.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.errors import PorchlightError
from storage.db import from_epoch, to_epoch
from storage.sql import Conn, IntegrityError, Row

log = logging.getLogger(__name__)

MENTOR_STATUSES = ("pending_approval", "active", "paused", "declined", "left")
BOOKING_STATUSES = ("requested", "confirmed", "declined", "expired", "cancelled", "completed")
CONTACT_MODES = ("they_call_me", "i_call_them", "discord_voice")
LIVE = ("requested", "confirmed")
OUTCOMES = ("happened", "no_show", "rescheduled")


class SlotTaken(PorchlightError):
    """Someone else holds this slot. ``alternatives`` are the next free starts (aware UTC), when known."""

    def __init__(self, message: str | None = None, alternatives: Sequence[datetime] = ()) -> None:
        super().__init__(message or "Someone booked that time a moment ago. Please pick another time.")
        self.alternatives = list(alternatives)


@dataclass(frozen=True, slots=True)
class Mentor:
    guild_id: int
    user_id: int
    status: str
    headline: str
    topics: tuple[str, ...]
    about: str = field(repr=False)
    timezone: str
    windows: str
    call_minutes: int
    contact_mode: str
    phone_encrypted: bytes | None = field(repr=False)
    weekly_limit: int
    paused_until: datetime | None
    roster_message_id: int | None
    decided_by: int | None
    created_at: datetime
    updated_at: datetime
    # When the roster card was last edited, by any process (``storage/roster_cards.py``); read with the row, so the
    # card's debounce needs no read of its own. Not part of the profile's equality.
    card_edited_at: datetime | None = field(default=None, compare=False)

    @property
    def has_phone(self) -> bool:
        return self.phone_encrypted is not None


@dataclass(frozen=True, slots=True)
class Booking:
    id: int
    guild_id: int
    mentor_user_id: int
    member_user_id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    contact_mode: str
    topic_text: str = field(repr=False)
    member_phone_encrypted: bytes | None = field(repr=False)
    expires_at: datetime
    cancel_reason: str | None = field(repr=False)
    cancelled_by: int | None
    outcome: str | None
    outcome_reported_by: int | None
    no_show_user_id: int | None
    ics_sequence: int
    created_at: datetime
    decided_at: datetime | None
    updated_at: datetime

    def other_party(self, user_id: int) -> int:
        return self.member_user_id if user_id == self.mentor_user_id else self.mentor_user_id

    def involves(self, user_id: int) -> bool:
        return user_id in (self.mentor_user_id, self.member_user_id)


def _opt(value: int | None) -> datetime | None:
    return None if value is None else from_epoch(value)


def _mentor(row: Row) -> Mentor:
    return Mentor(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        status=row["status"],
        headline=row["headline"],
        topics=tuple(json.loads(row["topics"])),
        about=row["about"],
        timezone=row["timezone"],
        windows=row["windows"],
        call_minutes=row["call_minutes"],
        contact_mode=row["contact_mode"],
        phone_encrypted=row["phone_encrypted"],
        weekly_limit=row["weekly_limit"],
        paused_until=_opt(row["paused_until"]),
        roster_message_id=row["roster_message_id"],
        decided_by=row["decided_by"],
        created_at=from_epoch(row["created_at"]),
        updated_at=from_epoch(row["updated_at"]),
        card_edited_at=_opt(row["card_edited_at"]),
    )


def _booking(row: Row) -> Booking:
    return Booking(
        id=row["id"],
        guild_id=row["guild_id"],
        mentor_user_id=row["mentor_user_id"],
        member_user_id=row["member_user_id"],
        starts_at=from_epoch(row["starts_at"]),
        ends_at=from_epoch(row["ends_at"]),
        status=row["status"],
        contact_mode=row["contact_mode"],
        topic_text=row["topic_text"],
        member_phone_encrypted=row["member_phone_encrypted"],
        expires_at=from_epoch(row["expires_at"]),
        cancel_reason=row["cancel_reason"],
        cancelled_by=row["cancelled_by"],
        outcome=row["outcome"],
        outcome_reported_by=row["outcome_reported_by"],
        no_show_user_id=row["no_show_user_id"],
        ics_sequence=row["ics_sequence"],
        created_at=from_epoch(row["created_at"]),
        decided_at=_opt(row["decided_at"]),
        updated_at=from_epoch(row["updated_at"]),
    )


async def _rows(conn: Conn, sql: str, params: Sequence[object]) -> list[Row]:
    async with conn.execute(sql, tuple(params)) as cur:
        return list(await cur.fetchall())


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


# -- mentors ----------------------------------------------------------------------------------------------------------


async def get_mentor(conn: Conn, guild_id: int, user_id: int) -> Mentor | None:
    rows = await _rows(conn, "SELECT * FROM mentors WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    return _mentor(rows[0]) if rows else None


async def save_mentor(
    conn: Conn,
    *,
    guild_id: int,
    user_id: int,
    status: str,
    headline: str,
    topics: Sequence[str],
    about: str,
    timezone: str,
    windows: str,
    call_minutes: int,
    contact_mode: str,
    phone_encrypted: bytes | None,
    weekly_limit: int,
    now: datetime,
) -> Mentor:
    """Create the profile, or replace every field of an existing one (a mentor who left signing up again).

    The roster message id and ``created_at`` of an existing row are kept; a pause is cleared.
    """
    at = to_epoch(now)
    rows = await _rows(
        conn,
        """
        INSERT INTO mentors (guild_id, user_id, status, headline, topics, about, timezone, windows, call_minutes,
                             contact_mode, phone_encrypted, weekly_limit, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (guild_id, user_id) DO UPDATE SET
            status = excluded.status, headline = excluded.headline, topics = excluded.topics,
            about = excluded.about, timezone = excluded.timezone, windows = excluded.windows,
            call_minutes = excluded.call_minutes, contact_mode = excluded.contact_mode,
            phone_encrypted = excluded.phone_encrypted, weekly_limit = excluded.weekly_limit,
            paused_until = NULL, decided_by = NULL, updated_at = excluded.updated_at
        RETURNING *
        """,
        (
            guild_id,
            user_id,
            status,
            headline,
            json.dumps(list(topics)),
            about,
            timezone,
            windows,
            call_minutes,
            contact_mode,
            phone_encrypted,
            weekly_limit,
            at,
            at,
        ),
    )
    return _mentor(rows[0])


# Columns update_mentor may set; the names are fixed here, the values always go through placeholders.
_MENTOR_EDITABLE = frozenset(
    {
        "status",
        "headline",
        "topics",
        "about",
        "timezone",
        "windows",
        "call_minutes",
        "contact_mode",
        "phone_encrypted",
        "weekly_limit",
        "paused_until",
        "roster_message_id",
        "decided_by",
    }
)


async def update_mentor(
    conn: Conn,
    guild_id: int,
    user_id: int,
    *,
    now: datetime,
    expect_status: Iterable[str] | None = None,
    **changes: Any,
) -> Mentor | None:
    """Set the given columns; None when there is no such mentor (or it is not in one of ``expect_status``).

    ``topics`` takes a sequence of tags; ``paused_until`` an aware datetime or None.
    """
    unknown = set(changes) - _MENTOR_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    values: list[object] = []
    assignments: list[str] = []
    for name, value in changes.items():
        if name == "topics":
            assert isinstance(value, list | tuple)
            value = json.dumps(list(value))
        elif isinstance(value, datetime):
            value = to_epoch(value)
        assignments.append(f"{name} = ?")
        values.append(value)
    assignments.append("updated_at = ?")
    values.append(to_epoch(now))
    sql = f"UPDATE mentors SET {', '.join(assignments)} WHERE guild_id = ? AND user_id = ?"  # noqa: S608
    values += [guild_id, user_id]
    if expect_status is not None:
        statuses = list(expect_status)
        sql += f" AND status IN ({_marks(statuses)})"
        values += statuses
    rows = await _rows(conn, sql + " RETURNING *", values)
    return _mentor(rows[0]) if rows else None


async def list_mentors(conn: Conn, guild_id: int, statuses: Sequence[str]) -> list[Mentor]:
    rows = await _rows(
        conn,
        f"SELECT * FROM mentors WHERE guild_id = ? AND status IN ({_marks(statuses)}) ORDER BY created_at, user_id",  # noqa: S608
        (guild_id, *statuses),
    )
    return [_mentor(row) for row in rows]


async def mentors_of_user(conn: Conn, user_id: int, guild_id: int | None = None) -> list[Mentor]:
    rows = await _rows(
        conn,
        "SELECT * FROM mentors WHERE user_id = ? AND (CAST(? AS BIGINT) IS NULL OR guild_id = ?) ORDER BY guild_id",
        (user_id, guild_id, guild_id),
    )
    return [_mentor(row) for row in rows]


async def delete_mentor(conn: Conn, guild_id: int, user_id: int) -> bool:
    cur = await conn.execute("DELETE FROM mentors WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    return cur.rowcount > 0


# -- bookings ---------------------------------------------------------------------------------------------------------


async def insert_booking(
    conn: Conn,
    *,
    guild_id: int,
    mentor_user_id: int,
    member_user_id: int,
    starts_at: datetime,
    ends_at: datetime,
    contact_mode: str,
    topic_text: str,
    member_phone_encrypted: bytes | None,
    expires_at: datetime,
    now: datetime,
) -> Booking:
    """A new ``requested`` booking. Raises :class:`SlotTaken` when the mentor already has a live booking then."""
    at = to_epoch(now)
    try:
        async with conn.may_fail():
            rows = await _rows(
                conn,
                """
                INSERT INTO bookings
                    (guild_id, mentor_user_id, member_user_id, starts_at, ends_at, status, contact_mode, topic_text,
                     member_phone_encrypted, expires_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'requested', ?, ?, ?, ?, ?, ?)
                RETURNING *
                """,
                (
                    guild_id,
                    mentor_user_id,
                    member_user_id,
                    to_epoch(starts_at),
                    to_epoch(ends_at),
                    contact_mode,
                    topic_text,
                    member_phone_encrypted,
                    to_epoch(expires_at),
                    at,
                    at,
                ),
            )
    except IntegrityError as exc:
        if "UNIQUE" in str(exc) and "bookings" in str(exc):
            log.info("booking refused slot taken guild=%d mentor=%d", guild_id, mentor_user_id)
            raise SlotTaken() from None
        raise
    return _booking(rows[0])


async def get_booking(conn: Conn, booking_id: int) -> Booking | None:
    rows = await _rows(conn, "SELECT * FROM bookings WHERE id = ?", (booking_id,))
    return _booking(rows[0]) if rows else None


async def list_bookings(
    conn: Conn,
    *,
    guild_id: int | None = None,
    mentor_user_id: int | None = None,
    member_user_id: int | None = None,
    involving: int | None = None,
    statuses: Sequence[str] = BOOKING_STATUSES,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
    ends_after: datetime | None = None,
) -> list[Booking]:
    """Bookings matching every filter given, in start order. ``involving`` matches either side."""
    # Only the filters given go into the SQL, so the planner can use an index (``? IS NULL OR column = ?`` cannot).
    clauses = [f"status IN ({_marks(statuses)})"]
    params: list[object] = [*statuses]
    for clause, value in (
        # With ``involving``, the person's two indexes are narrower than the server's: unary + keeps SQLite off it.
        ("+guild_id = ?" if involving is not None else "guild_id = ?", guild_id),
        ("mentor_user_id = ?", mentor_user_id),
        ("member_user_id = ?", member_user_id),
        ("starts_at >= ?", None if starts_from is None else to_epoch(starts_from)),
        ("starts_at < ?", None if starts_before is None else to_epoch(starts_before)),
        ("ends_at > ?", None if ends_after is None else to_epoch(ends_after)),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if involving is not None:
        clauses.append("(mentor_user_id = ? OR member_user_id = ?)")
        params += [involving, involving]
    where = " AND ".join(clauses)
    rows = await _rows(conn, f"SELECT * FROM bookings WHERE {where} ORDER BY starts_at, id", params)  # noqa: S608
    return [_booking(row) for row in rows]


async def transition_booking(
    conn: Conn,
    booking_id: int,
    *,
    from_statuses: Sequence[str],
    to_status: str,
    now: datetime,
    decided: bool = False,
    bump_sequence: bool = False,
    cancel_reason: str | None = None,
    cancelled_by: int | None = None,
) -> Booking | None:
    """Move a booking from one of ``from_statuses`` to ``to_status``; None when it was not in one of them.

    One conditional UPDATE, so two racing transitions (accept and expire, two cancel clicks) cannot both win.
    """
    at = to_epoch(now)
    rows = await _rows(
        conn,
        f"""
        UPDATE bookings SET
            status = ?,
            decided_at = CASE WHEN ? = 1 THEN ? ELSE decided_at END,
            ics_sequence = ics_sequence + ?,
            cancel_reason = COALESCE(?, cancel_reason),
            cancelled_by = COALESCE(?, cancelled_by),
            updated_at = ?
        WHERE id = ? AND status IN ({_marks(from_statuses)})
        RETURNING *
        """,  # noqa: S608 - only placeholders are interpolated
        (
            to_status,
            int(decided),
            at,
            int(bump_sequence),
            cancel_reason,
            cancelled_by,
            at,
            booking_id,
            *from_statuses,
        ),
    )
    return _booking(rows[0]) if rows else None


async def record_outcome(
    conn: Conn,
    booking_id: int,
    *,
    outcome: str,
    reported_by: int,
    no_show_user_id: int | None,
    now: datetime,
) -> Booking | None:
    """Mark a confirmed call completed with its outcome; None when it is not confirmed (the first report wins)."""
    rows = await _rows(
        conn,
        """
        UPDATE bookings SET status = 'completed', outcome = ?, outcome_reported_by = ?, no_show_user_id = ?,
                            updated_at = ?
        WHERE id = ? AND status = 'confirmed'
        RETURNING *
        """,
        (outcome, reported_by, no_show_user_id, to_epoch(now), booking_id),
    )
    return _booking(rows[0]) if rows else None


async def no_show_counts(conn: Conn, guild_id: int) -> dict[int, int]:
    rows = await _rows(
        conn,
        """
        SELECT no_show_user_id AS user_id, count(*) AS n FROM bookings
        WHERE guild_id = ? AND outcome = 'no_show' AND no_show_user_id IS NOT NULL
        GROUP BY no_show_user_id
        """,
        (guild_id,),
    )
    return {int(row["user_id"]): int(row["n"]) for row in rows}


async def expired_requests(conn: Conn, now: datetime) -> list[Booking]:
    rows = await _rows(
        conn,
        "SELECT * FROM bookings WHERE status = 'requested' AND expires_at <= ? ORDER BY expires_at, id",
        (to_epoch(now),),
    )
    return [_booking(row) for row in rows]


async def forget_member_phone(conn: Conn, booking_ids: Sequence[int]) -> None:
    """Drop the member's number from bookings that no longer need it (finished or cancelled)."""
    if booking_ids:
        await conn.execute(
            f"UPDATE bookings SET member_phone_encrypted = NULL WHERE id IN ({_marks(booking_ids)})"  # noqa: S608
            " AND status NOT IN ('requested', 'confirmed')",
            tuple(booking_ids),
        )


async def delete_bookings_involving(conn: Conn, user_id: int, guild_id: int | None = None) -> int:
    cur = await conn.execute(
        """
        DELETE FROM bookings
        WHERE (mentor_user_id = ? OR member_user_id = ?) AND (CAST(? AS BIGINT) IS NULL OR guild_id = ?)
        """,
        (user_id, user_id, guild_id, guild_id),
    )
    return cur.rowcount
