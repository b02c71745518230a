"""A mentor's roster card across processes (migration 0018): which process is writing it now, and when it was last
edited. Both sit on the mentor's row (``card_claimed_by``, ``card_lease_until``, ``card_edited_at``), so they go
with the profile; the values are a worker name and instants, never member data.

A card is written by one process at a time: :func:`claim` takes the row for a lease (one ``UPDATE`` whose condition
is checked on the row as it stands, so of two processes claiming at once only one gets it), :func:`release` gives
it back and records the edit. The last edit time is what the one-edit-a-minute debounce reads, so it holds whichever
process made the edit, and across restarts.
"""

from __future__ import annotations

from datetime import datetime

from storage.db import fetch_one, from_epoch, to_epoch
from storage.sql import Conn


async def edited_at(conn: Conn, guild_id: int, user_id: int) -> datetime | None:
    """When the mentor's card was last edited (posted, edited in place), by any process; None: never or unknown."""
    row = await fetch_one(
        conn, "SELECT card_edited_at FROM mentors WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return None if row is None or row[0] is None else from_epoch(row[0])


async def claim(conn: Conn, guild_id: int, user_id: int, *, worker: str, now: datetime, lease_until: datetime) -> bool:
    """Take the card for ``worker`` until ``lease_until`` (or renew its hold). False when another worker holds it
    under a lease that has not run out, or the mentor has no row."""
    cur = await conn.execute(
        """
        UPDATE mentors SET card_claimed_by = ?, card_lease_until = ?
        WHERE guild_id = ? AND user_id = ?
          AND (card_claimed_by IS NULL OR card_claimed_by = ? OR card_lease_until <= ?)
        """,
        (worker, to_epoch(lease_until), guild_id, user_id, worker, to_epoch(now)),
    )
    return cur.rowcount > 0


async def release(conn: Conn, guild_id: int, user_id: int, *, worker: str, edited: datetime | None) -> bool:
    """Give the card back; ``edited``: when ``worker`` edited it (kept for the debounce). False when the hold was
    no longer ``worker``'s (its lease ran out and another took the card)."""
    at = None if edited is None else to_epoch(edited)
    cur = await conn.execute(
        """
        UPDATE mentors SET card_claimed_by = NULL, card_lease_until = NULL,
            card_edited_at = CASE WHEN CAST(? AS BIGINT) IS NULL THEN card_edited_at ELSE ? END
        WHERE guild_id = ? AND user_id = ? AND card_claimed_by = ?
        """,
        (at, at, guild_id, user_id, worker),
    )
    return cur.rowcount > 0
