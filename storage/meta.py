"""A small key/value store for facts about this installation (e.g. the last synced application-commands hash)."""

from __future__ import annotations

from storage.sql import Conn


async def get_meta(conn: Conn, key: str) -> str | None:
    async with conn.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
        row = await cur.fetchone()
    return None if row is None else str(row["value"])


async def set_meta(conn: Conn, key: str, value: str) -> None:
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def delete_meta(conn: Conn, key: str) -> bool:
    cur = await conn.execute("DELETE FROM meta WHERE key = ?", (key,))
    return cur.rowcount > 0
