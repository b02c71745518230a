"""Help requests and the helpers' claims on them: typed repository functions over ``help_requests``,
``help_claims`` and ``help_counters`` (migration 0003).

Functions that write take the connection of a ``Database.transaction()`` when they must be atomic with a read
(numbering, limits, claims); the service decides. Member-written text (``body``, ``wants``) is stored and returned,
never logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import from_epoch, to_epoch
from storage.sql import Conn, IntegrityError, Row

LIVE_STATUSES = ("pending_thread", "open")


class DuplicateSubmission(Exception):
    """The member already has a request with this submit key (a retry or a double submit)."""


class ThreadAlreadyAttached(Exception):
    """That thread already belongs to another help request."""


class ClaimExists(Exception):
    """The helper already holds an active claim on this request."""


@dataclass(frozen=True, slots=True)
class HelpRequest:
    id: int
    guild_id: int
    number: int
    asker_id: int | None  # None once the member deleted their data
    topic: str
    body: str | None  # None once the member deleted their data
    wants: str | None
    status: str  # 'pending_thread' | 'open' | 'closed'
    thread_id: int | None
    queue_message_id: int | None
    source: str
    submit_key: str | None
    created_at: datetime
    awaiting_since: datetime | None
    escalation_level: int
    last_activity_at: datetime
    idle_asked_at: datetime | None
    first_claimed_at: datetime | None
    closed_at: datetime | None
    closed_by: int | None
    close_reason: str | None
    feedback: str | None
    anonymous: bool = False  # opened without the asker: helpers never see who asked (issue 14)
    revealed_at: datetime | None = None  # the asker chose to show their name and joined the thread

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"

    @property
    def hides_asker(self) -> bool:
        """Helpers must not learn who asked: anonymous, and the asker has not shown their name."""
        return self.anonymous and self.revealed_at is None


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    request_id: int
    helper_id: int | None  # None once the helper deleted their data
    claimed_at: datetime
    released_at: datetime | None

    @property
    def active(self) -> bool:
        return self.released_at is None


def _opt(value: int | None) -> datetime | None:
    return None if value is None else from_epoch(value)


def _request(row: Row) -> HelpRequest:
    return HelpRequest(
        id=row["id"],
        guild_id=row["guild_id"],
        number=row["number"],
        asker_id=row["asker_id"],
        topic=row["topic"],
        body=row["body"],
        wants=row["wants"],
        status=row["status"],
        thread_id=row["thread_id"],
        queue_message_id=row["queue_message_id"],
        source=row["source"],
        submit_key=row["submit_key"],
        created_at=from_epoch(row["created_at"]),
        awaiting_since=_opt(row["awaiting_since"]),
        escalation_level=row["escalation_level"],
        last_activity_at=from_epoch(row["last_activity_at"]),
        idle_asked_at=_opt(row["idle_asked_at"]),
        first_claimed_at=_opt(row["first_claimed_at"]),
        closed_at=_opt(row["closed_at"]),
        closed_by=row["closed_by"],
        close_reason=row["close_reason"],
        feedback=row["feedback"],
        anonymous=bool(row["anonymous"]),
        revealed_at=_opt(row["revealed_at"]),
    )


def _claim(row: Row) -> Claim:
    return Claim(
        id=row["id"],
        request_id=row["request_id"],
        helper_id=row["helper_id"],
        claimed_at=from_epoch(row["claimed_at"]),
        released_at=_opt(row["released_at"]),
    )


async def _requests(conn: Conn, sql: str, params: Sequence[object]) -> list[HelpRequest]:
    async with conn.execute(sql, tuple(params)) as cur:
        rows = await cur.fetchall()
    return [_request(row) for row in rows]


async def _request_or_none(conn: Conn, sql: str, params: Sequence[object]) -> HelpRequest | None:
    found = await _requests(conn, sql, params)
    return found[0] if found else None


async def _claims(conn: Conn, sql: str, params: Sequence[object]) -> list[Claim]:
    async with conn.execute(sql, tuple(params)) as cur:
        rows = await cur.fetchall()
    return [_claim(row) for row in rows]


# -- reading requests ------------------------------------------------------------------------------------------------


async def get(conn: Conn, request_id: int) -> HelpRequest | None:
    return await _request_or_none(conn, "SELECT * FROM help_requests WHERE id = ?", (request_id,))


async def get_by_thread(conn: Conn, thread_id: int) -> HelpRequest | None:
    return await _request_or_none(conn, "SELECT * FROM help_requests WHERE thread_id = ?", (thread_id,))


async def get_by_number(conn: Conn, guild_id: int, number: int) -> HelpRequest | None:
    return await _request_or_none(
        conn, "SELECT * FROM help_requests WHERE guild_id = ? AND number = ?", (guild_id, number)
    )


async def get_by_submit_key(conn: Conn, *, guild_id: int, asker_id: int, submit_key: str) -> HelpRequest | None:
    return await _request_or_none(
        conn,
        "SELECT * FROM help_requests WHERE guild_id = ? AND asker_id = ? AND submit_key = ?",
        (guild_id, asker_id, submit_key),
    )


async def live_for_asker(conn: Conn, guild_id: int, asker_id: int) -> list[HelpRequest]:
    """The member's requests that are not closed (open, or waiting for their thread), oldest first."""
    return await _requests(
        conn,
        """
        SELECT * FROM help_requests
        WHERE guild_id = ? AND asker_id = ? AND status <> 'closed'
        ORDER BY created_at, id
        """,
        (guild_id, asker_id),
    )


