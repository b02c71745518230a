"""Form drafts: one member's unsent form (its opening options and what they typed), sealed by the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import fetch_one, from_epoch, to_epoch
from storage.sql import Conn, Row


@dataclass(frozen=True, slots=True)
class DraftRow:
    id: int
    user_id: int
    guild_id: int | None
    form: str
    custom_id: str
    sealed: bytes
    created_at: datetime
    expires_at: datetime


def _row(row: Row) -> DraftRow:
    return DraftRow(
        id=row["id"],
        user_id=row["user_id"],
        guild_id=row["guild_id"],
        form=row["form"],
        custom_id=row["custom_id"],
        sealed=bytes(row["sealed"]),
        created_at=from_epoch(row["created_at"]),
        expires_at=from_epoch(row["expires_at"]),
    )


async def put_draft(
    conn: Conn,
    *,
    user_id: int,
    guild_id: int | None,
    form: str,
    custom_id: str,
    sealed: bytes,
    now: datetime,
    expires_at: datetime,
) -> DraftRow:
    """Create or replace the member's draft of the form with this custom id (its id stays the same)."""
    async with conn.execute(
        """
        INSERT INTO form_drafts (user_id, guild_id, form, custom_id, sealed, created_at, expires_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (user_id, custom_id) DO UPDATE SET
            guild_id = excluded.guild_id, form = excluded.form, sealed = excluded.sealed,
            created_at = excluded.created_at, expires_at = excluded.expires_at
        RETURNING *
        """,
        (user_id, guild_id, form, custom_id, sealed, to_epoch(now), to_epoch(expires_at)),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return _row(row)


async def get_draft(conn: Conn, user_id: int, custom_id: str, now: datetime) -> DraftRow | None:
    row = await fetch_one(
        conn,
        "SELECT * FROM form_drafts WHERE user_id = ? AND custom_id = ? AND expires_at > ?",
        (user_id, custom_id, to_epoch(now)),
    )
    return None if row is None else _row(row)


async def get_draft_by_id(conn: Conn, draft_id: int, user_id: int, now: datetime) -> DraftRow | None:
    """The draft with this id, only if it belongs to ``user_id`` and has not expired."""
    row = await fetch_one(
        conn,
        "SELECT * FROM form_drafts WHERE id = ? AND user_id = ? AND expires_at > ?",
        (draft_id, user_id, to_epoch(now)),
    )
    return None if row is None else _row(row)


async def member_drafts(conn: Conn, user_id: int, now: datetime) -> list[DraftRow]:
    async with conn.execute(
        "SELECT * FROM form_drafts WHERE user_id = ? AND expires_at > ? ORDER BY id", (user_id, to_epoch(now))
    ) as cur:
        return [_row(row) for row in await cur.fetchall()]


async def take_draft(conn: Conn, user_id: int, custom_id: str, now: datetime) -> DraftRow | None:
    """Delete the member's live draft of the form with this custom id, returning it (None when there is none)."""
    row = await fetch_one(
        conn,
        "DELETE FROM form_drafts WHERE user_id = ? AND custom_id = ? AND expires_at > ? RETURNING *",
        (user_id, custom_id, to_epoch(now)),
    )
    return None if row is None else _row(row)


async def delete_other_drafts(conn: Conn, *, user_id: int, guild_id: int | None, form: str, keep_custom_id: str) -> int:
    """A member opened this form again: their older drafts of it in the same server go."""
    cur = await conn.execute(
        "DELETE FROM form_drafts WHERE user_id = ? AND guild_id IS NOT DISTINCT FROM ? AND form = ? AND custom_id != ?",
        (user_id, guild_id, form, keep_custom_id),
    )
    return cur.rowcount


async def delete_member_drafts(conn: Conn, user_id: int) -> int:
    cur = await conn.execute("DELETE FROM form_drafts WHERE user_id = ?", (user_id,))
    return cur.rowcount


async def purge_expired(conn: Conn, now: datetime) -> int:
    cur = await conn.execute("DELETE FROM form_drafts WHERE expires_at <= ?", (to_epoch(now),))
    return cur.rowcount
