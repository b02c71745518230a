"""A mentor's away and travel ranges (migration ``mentor_absences``): whole local dates, inclusive."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from storage.db import from_epoch, to_epoch
from storage.sql import Conn, Row


@dataclass(frozen=True, slots=True)
class AbsenceRow:
    id: int
    guild_id: int
    user_id: int
    kind: str  # 'away' | 'travel'
    first_day: date
    last_day: date
    timezone: str | None
    created_at: datetime


def _row(row: Row) -> AbsenceRow:
    return AbsenceRow(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        kind=row["kind"],
        first_day=date.fromisoformat(row["first_day"]),
        last_day=date.fromisoformat(row["last_day"]),
        timezone=row["timezone"],
        created_at=from_epoch(row["created_at"]),
    )


async def _rows(conn: Conn, sql: str, params: Sequence[object]) -> list[Row]:
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


async def add(
    conn: Conn,
    guild_id: int,
    user_id: int,
    *,
    kind: str,
    first_day: date,
    last_day: date,
    timezone: str | None,
    now: datetime,
) -> AbsenceRow:
    rows = await _rows(
        conn,
        """
        INSERT INTO mentor_absences (guild_id, user_id, kind, first_day, last_day, timezone, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *
        """,
        (guild_id, user_id, kind, first_day.isoformat(), last_day.isoformat(), timezone, to_epoch(now)),
    )
    return _row(rows[0])


async def of_mentor(conn: Conn, guild_id: int, user_id: int, *, ending_from: date | None = None) -> list[AbsenceRow]:
    """The mentor's ranges in date order; with ``ending_from``, only those not over before that date."""
    since = ending_from.isoformat() if ending_from is not None else "0000-01-01"
    rows = await _rows(
        conn,
        "SELECT * FROM mentor_absences WHERE guild_id = ? AND user_id = ? AND last_day >= ? ORDER BY first_day, id",
        (guild_id, user_id, since),
    )
    return [_row(r) for r in rows]


async def of_user(conn: Conn, user_id: int, guild_id: int | None = None) -> list[AbsenceRow]:
    """Every range of one person, in every server (or one): for /privacy export."""
    rows = await _rows(
        conn,
        "SELECT * FROM mentor_absences WHERE user_id = ? AND (CAST(? AS BIGINT) IS NULL OR guild_id = ?) "
        "ORDER BY guild_id, first_day",
        (user_id, guild_id, guild_id),
    )
    return [_row(r) for r in rows]


async def get(conn: Conn, absence_id: int) -> AbsenceRow | None:
    rows = await _rows(conn, "SELECT * FROM mentor_absences WHERE id = ?", (absence_id,))
    return _row(rows[0]) if rows else None


async def remove(conn: Conn, absence_id: int, user_id: int) -> bool:
    cur = await conn.execute("DELETE FROM mentor_absences WHERE id = ? AND user_id = ?", (absence_id, user_id))
    return cur.rowcount > 0


async def remove_ended(conn: Conn, guild_id: int, user_id: int, before: date) -> None:
    await conn.execute(
        "DELETE FROM mentor_absences WHERE guild_id = ? AND user_id = ? AND last_day < ?",
        (guild_id, user_id, before.isoformat()),
    )


async def delete_of_user(conn: Conn, user_id: int, guild_id: int | None = None) -> int:
    cur = await conn.execute(
        "DELETE FROM mentor_absences WHERE user_id = ? AND (CAST(? AS BIGINT) IS NULL OR guild_id = ?)",
        (user_id, guild_id, guild_id),
    )
    return cur.rowcount