async def latest_for_asker(conn: Conn, guild_id: int, asker_id: int) -> HelpRequest | None:
    return await _request_or_none(
        conn,
        "SELECT * FROM help_requests WHERE guild_id = ? AND asker_id = ? ORDER BY created_at DESC, id DESC LIMIT 1",
        (guild_id, asker_id),
    )


async def for_asker(conn: Conn, guild_id: int, asker_id: int) -> list[HelpRequest]:
    return await _requests(
        conn,
        "SELECT * FROM help_requests WHERE guild_id = ? AND asker_id = ? ORDER BY created_at, id",
        (guild_id, asker_id),
    )


async def with_status(conn: Conn, guild_id: int, status: str) -> list[HelpRequest]:
    """A server's requests in one status, oldest first."""
    return await _requests(
        conn,
        "SELECT * FROM help_requests WHERE guild_id = ? AND status = ? ORDER BY created_at, id",
        (guild_id, status),
    )


async def live(conn: Conn, guild_id: int | None = None) -> list[HelpRequest]:
    """Requests that are not closed, in one server or all, oldest first (for reconciliation)."""
    return await _requests(
        conn,
        """
        SELECT * FROM help_requests
        WHERE status <> 'closed' AND (CAST(? AS BIGINT) IS NULL OR guild_id = ?)
        ORDER BY created_at, id
        """,
        (guild_id, guild_id),
    )


# -- writing requests ------------------------------------------------------------------------------------------------


