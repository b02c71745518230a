"""The DM channel id per person (migration 0007): a DM to someone already written to is one request."""

from __future__ import annotations

from storage.sql import Conn


async def get(conn: Conn, user_id: int) -> int | None:
    async with conn.execute("SELECT channel_id FROM dm_channels WHERE user_id = ?", (user_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else int(row[0])


async def remember(conn: Conn, user_id: int, channel_id: int) -> None:
    """Store (or replace) the member's DM channel; two first DMs at once store the same id, so either wins."""
    await conn.execute(
        "INSERT INTO dm_channels (user_id, channel_id) VALUES (?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET channel_id = excluded.channel_id",
        (user_id, channel_id),
    )


async def forget(conn: Conn, user_id: int, channel_id: int | None = None) -> bool:
    """Forget the member's DM channel (only if it is still ``channel_id``, when given). True if a row went."""
    if channel_id is None:
        cur = await conn.execute("DELETE FROM dm_channels WHERE user_id = ?", (user_id,))
    else:
        cur = await conn.execute("DELETE FROM dm_channels WHERE user_id = ? AND channel_id = ?", (user_id, channel_id))
    return cur.rowcount > 0
