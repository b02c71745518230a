"""Reach-outs: which helper took a check-in that asked for one, and the private thread it became."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import from_epoch, to_epoch
from storage.sql import Conn, Row


@dataclass(frozen=True, slots=True)
class ReachOut:
    checkin_id: int
    guild_id: int
    helper_id: int
    thread_id: int | None
    taken_at: datetime


def _reach_out(row: Row) -> ReachOut:
    return ReachOut(
        checkin_id=int(row["checkin_id"]),
        guild_id=int(row["guild_id"]),
        helper_id=int(row["helper_id"]),
        thread_id=None if row["thread_id"] is None else int(row["thread_id"]),
        taken_at=from_epoch(int(row["taken_at"])),
    )


async def take(conn: Conn, *, checkin_id: int, guild_id: int, helper_id: int, now: datetime) -> tuple[ReachOut, bool]:
    """Claim the reach-out for ``helper_id``; return the stored claim and whether this call made it.

    The primary key decides, so of two helpers pressing at once exactly one gets ``True``.
    """
    async with conn.execute(
        "INSERT INTO checkin_reach_outs (checkin_id, guild_id, helper_id, taken_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING *",
        (checkin_id, guild_id, helper_id, to_epoch(now)),
    ) as cur:
        row = await cur.fetchone()
    if row is not None:
        return _reach_out(row), True
    existing = await get(conn, checkin_id)
    if existing is None:  # pragma: no cover - only the primary key can make the insert do nothing
        raise RuntimeError("reach-out insert was ignored but no claim exists")
    return existing, False


async def get(conn: Conn, checkin_id: int) -> ReachOut | None:
    async with conn.execute("SELECT * FROM checkin_reach_outs WHERE checkin_id = ?", (checkin_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else _reach_out(row)


async def set_thread(conn: Conn, *, checkin_id: int, thread_id: int) -> bool:
    async with conn.execute(
        "UPDATE checkin_reach_outs SET thread_id = ? WHERE checkin_id = ?", (thread_id, checkin_id)
    ) as cur:
        return cur.rowcount > 0


async def release(conn: Conn, *, checkin_id: int, helper_id: int) -> bool:
    """Undo a claim whose thread could not be opened, so another helper (or the same one) can take it again."""
    async with conn.execute(
        "DELETE FROM checkin_reach_outs WHERE checkin_id = ? AND helper_id = ? AND thread_id IS NULL",
        (checkin_id, helper_id),
    ) as cur:
        return cur.rowcount > 0
