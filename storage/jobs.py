"""The jobs table: everything scheduled (reminders, follow-ups, escalations) is a row run by one dispatcher.

Life of a job: ``pending`` -> (claimed) ``running`` -> ``done`` | ``failed`` | ``skipped``, or back to ``pending``
for a retry; a pending job can be ``cancelled``. A claim increments ``attempts``, and the ``attempts`` value of a
claim is its fencing token: the ``mark_*`` functions given ``attempt=`` only touch the row while that claim still
holds it, so a worker whose lease expired cannot overwrite the outcome recorded by the worker that took over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from storage import job_members
from storage.db import from_epoch, to_epoch
from storage.sql import Conn, Row


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class DuplicateJob(Exception):
    """A job with this dedupe key is running right now, so it cannot be replaced; schedule again once it ends."""

    def __init__(self, dedupe_key: str) -> None:
        super().__init__(f"a job with dedupe key {dedupe_key!r} is running and cannot be replaced")
        self.dedupe_key = dedupe_key


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    guild_id: int | None
    user_id: int | None
    payload: dict[str, Any]
    due_at: datetime
    status: JobStatus
    attempts: int
    max_attempts: int
    last_error: str | None
    claimed_by: str | None
    lease_until: datetime | None
    dedupe_key: str | None
    created_at: datetime
    finished_at: datetime | None


def _opt_instant(value: int | None) -> datetime | None:
    return None if value is None else from_epoch(value)


def _job(row: Row) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        payload=json.loads(row["payload"]),
        due_at=from_epoch(row["due_at"]),
        status=JobStatus(row["status"]),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        last_error=row["last_error"],
        claimed_by=row["claimed_by"],
        lease_until=_opt_instant(row["lease_until"]),
        dedupe_key=row["dedupe_key"],
        created_at=from_epoch(row["created_at"]),
        finished_at=_opt_instant(row["finished_at"]),
    )


async def _all(conn: Conn, sql: str, params: tuple[object, ...]) -> list[Job]:
    async with conn.execute(sql, params) as cur:
        rows = await cur.fetchall()
    return [_job(row) for row in rows]


async def get(conn: Conn, job_id: int) -> Job | None:
    found = await _all(conn, "SELECT * FROM jobs WHERE id = ?", (job_id,))
    return found[0] if found else None


async def schedule(
    conn: Conn,
    *,
    kind: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
    guild_id: int | None = None,
    user_id: int | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 5,
    now: datetime,
) -> Job:
    """Add a pending job. With a ``dedupe_key`` that a pending job already holds, that job is replaced in place
    (same id; new kind, ids, payload, due time; attempts reset), so a newer check-in moves the follow-up instead
    of adding a second one. One statement, so it needs no transaction to be atomic.

    Raises :class:`DuplicateJob` when the job holding the key is running at this moment, and
    :class:`storage.job_members.JobNamesAMember` when the payload or key names a member other than ``user_id``.
    """
    job_members.check(payload=payload or {}, dedupe_key=dedupe_key, guild_id=guild_id, user_id=user_id)
    encoded = json.dumps(payload or {})
    rows = await _all(
        conn,
        """
        INSERT INTO jobs (kind, guild_id, user_id, payload, due_at, status, max_attempts, dedupe_key, created_at)
        VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)
        ON CONFLICT (dedupe_key) WHERE status IN ('pending', 'running') DO UPDATE SET
            kind = excluded.kind,
            guild_id = excluded.guild_id,
            user_id = excluded.user_id,
            payload = excluded.payload,
            due_at = excluded.due_at,
            max_attempts = excluded.max_attempts,
            attempts = 0,
            last_error = NULL
        WHERE jobs.status = 'pending'
        RETURNING *
        """,
        (kind, guild_id, user_id, encoded, to_epoch(due_at), max_attempts, dedupe_key, to_epoch(now)),
    )
    if not rows:
        assert dedupe_key is not None  # only a conflict on the key can leave the upsert without a row
        raise DuplicateJob(dedupe_key)
    return rows[0]


def _given(**filters: str | int | None) -> tuple[str, tuple[object, ...]]:
    """`` AND column = ?`` for each filter given (not None), and their values: only those go into the statement,
    so the planner can seek an index (``? IS NULL OR column = ?`` keeps it off every index). Column names come
    from the callers' keywords, never from input."""
    given = {column: value for column, value in filters.items() if value is not None}
    return "".join(f" AND {column} = ?" for column in given), tuple(given.values())


