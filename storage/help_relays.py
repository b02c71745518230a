"""Anonymous asks (migration 0014): the words relayed between an anonymous request's thread and its asker's DMs
(``help_relays``), the asker showing their name, and the audit of moderators' reveals (``help_reveals``).

A relay's text is member-written: it is stored only until Porchlight delivered it, then blanked in the same
statement that records the delivery. Never logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import from_epoch, to_epoch
from storage.help_requests import HelpRequest, _request_or_none, _requests
from storage.sql import Conn, Row

TO_MEMBER = "to_member"
TO_THREAD = "to_thread"


@dataclass(frozen=True, slots=True)
class Relay:
    id: int
    request_id: int
    direction: str  # to_member | to_thread
    author_id: int | None  # the helper of a to_member relay
    source_key: str
    text: str | None  # None once delivered (or deleted)
    created_at: datetime
    delivered_at: datetime | None
    message_id: int | None


@dataclass(frozen=True, slots=True)
class Reveal:
    id: int
    guild_id: int
    request_id: int
    moderator_id: int | None
    reason: str
    revealed_at: datetime


def _relay(row: Row) -> Relay:
    delivered = row["delivered_at"]
    return Relay(
        id=row["id"],
        request_id=row["request_id"],
        direction=row["direction"],
        author_id=row["author_id"],
        source_key=row["source_key"],
        text=row["text"],
        created_at=from_epoch(row["created_at"]),
        delivered_at=None if delivered is None else from_epoch(delivered),
        message_id=row["message_id"],
    )


def _reveal(row: Row) -> Reveal:
    return Reveal(
        id=row["id"],
        guild_id=row["guild_id"],
        request_id=row["request_id"],
        moderator_id=row["moderator_id"],
        reason=row["reason"],
        revealed_at=from_epoch(row["revealed_at"]),
    )


async def _relays(conn: Conn, sql: str, params: Sequence[object]) -> list[Relay]:
    async with conn.execute(sql, tuple(params)) as cur:
        return [_relay(row) for row in await cur.fetchall()]


async def _reveals(conn: Conn, sql: str, params: Sequence[object]) -> list[Reveal]:
    async with conn.execute(sql, tuple(params)) as cur:
        return [_reveal(row) for row in await cur.fetchall()]


# -- relays ----------------------------------------------------------------------------------------------------------


async def insert_relay(
    conn: Conn,
    *,
    request_id: int,
    direction: str,
    author_id: int | None,
    source_key: str,
    text: str,
    now: datetime,
) -> tuple[Relay, bool]:
    """Store a relay to deliver; a second call with the same ``source_key`` returns the first (created False)."""
    found = await _relays(conn, "SELECT * FROM help_relays WHERE source_key = ?", (source_key,))
    if found:
        return found[0], False
    inserted = await _relays(
        conn,
        """
        INSERT INTO help_relays (request_id, direction, author_id, source_key, text, created_at)
        VALUES (?, ?, ?, ?, ?, ?) RETURNING *
        """,
        (request_id, direction, author_id, source_key, text, to_epoch(now)),
    )
    return inserted[0], True


async def get_relay(conn: Conn, relay_id: int) -> Relay | None:
    found = await _relays(conn, "SELECT * FROM help_relays WHERE id = ?", (relay_id,))
    return found[0] if found else None


async def delivered(conn: Conn, relay_id: int, *, message_id: int | None, now: datetime) -> None:
    """Delivered (or given up): the text is blanked; the message Discord created is kept for replies."""
    await conn.execute(
        "UPDATE help_relays SET text = NULL, delivered_at = ?, message_id = coalesce(?, message_id) WHERE id = ?",
        (to_epoch(now), message_id, relay_id),
    )


async def request_of_dm(conn: Conn, message_id: int) -> int | None:
    """The request a DM Porchlight sent was about: a relayed reply, or a message of the request's effects."""
    found = await request_of_relayed_dm(conn, message_id)
    return found if found is not None else await request_of_effect_dm(conn, message_id)


