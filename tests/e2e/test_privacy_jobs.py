"""Jobs never outlive /privacy delete or a departed member's purge: the roster job of a mentor who signed up
through Discord, the full-table scan that reads JSON payloads and keys, and proof that the scan finds a planted id."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import aiosqlite
import pytest

from demo.community import Community
from services.mentors import JOB_KINDS as BOOKING_JOBS
from storage import jobs as jobs_store
from tests.e2e.test_mentors import approved_mentor, request_call, request_dm
from tests.e2e.test_privacy import NOTE, daily, scan_database

ROSTER_JOB = "mentors.roster_refresh"


def _plant(path: str, sql: str, params: tuple[object, ...]) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("plant", "remove"),
    [
        (
            "INSERT INTO jobs (kind, payload, due_at, created_at) VALUES ('x.planted', ?, 0, 0)",
            "DELETE FROM jobs WHERE kind = 'x.planted'",
        ),
        (
            "INSERT INTO meta (key, value) VALUES ('planted', ?)",
            "DELETE FROM meta WHERE key = 'planted'",
        ),
    ],
)
@pytest.mark.parametrize("form", ["int", "str", "mention", "nested", "key"])
async def test_the_scan_fails_when_any_row_holds_her_id_in_any_form(
    community: Community, plant: str, remove: str, form: str
) -> None:
    c = community
    path = str(c.database_path)
    uid = c.alice.id
    assert scan_database(path, uid, ()) == []
    value = {
        "int": json.dumps({"user_id": uid}),
        "str": json.dumps({"who": str(uid)}),
        "mention": json.dumps({"text": f"hi <@!{uid}>"}),
        "nested": json.dumps({"a": [{"b": {"c": uid}}]}),
        "key": f"mentors.roster_refresh:{c.guild.id}:{uid}",
    }[form]
    if form == "key" and "jobs" in plant:
        plant = "INSERT INTO jobs (kind, dedupe_key, due_at, created_at) VALUES ('x.planted', ?, 0, 0)"
    _plant(path, plant, (value,))
    found = scan_database(path, uid, ())
    assert found, f"the scan missed her id planted as {form}"
    _plant(path, remove, ())
    assert scan_database(path, uid, ()) == []


async def test_the_scan_fails_when_an_integer_column_holds_her_id(community: Community) -> None:
    c = community
    path = str(c.database_path)
    _plant(path, "UPDATE jobs SET user_id = ? WHERE id = (SELECT max(id) FROM jobs)", (c.alice.id,))
    _plant(path, "INSERT INTO jobs (kind, user_id, due_at, created_at) VALUES ('x.planted', ?, 0, 0)", (c.alice.id,))
    assert "jobs.user_id holds the id as a number" in scan_database(path, c.alice.id, ())


async def _alice_the_mentor_with_a_booking(c: Community) -> None:
    card = await approved_mentor(c, c.alice)
    await c.alice.slash("checkin", channel=c.general, status="Stuck", note=NOTE)
    await request_call(c, c.bob, card, days_ahead=2)
    await c.alice.click(request_dm(c.alice), "Accept")
    pending = await jobs_store.pending(bot_db(c), kind=ROSTER_JOB)
    assert [job.user_id for job in pending] == [c.alice.id]  # the card's refresh names its mentor
    assert {j.kind for j in await jobs_store.pending(bot_db(c))} >= {ROSTER_JOB, *BOOKING_JOBS[1:3]}


def bot_db(c: Community) -> aiosqlite.Connection:
    assert c.bot is not None
    return c.bot.db.conn


async def test_privacy_delete_by_a_mentor_leaves_no_job_payload_or_key_with_her_id(community: Community) -> None:
    c = community
    await _alice_the_mentor_with_a_booking(c)
    assert any("jobs." in hit for hit in scan_database(str(c.database_path), c.alice.id, ()))

    prompt = await c.alice.slash("privacy delete", channel=c.general)
    await c.alice.click(prompt, "Delete everything")

    assert scan_database(str(c.database_path), c.alice.id, (NOTE,)) == []
    assert scan_database(str(c.database_path), c.bob.id, ())  # bob's own data stays


async def test_a_departed_mentors_purge_leaves_no_job_with_her_id(community: Community) -> None:
    c = community
    await _alice_the_mentor_with_a_booking(c)
    c.twin.leave(c.guild, c.alice)
    c.clock.advance(days=1)
    await daily(c)
    assert await jobs_store.pending(bot_db(c), user_id=c.alice.id) == []  # nothing more runs for her
    c.clock.advance(timedelta(days=30))
    await daily(c)
    assert scan_database(str(c.database_path), c.alice.id, (NOTE,)) == []