async def cancel(
    conn: Conn,
    *,
    kind: str | None = None,
    dedupe_key: str | None = None,
    guild_id: int | None = None,
    user_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Cancel the pending jobs matching every filter given; return how many. Running jobs are left to finish.

    At least one filter is required, so a mistaken call cannot cancel everything. Only the filters given are in
    the statement, so it seeks the member's jobs (``jobs_user``) or the key's (``jobs_live_dedupe``) instead of
    reading every pending job: a check-in cancels its member's follow-ups inside its transaction.
    """
    terms, params = _given(kind=kind, dedupe_key=dedupe_key, guild_id=guild_id, user_id=user_id)
    if not params:
        raise ValueError("cancel needs at least one of kind, dedupe_key, guild_id, user_id")
    live = "status IN ('pending', 'running') AND status = 'pending'"  # the IN: the partial index on live keys serves
    sql = f"UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE {live}{terms}"  # noqa: S608 (fixed names)
    cur = await conn.execute(sql, (None if now is None else to_epoch(now), *params))
    return cur.rowcount


async def claim_due(conn: Conn, *, now: datetime, worker: str, lease_seconds: int, limit: int) -> list[Job]:
    """Claim up to ``limit`` jobs for ``worker``: pending jobs that are due, and running jobs whose lease has
    expired (their worker crashed or hung), in due order. One ``UPDATE ... RETURNING`` statement.

    A member's jobs never run at the same time and run in due order: a pending job with a ``user_id`` is claimable
    only while none of that member's jobs is running (a running job with an expired lease is reclaimed first), and
    only when it is the member's earliest pending job. Jobs without a ``user_id`` are independent. The pending side
    walks the ``jobs_status_due`` index in due order and stops at ``limit``, so a claim stays cheap however many jobs
    are due.

    The caller must be in a transaction. On SQLite, ``BEGIN IMMEDIATE`` takes the write lock before anything is
    read, so two dispatchers, on two connections or in two processes, never claim the same job. On PostgreSQL the
    rows are taken ``FOR UPDATE SKIP LOCKED`` (``Database.transaction(exclusive=False)``): a dispatcher skips jobs
    another is claiming, and a member's later job stays unclaimable while their earlier one is still pending.
    """
    if not conn.in_transaction:
        raise RuntimeError("claim_due must run inside Database.transaction() (BEGIN IMMEDIATE)")
    at = to_epoch(now)
    lock = conn.dialect.skip_locked
    claimed = await _all(
        conn,
        f"""
        UPDATE jobs
        SET status = 'running', claimed_by = ?, lease_until = ?, attempts = attempts + 1
        WHERE id IN (
            SELECT id FROM (
                -- Reclaims: running jobs whose worker died or hung (rare, few).
                SELECT id, due_at FROM (
                    SELECT id, due_at FROM jobs WHERE status = 'running' AND lease_until <= ? {lock}
                ) AS reclaim
                UNION ALL
                -- Pending due jobs, walked in due order along jobs_status_due; a member's job only while none of
                -- theirs is running, and only their earliest.
                SELECT id, due_at FROM (
                    SELECT id, due_at FROM jobs AS j
                    WHERE j.status = 'pending' AND j.due_at <= ?
                      AND (j.user_id IS NULL OR (
                          NOT EXISTS (
                              SELECT 1 FROM jobs AS o WHERE o.user_id = j.user_id AND o.status = 'running'
                          )
                          AND NOT EXISTS (
                              SELECT 1 FROM jobs AS o
                              WHERE o.user_id = j.user_id AND o.status = 'pending'
                                AND (o.due_at < j.due_at OR (o.due_at = j.due_at AND o.id < j.id))
                          )
                      ))
                    ORDER BY j.due_at, j.id
                    LIMIT ?
                    {lock}
                ) AS due
            ) AS candidates
            ORDER BY due_at, id
            LIMIT ?
        )
        -- Checked again on the row as it is now: another process may have claimed it since this one looked.
        AND (status = 'pending' OR (status = 'running' AND lease_until <= ?))
        RETURNING *
        """,  # noqa: S608 (a dialect fragment, no member input)
        (worker, at + lease_seconds, at, at, limit, limit, at),
    )
    return sorted(claimed, key=lambda job: (job.due_at, job.id))  # RETURNING order is unspecified


async def expire_leases_of_previous_runs(conn: Conn, *, stable_name: str, current_worker: str, now: datetime) -> int:
    """Make the jobs of an earlier run of this same worker claimable now: running jobs claimed by ``stable_name``
    (the form before incarnations) or ``stable_name:<another incarnation>``. That run is over (this process has
    that name now), so its jobs need not wait out their lease. Returns how many."""
    cur = await conn.execute(
        """
        UPDATE jobs SET lease_until = ?
        WHERE status = 'running' AND lease_until > ? AND claimed_by <> ?
          AND (claimed_by = ? OR substr(claimed_by, 1, length(?) + 1) = ? || ':')
        """,
        (to_epoch(now), to_epoch(now), current_worker, stable_name, stable_name, stable_name),
    )
    return cur.rowcount


async def release(conn: Conn, *, job_id: int, attempt: int) -> bool:
    """Give back a claim that never started (shutdown began meanwhile): pending again, the attempt not counted."""
    cur = await conn.execute(
        """
        UPDATE jobs SET status = 'pending', claimed_by = NULL, lease_until = NULL, attempts = attempts - 1
        WHERE id = ? AND status = 'running' AND attempts = ?
        """,
        (job_id, attempt),
    )
    return cur.rowcount > 0


async def renew_lease(conn: Conn, *, job_id: int, attempt: int, lease_until: datetime) -> bool:
    """Extend this claim's lease; False when the claim is no longer ours (expired and taken by another worker)."""
    cur = await conn.execute(
        "UPDATE jobs SET lease_until = ? WHERE id = ? AND status = 'running' AND attempts = ?",
        (to_epoch(lease_until), job_id, attempt),
    )
    return cur.rowcount > 0


async def _finish(
    conn: Conn,
    *,
    job_id: int,
    attempt: int | None,
    status: JobStatus,
    error: str | None,
    now: datetime,
) -> bool:
    cur = await conn.execute(
        """
        UPDATE jobs SET status = ?, last_error = ?, lease_until = NULL, finished_at = ?
        WHERE id = ? AND status = 'running' AND (CAST(? AS BIGINT) IS NULL OR attempts = ?)
        """,
        (status.value, error, to_epoch(now), job_id, attempt, attempt),
    )
    return cur.rowcount > 0


async def mark_done(conn: Conn, *, job_id: int, now: datetime, attempt: int | None = None) -> bool:
    """Record success. False when the job is not running (under claim ``attempt``, when given)."""
    return await _finish(conn, job_id=job_id, attempt=attempt, status=JobStatus.DONE, error=None, now=now)


async def mark_skipped(conn: Conn, *, job_id: int, reason: str, now: datetime, attempt: int | None = None) -> bool:
    """Record that the job was deliberately not run (e.g. far too late to be useful); ``reason`` is our text."""
    return await _finish(conn, job_id=job_id, attempt=attempt, status=JobStatus.SKIPPED, error=reason, now=now)


async def mark_failed_or_retry(
    conn: Conn,
    *,
    job_id: int,
    error: str,
    retry_at: datetime | None,
    now: datetime,
    attempt: int | None = None,
) -> bool:
    """Record a failed attempt: back to pending at ``retry_at``, or ``failed`` for good when it is None."""
    if retry_at is None:
        return await _finish(conn, job_id=job_id, attempt=attempt, status=JobStatus.FAILED, error=error, now=now)
    cur = await conn.execute(
        """
        UPDATE jobs SET status = 'pending', due_at = ?, last_error = ?, claimed_by = NULL, lease_until = NULL
        WHERE id = ? AND status = 'running' AND (CAST(? AS BIGINT) IS NULL OR attempts = ?)
        """,
        (to_epoch(retry_at), error, job_id, attempt, attempt),
    )
    return cur.rowcount > 0


async def pending(
    conn: Conn, *, kind: str | None = None, user_id: int | None = None, guild_id: int | None = None
) -> list[Job]:
    """Pending jobs matching every filter given, soonest first. Only the filters given are in the statement, so a
    member's jobs are sought by ``jobs_user`` instead of read from every pending job."""
    terms, params = _given(kind=kind, user_id=user_id, guild_id=guild_id)
    sql = f"SELECT * FROM jobs WHERE status = 'pending'{terms}"  # noqa: S608 (fixed names)
    # Sorted here: an ORDER BY due_at would draw the planner to the (status, due_at) index, all pending jobs.
    return sorted(await _all(conn, sql, params), key=lambda job: (job.due_at, job.id))


async def of_member(conn: Conn, *, kind: str, user_id: int, guild_id: int, done_since: datetime) -> list[Job]:
    """One member's jobs of ``kind`` in one server that are still to run (pending or running) or were done at
    ``done_since`` or later, soonest due first (sought by ``jobs_user``)."""
    sql = (
        "SELECT * FROM jobs WHERE user_id = ? AND kind = ? AND guild_id = ?"
        " AND (status IN ('pending', 'running') OR (status = 'done' AND finished_at >= ?))"
    )
    jobs = await _all(conn, sql, (user_id, kind, guild_id, to_epoch(done_since)))
    return sorted(jobs, key=lambda job: (job.due_at, job.id))


async def count_due(conn: Conn, now: datetime) -> int:
    """Pending jobs due at ``now`` or earlier (waiting for a free slot, or overdue after downtime)."""
    async with conn.execute(
        "SELECT COUNT(*) FROM jobs WHERE status = 'pending' AND due_at <= ?", (to_epoch(now),)
    ) as cur:
        row = await cur.fetchone()
    return 0 if row is None else int(row[0])


async def next_due_at(conn: Conn) -> datetime | None:
    """When the next job becomes claimable: the earliest pending due time or running lease expiry."""
    async with conn.execute(
        """
        SELECT MIN(t) FROM (
            SELECT MIN(due_at) AS t FROM jobs WHERE status = 'pending'
            UNION ALL
            SELECT MIN(lease_until) AS t FROM jobs WHERE status = 'running'
        ) AS soonest
        """
    ) as cur:
        row = await cur.fetchone()
    return None if row is None or row[0] is None else from_epoch(row[0])


async def delete_for_user(conn: Conn, *, user_id: int, guild_id: int | None = None) -> int:
    """Delete every job about one member, whatever its status: its ``user_id`` is theirs, or its payload, dedupe key
    or recorded error (e.g. a DuplicateJob naming a key) holds their id in any form (rows from before the rule in
    :mod:`storage.job_members`). With ``guild_id``, only that server's jobs and jobs of no server. Returns how many."""
    needle = str(user_id)

    def contains(haystack: str) -> str:
        return conn.dialect.contains(haystack, "?")

    async with conn.execute(
        f"""
        SELECT id, user_id, payload, dedupe_key, last_error FROM jobs
        WHERE (CAST(? AS BIGINT) IS NULL OR guild_id = ? OR guild_id IS NULL)
          AND (user_id = ? OR {contains("payload")} OR {contains("coalesce(dedupe_key, '')")}
               OR {contains("coalesce(last_error, '')")})
        """,  # noqa: S608 (dialect fragments, no member input)
        (guild_id, guild_id, user_id, needle, needle, needle),
    ) as cur:
        rows = await cur.fetchall()
    doomed = [
        row["id"]
        for row in rows
        if row["user_id"] == user_id
        or job_members.mentions(user_id, payload=row["payload"], dedupe_key=row["dedupe_key"])
        or job_members.mentions(user_id, payload=row["last_error"], dedupe_key=None)
    ]
    for job_id in doomed:
        await conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
    return len(doomed)


async def purge_finished(conn: Conn, *, before: datetime) -> int:
    """Delete jobs that ended (done, failed, skipped, cancelled) before ``before``; return how many."""
    cur = await conn.execute(
        "DELETE FROM jobs WHERE status IN ('done', 'failed', 'skipped', 'cancelled') AND finished_at < ?",
        (to_epoch(before),),
    )
    return cur.rowcount


async def pending_due_at(conn: Conn, dedupe_key: str) -> datetime | None:
    """When the pending job holding ``dedupe_key`` is due (None when no such job is pending)."""
    rows = await conn.execute_fetchall(  # status IN (...): the partial index on live keys, not every pending job
        "SELECT due_at FROM jobs WHERE dedupe_key = ? AND status IN ('pending', 'running') AND status = 'pending'",
        (dedupe_key,),
    )
    return next((from_epoch(row[0]) for row in rows), None)
