"""Helpers' topics and on-call windows (migration 0013): typed functions over ``helper_duty``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from storage.db import fetch_one, from_epoch, to_epoch
from storage.sql import Conn, Row


@dataclass(frozen=True, slots=True)
class Duty:
    guild_id: int
    user_id: int
    topics: tuple[str, ...]  # empty: every topic
    on_call_until: datetime | None

    def on_call(self, now: datetime) -> bool:
        return self.on_call_until is not None and self.on_call_until > now


def _duty(row: Row) -> Duty:
    until = row["on_call_until"]
    return Duty(
        row["guild_id"], row["user_id"], tuple(json.loads(row["topics"])), None if until is None else from_epoch(until)
    )


async def get(conn: Conn, guild_id: int, user_id: int) -> Duty | None:
    row = await fetch_one(conn, "SELECT * FROM helper_duty WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    return None if row is None else _duty(row)


async def set_topics(conn: Conn, guild_id: int, user_id: int, topics: list[str], *, now: datetime) -> Duty:
    rows = await conn.execute_fetchall(
        """
        INSERT INTO helper_duty (guild_id, user_id, topics, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (guild_id, user_id) DO UPDATE SET topics = excluded.topics, updated_at = excluded.updated_at
        RETURNING *
        """,
        (guild_id, user_id, json.dumps(sorted(set(topics))), to_epoch(now)),
    )
    return _duty(next(iter(rows)))


async def set_on_call(conn: Conn, guild_id: int, user_id: int, until: datetime | None, *, now: datetime) -> Duty:
    rows = await conn.execute_fetchall(
        """
        INSERT INTO helper_duty (guild_id, user_id, on_call_until, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (guild_id, user_id) DO UPDATE SET
            on_call_until = excluded.on_call_until, updated_at = excluded.updated_at
        RETURNING *
        """,
        (guild_id, user_id, None if until is None else to_epoch(until), to_epoch(now)),
    )
    return _duty(next(iter(rows)))


async def on_call_for_topic(
    conn: Conn, guild_id: int, topic: str, *, now: datetime, exclude: int | None, limit: int
) -> list[int]:
    """Helpers on call here now who take ``topic`` (or every topic), the least recently helped first: those who
    never claimed a request here, then by their latest claim; ties by id, for a stable order."""
    length, topics = conn.dialect.json_array_length("d.topics"), conn.dialect.json_array_values("d.topics")
    rows = await conn.execute_fetchall(
        f"""
        SELECT user_id FROM (
            SELECT d.user_id,
                   (SELECT MAX(c.claimed_at) FROM help_claims AS c JOIN help_requests AS r ON r.id = c.request_id
                    WHERE c.helper_id = d.user_id AND r.guild_id = d.guild_id) AS last_helped
            FROM helper_duty AS d
            WHERE d.guild_id = ? AND d.on_call_until > ? AND d.user_id IS DISTINCT FROM ?
              AND ({length} = 0 OR EXISTS (SELECT 1 FROM {topics} AS t WHERE t.value = ?))
        ) AS on_call
        ORDER BY last_helped IS NOT NULL, last_helped, user_id
        LIMIT ?
        """,  # noqa: S608 (dialect fragments, no member input)
        (guild_id, to_epoch(now), exclude, topic, limit),
    )
    return [int(row[0]) for row in rows]


async def helped_since(conn: Conn, guild_id: int, user_id: int, since: datetime) -> int:
    """How many requests here the helper claimed since ``since``."""
    row = await fetch_one(
        conn,
        """
        SELECT COUNT(DISTINCT c.request_id) FROM help_claims AS c JOIN help_requests AS r ON r.id = c.request_id
        WHERE c.helper_id = ? AND r.guild_id = ? AND c.claimed_at >= ?
        """,
        (user_id, guild_id, to_epoch(since)),
    )
    return int(row[0]) if row else 0


async def delete_member(conn: Conn, guild_id: int, user_id: int) -> int:
    cur = await conn.execute("DELETE FROM helper_duty WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    return cur.rowcount
