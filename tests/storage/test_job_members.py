"""A job names at most one member, in its user_id column; deletion finds the member's id in any column or form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.clock import ManualClock
from storage import jobs
from storage.db import Database
from storage.job_members import JobNamesAMember
from storage.migrate import load_migrations, migrate

GUILD = 700000000000000001
ALICE = 800000000000000002
BOB = 800000000000000003
CHANNEL = 900000000000000004


async def _schedule(db: Database, clock: ManualClock, **fields: Any) -> jobs.Job:
    return await jobs.schedule(db.conn, kind="k", due_at=clock.now(), now=clock.now(), **fields)


@pytest.mark.parametrize(
    ("payload", "key", "user_id"),
    [
        ({"user_id": ALICE}, None, None),  # the roster job before the rule: the delete missed it
        ({"user_id": ALICE}, None, BOB),  # a second member
        ({"member_id": ALICE}, None, None),
        ({"mentor_id": ALICE}, None, BOB),
        ({"asker_id": str(ALICE)}, None, None),
        ({"helper_ids": [ALICE, BOB]}, None, ALICE),  # a list of people: only one may be named
        ({"nested": {"by_user_id": ALICE}}, None, None),
        ({"note": f"<@{ALICE}> asked"}, None, None),  # an unlabelled snowflake, here as a mention
        ({"extra": ALICE}, None, None),
        ({}, f"mentors.roster_refresh:{GUILD}:{ALICE}", None),
        ({"channel_id": CHANNEL}, f"thing:{CHANNEL}:{ALICE}", BOB),
    ],
)
async def test_a_job_naming_a_member_outside_user_id_is_refused(
    db: Database, clock: ManualClock, payload: dict[str, Any], key: str | None, user_id: int | None
) -> None:
    with pytest.raises(JobNamesAMember):
        await _schedule(db, clock, payload=payload, dedupe_key=key, guild_id=GUILD, user_id=user_id)
    assert await jobs.pending(db.conn) == []


async def test_the_member_in_user_id_and_discord_object_ids_are_allowed(db: Database, clock: ManualClock) -> None:
    job = await _schedule(
        db,
        clock,
        payload={"user_id": ALICE, "mentor_id": ALICE, "channel_id": CHANNEL, "request_id": 12, "level": 2},
        dedupe_key=f"thing:{GUILD}:{ALICE}:{CHANNEL}:1790000000",
        guild_id=GUILD,
        user_id=ALICE,
    )
    assert job.user_id == ALICE
    # A booking's jobs name the booking, not either person.
    booking = await _schedule(db, clock, payload={"booking_id": 3}, dedupe_key="mentors.reminder:3:15", guild_id=GUILD)
    assert booking.user_id is None


async def _plant(db: Database, *, user_id: int | None, payload: dict[str, Any], key: str | None) -> None:
    """A row written before the rule (or by hand): straight into the table, past storage.jobs.schedule."""
    await db.conn.execute(
        "INSERT INTO jobs (kind, guild_id, user_id, payload, due_at, dedupe_key, created_at) VALUES (?,?,?,?,?,?,?)",
        ("k", GUILD, user_id, json.dumps(payload), 0, key, 0),
    )


async def test_delete_for_user_finds_the_id_in_payloads_and_keys_in_any_form(db: Database) -> None:
    await _plant(db, user_id=ALICE, payload={}, key=None)
    await _plant(db, user_id=None, payload={"user_id": ALICE}, key=None)
    await _plant(db, user_id=None, payload={"deep": [{"who": str(ALICE)}]}, key=None)
    await _plant(db, user_id=None, payload={"text": f"<@!{ALICE}>"}, key=None)
    await _plant(db, user_id=None, payload={}, key=f"roster:{GUILD}:{ALICE}")
    await _plant(db, user_id=None, payload={}, key=None)
    error = f"DuplicateJob: key 'r:1:{ALICE}' is running"
    await db.conn.execute("UPDATE jobs SET last_error = ? WHERE id = (SELECT MAX(id) FROM jobs)", (error,))
    # Not hers: bob's job, and a number that merely contains her id's digits.
    await _plant(db, user_id=BOB, payload={"user_id": BOB}, key=f"roster:{GUILD}:{BOB}")
    await _plant(db, user_id=None, payload={"n": int(f"{ALICE}9")}, key=f"x:1{ALICE}")

    assert await jobs.delete_for_user(db.conn, user_id=ALICE, guild_id=GUILD) == 6

    async with db.conn.execute("SELECT user_id, payload FROM jobs ORDER BY id") as cur:
        left = [(row[0], json.loads(row[1])) for row in await cur.fetchall()]
    assert left == [(BOB, {"user_id": BOB}), (None, {"n": int(f"{ALICE}9")})]


async def test_delete_for_user_in_one_server_leaves_other_servers_jobs(db: Database) -> None:
    await _plant(db, user_id=ALICE, payload={}, key=None)
    await db.conn.execute(
        "INSERT INTO jobs (kind, guild_id, user_id, payload, due_at, created_at) VALUES ('k', 5, ?, '{}', 0, 0)",
        (ALICE,),
    )
    assert await jobs.delete_for_user(db.conn, user_id=ALICE, guild_id=GUILD) == 1
    assert await jobs.delete_for_user(db.conn, user_id=ALICE) == 1


async def test_the_migration_moves_a_payloads_member_into_user_id(tmp_path: Path) -> None:
    migrations = load_migrations()
    index = next(i for i, m in enumerate(migrations) if m.name.endswith("_jobs_name_their_member.sql"))
    db = await Database.open(tmp_path / "old.sqlite3")
    try:
        await migrate(db, migrations[:index])
        await _plant(db, user_id=None, payload={"guild_id": GUILD, "user_id": ALICE}, key=f"r:{GUILD}:{ALICE}")
        await _plant(db, user_id=None, payload={"booking_id": 4}, key="mentors.reminder:4:15")
        await db.raw.commit()
        await migrate(db, migrations)
        async with db.conn.execute("SELECT user_id FROM jobs ORDER BY id") as cur:
            assert [row[0] for row in await cur.fetchall()] == [ALICE, None]
    finally:
        await db.close()
