"""Cross-feature privacy queries: the leftovers no single feature owns (jobs, reach-outs a helper took, a
moderator's id on decisions), who has data in a server (for leave reconciliation), retention and a server's purge.

Each feature's own export and delete stay in its service; this module only holds what spans tables.
"""

from __future__ import annotations

from datetime import datetime

from storage import jobs as jobs_store
from storage.db import to_epoch
from storage.sql import Conn

# Every table holding rows of one server, for the purge 30 days after the bot was removed. Children first.
GUILD_TABLES = (
    "checkin_reach_outs",
    "checkins",
    "checkin_week_members",  # emptied by the check-ins' triggers already; listed so no table is forgotten
    "checkin_week_counts",
    "reminder_schedules",
    "help_claims",  # via its request, below
    "help_requests",
    "help_counters",
    "bookings",
    "mentors",
    "jobs",
    "effects",
    "helper_duty",
    "member_blocks",
    "rate_events",
    "member_departures",
    "guild_config",
    "settings_changes",
    "guild_presence",
    "form_drafts",
)


async def delete_member_leftovers(conn: Conn, guild_id: int, user_id: int) -> int:
    """After each feature deleted its own rows: the member's jobs and recorded effects here (any status; by
    ``user_id`` and by their id anywhere in a payload or dedupe key), reach-outs they took as a helper, and their id
    on mentor approvals they decided as a moderator."""
    deleted = await jobs_store.delete_for_user(conn, user_id=user_id, guild_id=guild_id)
    args = conn.dialect.json_object_values("args")
    for sql, params in (
        ("DELETE FROM effects WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)),
        # Effects about someone else that name the member (a helper's claim on another member's request).
        (
            f"DELETE FROM effects WHERE guild_id = ? AND EXISTS (SELECT 1 FROM {args} AS a WHERE a.value = ?)",  # noqa: S608
            (guild_id, str(user_id)),
        ),
        ("DELETE FROM checkin_reach_outs WHERE guild_id = ? AND helper_id = ?", (guild_id, user_id)),
        ("DELETE FROM helper_duty WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)),
        ("UPDATE mentors SET decided_by = NULL WHERE guild_id = ? AND decided_by = ?", (guild_id, user_id)),
        ("UPDATE settings_changes SET changed_by = NULL WHERE guild_id = ? AND changed_by = ?", (guild_id, user_id)),
    ):
        cur = await conn.execute(sql, params)
        deleted += cur.rowcount
    return deleted


async def reach_outs_of_member(conn: Conn, guild_id: int, user_id: int) -> list[tuple[int, int]]:
    """(check-in id, thread id) of the private reach-out threads opened about the member's check-ins."""
    async with conn.execute(
        """
        SELECT r.checkin_id, r.thread_id FROM checkin_reach_outs AS r JOIN checkins AS c ON c.id = r.checkin_id
        WHERE c.guild_id = ? AND c.user_id = ? AND r.thread_id IS NOT NULL
        """,
        (guild_id, user_id),
    ) as cur:
        return [(int(row[0]), int(row[1])) for row in await cur.fetchall()]


async def shared_checkin_ids(conn: Conn, guild_id: int, user_id: int) -> list[int]:
    """The member's check-ins that asked for a reach-out: each has a nameless notice in the helper queue."""
    async with conn.execute(
        "SELECT id FROM checkins WHERE guild_id = ? AND user_id = ? AND share_with_helpers = 1", (guild_id, user_id)
    ) as cur:
        return [int(row[0]) for row in await cur.fetchall()]


async def members_with_data(conn: Conn, guild_id: int) -> set[int]:
    """Everyone Porchlight keeps something about in this server (for leave reconciliation)."""
    async with conn.execute(
        """
        SELECT user_id FROM checkins WHERE guild_id = :g
        UNION SELECT user_id FROM reminder_schedules WHERE guild_id = :g
        UNION SELECT asker_id FROM help_requests WHERE guild_id = :g AND asker_id IS NOT NULL
        UNION SELECT user_id FROM mentors WHERE guild_id = :g
        UNION SELECT mentor_user_id FROM bookings WHERE guild_id = :g
        UNION SELECT member_user_id FROM bookings WHERE guild_id = :g
        """,
        {"g": guild_id},
    ) as cur:
        return {int(row[0]) for row in await cur.fetchall()}


async def guilds_with_data(conn: Conn) -> set[int]:
    async with conn.execute(
        """
        SELECT guild_id FROM checkins UNION SELECT guild_id FROM help_requests UNION SELECT guild_id FROM mentors
        UNION SELECT guild_id FROM reminder_schedules UNION SELECT guild_id FROM guild_config
        """
    ) as cur:
        return {int(row[0]) for row in await cur.fetchall()}


# --- retention -----------------------------------------------------------------------------------------------------


async def purge_checkins(conn: Conn, guild_id: int, before: datetime) -> int:
    """Delete check-ins made before ``before`` (their reach-outs go with them)."""
    cur = await conn.execute("DELETE FROM checkins WHERE guild_id = ? AND created_at < ?", (guild_id, to_epoch(before)))
    return cur.rowcount


async def purge_closed_requests(conn: Conn, guild_id: int, before: datetime) -> int:
    """Requests closed before ``before`` lose their text and everyone's id; the anonymous row stays for counts."""
    cutoff = to_epoch(before)
    await conn.execute(
        """
        UPDATE help_claims SET helper_id = NULL
        WHERE helper_id IS NOT NULL AND request_id IN
            (SELECT id FROM help_requests WHERE guild_id = ? AND status = 'closed' AND closed_at < ?)
        """,
        (guild_id, cutoff),
    )
    cur = await conn.execute(
        """
        UPDATE help_requests SET asker_id = NULL, body = NULL, wants = NULL, submit_key = NULL, closed_by = NULL
        WHERE guild_id = ? AND status = 'closed' AND closed_at < ?
          AND (asker_id IS NOT NULL OR body IS NOT NULL OR wants IS NOT NULL OR closed_by IS NOT NULL)
        """,
        (guild_id, cutoff),
    )
    return cur.rowcount


async def purge_finished_effects(conn: Conn, *, before: datetime) -> int:
    """Delete effects that ended before ``before``, except those about or naming members who left and await their
    purge: the purge takes down what those effects say was posted."""
    args = conn.dialect.json_object_values("effects.args")
    cur = await conn.execute(
        f"""
        DELETE FROM effects WHERE status <> 'pending' AND done_at < ? AND NOT EXISTS (
            SELECT 1 FROM member_departures AS d WHERE d.guild_id = effects.guild_id AND (d.user_id = effects.user_id
                OR EXISTS (SELECT 1 FROM {args} AS a WHERE a.value = CAST(d.user_id AS TEXT)))
        )
        """,  # noqa: S608 (a dialect fragment, no member input)
        (to_epoch(before),),
    )
    return cur.rowcount


# --- a server's purge ----------------------------------------------------------------------------------------------


async def purge_guild(conn: Conn, guild_id: int) -> int:
    """Delete every row of one server (30 days after the bot was removed). Returns how many rows went."""
    deleted = 0
    for table in GUILD_TABLES:
        if table == "help_claims":
            sql = "DELETE FROM help_claims WHERE request_id IN (SELECT id FROM help_requests WHERE guild_id = ?)"
        else:
            sql = f"DELETE FROM {table} WHERE guild_id = ?"  # noqa: S608 - table names come from GUILD_TABLES
        cur = await conn.execute(sql, (guild_id,))
        deleted += cur.rowcount
    return deleted