async def next_number(conn: Conn, guild_id: int) -> int:
    """Take the server's next request number. Must run inside the transaction that inserts the request."""
    if not conn.in_transaction:
        raise RuntimeError("next_number must run inside Database.transaction() (BEGIN IMMEDIATE)")
    async with conn.execute(
        """
        INSERT INTO help_counters (guild_id, last_number) VALUES (?, 1)
        ON CONFLICT (guild_id) DO UPDATE SET last_number = help_counters.last_number + 1
        RETURNING last_number
        """,
        (guild_id,),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None  # an upsert with RETURNING always returns its row
    return int(row[0])


async def insert(
    conn: Conn,
    *,
    guild_id: int,
    asker_id: int,
    topic: str,
    body: str,
    wants: str | None,
    source: str,
    submit_key: str | None,
    now: datetime,
    anonymous: bool = False,
) -> HelpRequest:
    """Store a new request in ``pending_thread`` with the server's next number.

    Raises :class:`DuplicateSubmission` when the member already has a request with ``submit_key``.
    """
    number = await next_number(conn, guild_id)
    at = to_epoch(now)
    try:
        async with conn.may_fail():
            found = await _requests(
                conn,
                """
                INSERT INTO help_requests
                    (guild_id, number, asker_id, topic, body, wants, status, source, submit_key, created_at,
                     awaiting_since, last_activity_at, anonymous)
                VALUES (?, ?, ?, ?, ?, ?, 'pending_thread', ?, ?, ?, ?, ?, ?)
                RETURNING *
                """,
                (guild_id, number, asker_id, topic, body, wants, source, submit_key, at, at, at, int(anonymous)),
            )
    except IntegrityError as exc:
        if "help_requests.submit_key" in str(exc):
            raise DuplicateSubmission() from exc
        raise
    return found[0]


async def attach_thread(
    conn: Conn, request_id: int, *, thread_id: int, queue_message_id: int | None
) -> HelpRequest | None:
    """Record the request's private thread (and queue card) and make it ``open``. Closed requests are left alone.

    Raises :class:`ThreadAlreadyAttached` when the thread belongs to another request.
    """
    try:
        async with conn.may_fail():
            return await _request_or_none(
                conn,
                """
                UPDATE help_requests
                SET thread_id = ?, queue_message_id = coalesce(?, queue_message_id),
                    status = CASE WHEN status = 'pending_thread' THEN 'open' ELSE status END
                WHERE id = ? AND status <> 'closed'
                RETURNING *
                """,
                (thread_id, queue_message_id, request_id),
            )
    except IntegrityError as exc:
        raise ThreadAlreadyAttached() from exc


async def set_queue_message(conn: Conn, request_id: int, queue_message_id: int | None) -> HelpRequest | None:
    return await _request_or_none(
        conn,
        "UPDATE help_requests SET queue_message_id = ? WHERE id = ? RETURNING *",
        (queue_message_id, request_id),
    )


async def mark_claimed(conn: Conn, request_id: int, *, now: datetime) -> HelpRequest | None:
    """A helper claimed: the first claim is kept for stats, the wait ends, and claiming counts as activity."""
    at = to_epoch(now)
    latest = conn.dialect.greatest("last_activity_at", "?")
    return await _request_or_none(
        conn,
        f"""
        UPDATE help_requests
        SET first_claimed_at = coalesce(first_claimed_at, ?), awaiting_since = NULL, escalation_level = 0,
            last_activity_at = {latest}, idle_asked_at = NULL
        WHERE id = ?
        RETURNING *
        """,  # noqa: S608 (a dialect fragment, no member input)
        (at, at, request_id),
    )


async def mark_awaiting(conn: Conn, request_id: int, *, since: datetime) -> HelpRequest | None:
    """The request has no helper any more: escalation starts again from ``since``."""
    return await _request_or_none(
        conn,
        "UPDATE help_requests SET awaiting_since = ?, escalation_level = 0 WHERE id = ? RETURNING *",
        (to_epoch(since), request_id),
    )


async def raise_escalation(conn: Conn, request_id: int, level: int) -> HelpRequest | None:
    """Set the escalation level if it is higher than the stored one; None when it was not (already applied)."""
    return await _request_or_none(
        conn,
        """
        UPDATE help_requests SET escalation_level = ?
        WHERE id = ? AND escalation_level < ? AND status = 'open' AND awaiting_since IS NOT NULL
        RETURNING *
        """,
        (level, request_id, level),
    )


async def close(
    conn: Conn, request_id: int, *, by_user_id: int | None, reason: str, now: datetime
) -> HelpRequest | None:
    """Close a request that is not closed yet; None when it was already closed (or does not exist)."""
    return await _request_or_none(
        conn,
        """
        UPDATE help_requests
        SET status = 'closed', closed_at = ?, closed_by = ?, close_reason = ?, idle_asked_at = NULL
        WHERE id = ? AND status <> 'closed'
        RETURNING *
        """,
        (to_epoch(now), by_user_id, reason, request_id),
    )


async def reopen(conn: Conn, request_id: int, *, now: datetime, awaiting: bool) -> HelpRequest | None:
    """Reopen a closed request with a thread; the close (and its feedback) is forgotten, activity starts now."""
    at = to_epoch(now)
    return await _request_or_none(
        conn,
        """
        UPDATE help_requests
        SET status = 'open', closed_at = NULL, closed_by = NULL, close_reason = NULL, feedback = NULL,
            idle_asked_at = NULL, last_activity_at = ?, escalation_level = 0,
            awaiting_since = CASE WHEN ? = 1 THEN CAST(? AS BIGINT) ELSE NULL END
        WHERE id = ? AND status = 'closed' AND thread_id IS NOT NULL
        RETURNING *
        """,
        (at, awaiting, at, request_id),
    )


async def set_feedback(conn: Conn, request_id: int, feedback: str) -> HelpRequest | None:
    return await _request_or_none(
        conn,
        "UPDATE help_requests SET feedback = ? WHERE id = ? AND status = 'closed' RETURNING *",
        (feedback, request_id),
    )


async def touch_activity(conn: Conn, thread_id: int, at: datetime) -> bool:
    """A message in the thread: the idle timer restarts and a pending "Is this sorted?" is answered.

    One statement keyed by the thread, cheap enough for every MESSAGE_CREATE. False when the thread is not an
    open help request.
    """
    latest = conn.dialect.greatest("last_activity_at", "?")
    cur = await conn.execute(
        f"""
        UPDATE help_requests SET last_activity_at = {latest}, idle_asked_at = NULL
        WHERE thread_id = ? AND status = 'open'
        """,  # noqa: S608 (a dialect fragment, no member input)
        (to_epoch(at), thread_id),
    )
    return cur.rowcount > 0


async def set_idle_asked(conn: Conn, request_id: int, at: datetime) -> HelpRequest | None:
    return await _request_or_none(
        conn,
        """
        UPDATE help_requests SET idle_asked_at = ?
        WHERE id = ? AND status = 'open' AND idle_asked_at IS NULL
        RETURNING *
        """,
        (to_epoch(at), request_id),
    )


async def anonymize_asker(conn: Conn, guild_id: int, asker_id: int) -> int:
    """Blank the member's text and unlink their requests from them; the rows stay as anonymous counts."""
    cur = await conn.execute(
        """
        UPDATE help_requests SET body = NULL, wants = NULL, submit_key = NULL, asker_id = NULL
        WHERE guild_id = ? AND asker_id = ?
        """,
        (guild_id, asker_id),
    )
    return cur.rowcount


async def anonymize_closer(conn: Conn, guild_id: int, user_id: int) -> int:
    cur = await conn.execute(
        "UPDATE help_requests SET closed_by = NULL WHERE guild_id = ? AND closed_by = ?", (guild_id, user_id)
    )
    return cur.rowcount


# -- claims ----------------------------------------------------------------------------------------------------------


async def active_claims(conn: Conn, request_id: int) -> list[Claim]:
    """Helpers holding the request now, first claim first."""
    return await _claims(
        conn,
        "SELECT * FROM help_claims WHERE request_id = ? AND released_at IS NULL ORDER BY claimed_at, id",
        (request_id,),
    )


async def claims(conn: Conn, request_id: int) -> list[Claim]:
    """Every claim on the request, released or not, first claim first."""
    return await _claims(conn, "SELECT * FROM help_claims WHERE request_id = ? ORDER BY claimed_at, id", (request_id,))


async def active_claims_for(conn: Conn, request_ids: Sequence[int]) -> dict[int, list[Claim]]:
    """Active claims of many requests in one query, keyed by request id (every id present)."""
    result: dict[int, list[Claim]] = {request_id: [] for request_id in request_ids}
    if not result:
        return result
    ids = conn.dialect.json_array_values("?")
    async with conn.execute(
        f"""
        SELECT * FROM help_claims
        WHERE released_at IS NULL AND request_id IN (SELECT CAST(value AS BIGINT) FROM {ids} AS i)
        ORDER BY claimed_at, id
        """,  # noqa: S608 (a dialect fragment, no member input)
        (f"[{','.join(str(int(i)) for i in result)}]",),
    ) as cur:
        rows = await cur.fetchall()
    for row in rows:
        claim = _claim(row)
        result[claim.request_id].append(claim)
    return result


async def insert_claim(conn: Conn, request_id: int, helper_id: int, *, now: datetime) -> Claim:
    """Raises :class:`ClaimExists` when the helper already holds an active claim on the request."""
    try:
        async with conn.may_fail():
            found = await _claims(
                conn,
                "INSERT INTO help_claims (request_id, helper_id, claimed_at) VALUES (?, ?, ?) RETURNING *",
                (request_id, helper_id, to_epoch(now)),
            )
    except IntegrityError as exc:
        raise ClaimExists() from exc
    return found[0]


async def release_claim(conn: Conn, request_id: int, helper_id: int, *, now: datetime) -> bool:
    cur = await conn.execute(
        "UPDATE help_claims SET released_at = ? WHERE request_id = ? AND helper_id = ? AND released_at IS NULL",
        (to_epoch(now), request_id, helper_id),
    )
    return cur.rowcount > 0


async def active_claims_of_helper(conn: Conn, guild_id: int, helper_id: int) -> list[Claim]:
    """The helper's active claims on live (not closed) requests of one server."""
    return await _claims(
        conn,
        """
        SELECT c.* FROM help_claims AS c JOIN help_requests AS r ON r.id = c.request_id
        WHERE r.guild_id = ? AND c.helper_id = ? AND c.released_at IS NULL AND r.status <> 'closed'
        ORDER BY c.claimed_at, c.id
        """,
        (guild_id, helper_id),
    )


async def claims_of_helper(conn: Conn, guild_id: int, helper_id: int) -> list[Claim]:
    """Every claim the helper made in one server, released or not."""
    return await _claims(
        conn,
        """
        SELECT c.* FROM help_claims AS c JOIN help_requests AS r ON r.id = c.request_id
        WHERE r.guild_id = ? AND c.helper_id = ?
        ORDER BY c.claimed_at, c.id
        """,
        (guild_id, helper_id),
    )


async def anonymize_helper(conn: Conn, guild_id: int, helper_id: int, *, now: datetime) -> int:
    """Release the helper's claims in one server and unlink them; the claims stay as anonymous counts."""
    cur = await conn.execute(
        """
        UPDATE help_claims SET helper_id = NULL, released_at = coalesce(released_at, ?)
        WHERE helper_id = ? AND request_id IN (SELECT id FROM help_requests WHERE guild_id = ?)
        """,
        (to_epoch(now), helper_id, guild_id),
    )
    return cur.rowcount