async def request_of_relayed_dm(conn: Conn, message_id: int) -> int | None:
    async with conn.execute(
        "SELECT request_id FROM help_relays WHERE message_id = ? AND direction = 'to_member'", (message_id,)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else None


async def request_of_effect_dm(conn: Conn, message_id: int) -> int | None:
    async with conn.execute(
        "SELECT subject FROM effects WHERE result_id = ? AND subject LIKE 'help:%' AND status = 'done'", (message_id,)
    ) as cur:
        row = await cur.fetchone()
    return int(str(row[0]).removeprefix("help:")) if row is not None else None


async def count_since(conn: Conn, request_id: int, direction: str, since: datetime) -> int:
    async with conn.execute(
        "SELECT count(*) FROM help_relays WHERE request_id = ? AND direction = ? AND created_at >= ?",
        (request_id, direction, to_epoch(since)),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def relays_of(conn: Conn, request_id: int) -> list[Relay]:
    return await _relays(conn, "SELECT * FROM help_relays WHERE request_id = ? ORDER BY id", (request_id,))


async def forget_member(conn: Conn, guild_id: int, user_id: int) -> int:
    """/privacy delete: blank every undelivered text of the member's requests, and unlink relays they wrote as a
    helper. Run before the requests are unlinked from their asker."""
    cur = await conn.execute(
        """
        UPDATE help_relays SET text = NULL
        WHERE request_id IN (SELECT id FROM help_requests WHERE guild_id = ? AND asker_id = ?)
        """,
        (guild_id, user_id),
    )
    count = cur.rowcount
    cur = await conn.execute(
        """
        UPDATE help_relays SET author_id = NULL, text = NULL
        WHERE author_id = ? AND request_id IN (SELECT id FROM help_requests WHERE guild_id = ?)
        """,
        (user_id, guild_id),
    )
    return count + cur.rowcount


# -- anonymous requests ----------------------------------------------------------------------------------------------


async def live_anonymous_for_asker(conn: Conn, asker_id: int) -> list[HelpRequest]:
    """The member's open anonymous requests in every server, oldest first (a DM says no server)."""
    return await _requests(
        conn,
        "SELECT * FROM help_requests WHERE asker_id = ? AND anonymous = 1 AND status = 'open' ORDER BY id",
        (asker_id,),
    )


async def mark_revealed(conn: Conn, request_id: int, *, now: datetime) -> HelpRequest | None:
    """The asker shows their name (once: None when already shown)."""
    return await _request_or_none(
        conn,
        "UPDATE help_requests SET revealed_at = ? WHERE id = ? AND anonymous = 1 AND revealed_at IS NULL RETURNING *",
        (to_epoch(now), request_id),
    )


# -- moderators' reveals ---------------------------------------------------------------------------------------------


async def insert_reveal(
    conn: Conn, *, guild_id: int, request_id: int, moderator_id: int, reason: str, now: datetime
) -> Reveal:
    found = await _reveals(
        conn,
        """
        INSERT INTO help_reveals (guild_id, request_id, moderator_id, reason, revealed_at)
        VALUES (?, ?, ?, ?, ?) RETURNING *
        """,
        (guild_id, request_id, moderator_id, reason, to_epoch(now)),
    )
    return found[0]


async def get_reveal(conn: Conn, reveal_id: int) -> Reveal | None:
    found = await _reveals(conn, "SELECT * FROM help_reveals WHERE id = ?", (reveal_id,))
    return found[0] if found else None


async def reveals(conn: Conn, guild_id: int) -> list[Reveal]:
    """The server's audit list of reveals, newest first."""
    return await _reveals(
        conn, "SELECT * FROM help_reveals WHERE guild_id = ? ORDER BY revealed_at DESC, id DESC", (guild_id,)
    )


async def reveals_of_asker(conn: Conn, guild_id: int, asker_id: int) -> list[Reveal]:
    return await _reveals(
        conn,
        """
        SELECT v.* FROM help_reveals v JOIN help_requests r ON r.id = v.request_id
        WHERE v.guild_id = ? AND r.asker_id = ? ORDER BY v.id
        """,
        (guild_id, asker_id),
    )


async def reveals_by_moderator(conn: Conn, guild_id: int, moderator_id: int) -> list[Reveal]:
    return await _reveals(
        conn, "SELECT * FROM help_reveals WHERE guild_id = ? AND moderator_id = ? ORDER BY id", (guild_id, moderator_id)
    )


async def anonymize_moderator(conn: Conn, guild_id: int, moderator_id: int) -> int:
    cur = await conn.execute(
        "UPDATE help_reveals SET moderator_id = NULL WHERE guild_id = ? AND moderator_id = ?", (guild_id, moderator_id)
    )
    return cur.rowcount
