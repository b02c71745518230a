"""The outbox of Discord side effects (migration 0007, ``docs/effects.md``): typed functions over ``effects``.

An effect is recorded with :func:`record` inside the transaction of the state change that implies it, so the change
and its intent commit together. The executor reads a subject's :func:`pending` effects in order and finishes each
with :func:`complete` (what Discord created), :func:`cancel_pending` or :func:`fail`; :func:`start` counts each run
before it touches Discord, so a later run knows the effect may already have happened. A runner first takes the
subject with :func:`claim_subject` (a lease), so that two processes never carry out one subject's effects at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import fetch_one, from_epoch, to_epoch
from storage.sql import Conn, Row


@dataclass(frozen=True, slots=True)
class Effect:
    id: int
    subject: str
    kind: str
    guild_id: int | None
    user_id: int | None
    args: dict[str, Any]
    status: str  # 'pending' | 'done' | 'cancelled' | 'failed'
    not_before: datetime
    attempts: int
    last_error: str | None
    channel_id: int | None
    result_id: int | None
    created_at: datetime
    done_at: datetime | None

    @property
    def nonce(self) -> str:
        """The deterministic message nonce of this effect (Discord allows 25 characters): a repeated send with it
        returns the message already created instead of posting a second one."""
        return f"porchlight-fx-{self.id}"


def _effect(row: Row) -> Effect:
    return Effect(
        id=row["id"],
        subject=row["subject"],
        kind=row["kind"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        args=json.loads(row["args"]),
        status=row["status"],
        not_before=from_epoch(row["not_before"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        channel_id=row["channel_id"],
        result_id=row["result_id"],
        created_at=from_epoch(row["created_at"]),
        done_at=None if row["done_at"] is None else from_epoch(row["done_at"]),
    )


async def _effects(conn: Conn, sql: str, params: Sequence[object]) -> list[Effect]:
    rows = await conn.execute_fetchall(sql, tuple(params))
    return [_effect(row) for row in rows]


async def record(
    conn: Conn,
    *,
    subject: str,
    kind: str,
    guild_id: int | None,
    user_id: int | None,
    args: dict[str, Any] | None = None,
    not_before: datetime,
    now: datetime,
) -> Effect:
    rows = await _effects(
        conn,
        """
        INSERT INTO effects (subject, kind, guild_id, user_id, args, not_before, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        RETURNING *
        """,
        (subject, kind, guild_id, user_id, json.dumps(args or {}), to_epoch(not_before), to_epoch(now)),
    )
    return rows[0]


async def get(conn: Conn, effect_id: int) -> Effect | None:
    row = await fetch_one(conn, "SELECT * FROM effects WHERE id = ?", (effect_id,))
    return None if row is None else _effect(row)


async def pending(conn: Conn, subject: str) -> list[Effect]:
    """The subject's pending effects, in the order they were recorded."""
    return await _effects(
        conn, "SELECT * FROM effects WHERE subject = ? AND status = 'pending' ORDER BY id", (subject,)
    )


async def pending_subjects(conn: Conn, *, guild_id: int | None = None) -> list[str]:
    """Subjects with pending effects (start-up and reconciliation sweep them)."""
    rows = await conn.execute_fetchall(
        "SELECT DISTINCT subject FROM effects WHERE status = 'pending' AND (CAST(? AS BIGINT) IS NULL OR guild_id = ?) "
        "ORDER BY subject",
        (guild_id, guild_id),
    )
    return [str(row[0]) for row in rows]


async def latest(conn: Conn, subject: str, kind: str) -> Effect | None:
    """The newest effect of ``kind`` for ``subject``, whatever its status."""
    row = await fetch_one(
        conn, "SELECT * FROM effects WHERE subject = ? AND kind = ? ORDER BY id DESC LIMIT 1", (subject, kind)
    )
    return None if row is None else _effect(row)


async def done(conn: Conn, subject: str) -> list[Effect]:
    """Every completed effect of a subject, oldest first: what Porchlight created on Discord for it."""
    return await _effects(conn, "SELECT * FROM effects WHERE subject = ? AND status = 'done' ORDER BY id", (subject,))


async def complete(
    conn: Conn,
    effect_id: int,
    *,
    channel_id: int | None,
    result_id: int | None,
    now: datetime,
) -> bool:
    cur = await conn.execute(
        """
        UPDATE effects SET status = 'done', channel_id = ?, result_id = ?, done_at = ?, last_error = NULL
        WHERE id = ? AND status = 'pending'
        """,
        (channel_id, result_id, to_epoch(now), effect_id),
    )
    return cur.rowcount > 0


async def note_progress(conn: Conn, effect_id: int, *, channel_id: int, result_id: int) -> None:
    """Keep what a multi-step effect created before its last step (e.g. the re-posted card before the old one is
    deleted), so a retry continues from there."""
    await conn.execute(
        "UPDATE effects SET channel_id = ?, result_id = ? WHERE id = ? AND status = 'pending'",
        (channel_id, result_id, effect_id),
    )


async def claim_subject(
    conn: Conn, subject: str, *, worker: str, now: datetime, lease_until: datetime
) -> list[Effect] | None:
    """Take the subject's pending effects for ``worker`` until ``lease_until`` (or renew its hold on them, and take
    effects recorded since). None when another runner holds the subject: one of its pending effects is claimed by
    someone else whose lease has not run out. Else the pending effects ``worker`` now holds, in order (none: nothing
    is pending).

    Inside a write transaction, so the check and the take are one step across processes: SQLite has one writer, and
    on PostgreSQL every write transaction holds the writer lock (``storage.pg``)."""
    if not conn.in_transaction:
        raise RuntimeError("claim_subject must run inside Database.transaction()")
    held = await fetch_one(
        conn,
        """
        SELECT 1 FROM effects
        WHERE subject = ? AND status = 'pending' AND claimed_by <> ? AND lease_until > ?
        LIMIT 1
        """,
        (subject, worker, to_epoch(now)),
    )
    if held is not None:
        return None
    taken = await _effects(
        conn,
        "UPDATE effects SET claimed_by = ?, lease_until = ? WHERE subject = ? AND status = 'pending' RETURNING *",
        (worker, to_epoch(lease_until), subject),
    )
    return sorted(taken, key=lambda effect: effect.id)  # RETURNING order is unspecified


async def release_subject(conn: Conn, subject: str, *, worker: str) -> int:
    """Give up ``worker``'s hold on the subject's pending effects (another runner may take them at once)."""
    cur = await conn.execute(
        """
        UPDATE effects SET claimed_by = NULL, lease_until = NULL
        WHERE subject = ? AND status = 'pending' AND claimed_by = ?
        """,
        (subject, worker),
    )
    return cur.rowcount


async def release_previous_runs(conn: Conn, *, stable_name: str, current_worker: str) -> int:
    """Release the subjects held by an earlier run of this worker (``stable_name`` or ``stable_name:<another
    incarnation>``): that run is over, so its subjects need not wait out their lease."""
    cur = await conn.execute(
        """
        UPDATE effects SET claimed_by = NULL, lease_until = NULL
        WHERE status = 'pending' AND claimed_by <> ?
          AND (claimed_by = ? OR substr(claimed_by, 1, length(?) + 1) = ? || ':')
        """,
        (current_worker, stable_name, stable_name, stable_name),
    )
    return cur.rowcount


async def start(conn: Conn, effect_id: int, *, worker: str, lease_until: datetime) -> Effect | None:
    """Count one more run of a pending effect that ``worker`` holds, and extend the hold on it to ``lease_until``
    (the run's Discord calls fit in it); the effect as it now stands. None when it is no longer pending, or no longer
    held by ``worker`` (its lease ran out and another runner took the subject): the caller tells which by its status.
    """
    found = await _effects(
        conn,
        """
        UPDATE effects SET attempts = attempts + 1, lease_until = ?
        WHERE id = ? AND status = 'pending' AND claimed_by = ?
        RETURNING *
        """,
        (to_epoch(lease_until), effect_id, worker),
    )
    return found[0] if found else None


async def note_error(conn: Conn, effect_id: int, *, error: str) -> None:
    await conn.execute("UPDATE effects SET last_error = ? WHERE id = ? AND status = 'pending'", (error, effect_id))


async def fail(conn: Conn, effect_id: int, *, error: str, now: datetime) -> bool:
    cur = await conn.execute(
        "UPDATE effects SET status = 'failed', last_error = ?, done_at = ? WHERE id = ? AND status = 'pending'",
        (error, to_epoch(now), effect_id),
    )
    return cur.rowcount > 0


async def cancel_pending(conn: Conn, *, subject: str, kinds: Sequence[str] | None = None, now: datetime) -> int:
    """Cancel a subject's pending effects (of ``kinds``, or all); return how many."""
    wanted = json.dumps(list(kinds)) if kinds is not None else None
    kind_in = conn.dialect.json_array_values("?")
    cur = await conn.execute(
        f"""
        UPDATE effects SET status = 'cancelled', done_at = ?
        WHERE subject = ? AND status = 'pending' AND (CAST(? AS TEXT) IS NULL OR kind IN {kind_in})
        """,  # noqa: S608 (a dialect fragment, no member input)
        (to_epoch(now), subject, wanted, wanted),
    )
    return cur.rowcount


async def hasten(conn: Conn, *, subject: str | None = None, kind: str | None = None, now: datetime) -> int:
    """Make pending effects (of ``subject`` and ``kind``, when given) due now: a notice whose wait is pointless."""
    cur = await conn.execute(
        """
        UPDATE effects SET not_before = ?
        WHERE status = 'pending' AND not_before > ?
          AND (CAST(? AS TEXT) IS NULL OR subject = ?) AND (CAST(? AS TEXT) IS NULL OR kind = ?)
        """,
        (to_epoch(now), to_epoch(now), subject, subject, kind, kind),
    )
    return cur.rowcount


async def for_user(conn: Conn, user_id: int) -> list[Effect]:
    return await _effects(conn, "SELECT * FROM effects WHERE user_id = ? ORDER BY id", (user_id,))


async def of_member(conn: Conn, *, guild_id: int, user_id: int) -> list[Effect]:
    """The member's effects in one server (``user_id``) and effects about others whose args name them (a helper's
    claim), any status, oldest first: what Porchlight posted about or naming them, for the take-down on deletion."""
    args = conn.dialect.json_object_values("effects.args")
    return await _effects(
        conn,
        f"""
        SELECT * FROM effects WHERE guild_id = ? AND (user_id = ?
            OR EXISTS (SELECT 1 FROM {args} AS a WHERE a.value = ?))
        ORDER BY id
        """,  # noqa: S608 (a dialect fragment, no member input)
        (guild_id, user_id, str(user_id)),
    )


async def delete_for_user(conn: Conn, *, user_id: int) -> int:
    cur = await conn.execute("DELETE FROM effects WHERE user_id = ?", (user_id,))
    return cur.rowcount


async def purge_finished(conn: Conn, *, before: datetime) -> int:
    """Delete effects that ended before ``before`` (kept a while: they say what was posted where)."""
    cur = await conn.execute(
        "DELETE FROM effects WHERE status <> 'pending' AND done_at < ?",
        (to_epoch(before),),
    )
    return cur.rowcount
