"""Two real Porchlight processes (``python bot.py``), each holding one of two shards, sharing one PostgreSQL database:
scheduled jobs run exactly once across both, one mentor's time is booked once whichever process takes the request,
and when one process dies the other goes on delivering.

Each test gets a fresh PostgreSQL schema (required under ``CI=true``, skipped with one line otherwise). Jobs are
seeded through the real services on a connection of the test's own, due a little ahead, so that both processes are
up when they fall due.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path

import pytest

from bench.interactions import sign_up_mentor
from demo.community import Community
from services.clock import SystemClock
from services.jobs import JobDispatcher, JobKind
from services.reminders import REMINDER_JOB, ReminderService, reminder_dedupe_key
from storage.db import to_epoch
from storage.jobs import Job
from storage.pg import PostgresDatabase
from tests.bot_process import BotProcess, all_running
from tests.conftest import postgres_env, require_postgres
from tests.e2e.sharded import ShardedWorld, sharded_world
from twin.people import MessageView, Modal, Person
from twin.state import DM

DUE_IN = timedelta(seconds=20)  # time for both processes to be up before the jobs fall due
DELIVERY_TIMEOUT = 240.0


@pytest.fixture
async def pg_env() -> AsyncIterator[dict[str, str]]:
    require_postgres()
    async with postgres_env("scale") as env:
        yield env


def two_processes(
    world: ShardedWorld, env: dict[str, str], folder: Path
) -> AbstractAsyncContextManager[list[BotProcess]]:
    c = world.communities[0]
    shards = [
        BotProcess.on_shards(world.twin, c.app, c.database_path, (shard,), 2, folder=folder, env=env)
        for shard in (0, 1)
    ]
    return all_running(shards)


def members(world: ShardedWorld, per_server: int) -> list[tuple[Community, Person]]:
    """``per_server`` new members in each server."""
    out = []
    for c in world.communities:
        for index in range(per_server):
            user = world.twin.create_user(f"g{c.guild.id % 997}u{index}")
            world.twin.join(c.guild, user)
            out.append((c, Person(world.twin, c.guild, user)))
    return out


async def seed_reminders(url: str, people: list[tuple[Community, Person]]) -> PostgresDatabase:
    """A daily check-in reminder for each member, through the real service, the first one due ``DUE_IN`` from now.
    Returns the test's own connection (the caller closes it)."""
    from storage.migrate import migrate

    db = await PostgresDatabase.connect(url)
    await migrate(db)
    clock = SystemClock()
    seeder = JobDispatcher(db, clock, worker="seed")  # schedules only: the bot processes run the jobs

    async def not_here(job: Job) -> None:
        raise AssertionError(f"the seeding connection ran job {job.id}")

    seeder.register(JobKind(REMINDER_JOB, not_here))
    reminders = ReminderService(db, seeder, clock)
    for c, person in people:
        await reminders.set(c.guild.id, person.id, "daily", "09:00", "UTC")
    # The first reminders fall due shortly, not at 09:00: moved as the service would have scheduled them then.
    due = clock.now() + DUE_IN
    async with db.transaction() as conn:
        for c, person in people:
            await conn.execute(
                "UPDATE jobs SET due_at = ?, dedupe_key = ? WHERE kind = ? AND status = 'pending' AND user_id = ?"
                " AND guild_id = ?",
                (to_epoch(due), reminder_dedupe_key(c.guild.id, person.id, due), REMINDER_JOB, person.id, c.guild.id),
            )
    return db


def dms_by_user(world: ShardedWorld) -> Counter[int]:
    """Bot messages in each member's DM channel, from the twin's state."""
    bot_id = world.communities[0].app.bot.id
    counts: Counter[int] = Counter()
    for channel in world.twin.state.dms.values():
        if channel.type != DM:
            continue
        sent = sum(1 for m in world.twin.state.channel_messages(channel.id) if m.author.id == bot_id)
        if not sent:
            continue  # opened, but the message never went (its process was killed in between)
        for recipient in channel.recipients:
            if recipient.id != bot_id:
                counts[recipient.id] += sent
    return counts


async def until(world: ShardedWorld, condition: Callable[[], bool]) -> None:
    """Wait (up to ``DELIVERY_TIMEOUT``) until ``condition`` holds, checked each time the twin has stored a message
    (a hook between the work and the response), as the processes deliver through the twin."""
    reached = asyncio.Event()

    async def check(_handled: object) -> None:
        if condition():
            reached.set()

    hook = world.twin.faults.on_done("POST", "/channels/*/messages", check, times=None)
    try:
        if not condition():
            async with asyncio.timeout(DELIVERY_TIMEOUT):
                await reached.wait()
    finally:
        world.twin.faults.active.remove(hook)


async def job_rows(db: PostgresDatabase) -> list[tuple[str, str | None, int]]:
    rows = await db.conn.execute_fetchall(
        "SELECT status, claimed_by, attempts FROM jobs WHERE kind = ? AND due_at < ?",
        (REMINDER_JOB, int(time.time() + 3600)),
    )
    return [(str(r[0]), r[1], int(r[2])) for r in rows]


async def test_a_thousand_jobs_run_exactly_once_across_two_processes(pg_env: dict[str, str], tmp_path: Path) -> None:
    async with sharded_world(tmp_path / "unused.db", num_shards=2, per_shard=2) as world:
        people = members(world, 250)
        db = await seed_reminders(pg_env["PORCHLIGHT_DATABASE_URL"], people)
        try:
            async with two_processes(world, pg_env, tmp_path) as processes:
                await until(world, lambda: sum(dms_by_user(world).values()) >= len(people))
                await asyncio.sleep(1.0)  # a duplicate, were there one, would arrive now
                rows = await job_rows(db)
                logs = [p.log() for p in processes]
        finally:
            await db.close()
    delivered = dms_by_user(world)
    assert len(people) == 1000
    assert {person.id for _, person in people} == set(delivered)
    assert set(delivered.values()) == {1}, Counter(delivered.values())  # each member exactly one reminder
    assert Counter(status for status, _, _ in rows) == Counter({"done": 1000})
    assert {attempts for _, _, attempts in rows} == {1}
    workers = Counter((claimed_by or "").split(":")[0] for _, claimed_by, _ in rows)
    assert set(workers) == {"shards-0", "shards-1"} and min(workers.values()) > 0, workers  # both took jobs
    for log in logs:
        assert "Traceback" not in log


async def test_when_one_process_dies_the_other_goes_on_delivering(pg_env: dict[str, str], tmp_path: Path) -> None:
    async with sharded_world(tmp_path / "unused.db", num_shards=2, per_shard=2) as world:
        people = members(world, 60)
        db = await seed_reminders(pg_env["PORCHLIGHT_DATABASE_URL"], people)
        try:
            async with two_processes(world, pg_env, tmp_path) as (survivor, doomed):
                await until(world, lambda: sum(dms_by_user(world).values()) >= 40)
                await doomed.kill()  # SIGKILL: its claimed jobs stay claimed until their lease runs out
                at_kill = sum(dms_by_user(world).values())

                def settled() -> bool:
                    return sum(dms_by_user(world).values()) >= len(people) - 16  # its pool held 16 at most

                await until(world, settled)
                await asyncio.sleep(2.0)
                rows = await job_rows(db)

                # New work after the death: a check-in in a server of the survivor's shard, and its DM reminders.
                later = members(world, 5)
                await seed_reminders(pg_env["PORCHLIGHT_DATABASE_URL"], later)
                await until(world, lambda: all(dms_by_user(world)[p.id] == 1 for _, p in later))
                c = world.on_shard(0)[0]
                await c.configure()
                answer = await c.alice.slash("checkin", channel=c.general, status="stuck")
                assert isinstance(answer, MessageView) and answer.ephemeral
                assert survivor.running and not doomed.running
        finally:
            await db.close()
    delivered = dms_by_user(world)
    assert set(delivered.values()) == {1}  # nobody got a reminder twice
    assert sum(delivered.values()) > at_kill  # the survivor delivered after the death
    statuses = Counter(status for status, _, _ in rows)
    stuck = [claimed for status, claimed, _ in rows if status == "running"]
    assert statuses["done"] + statuses["running"] == len(people)
    assert all((claimed or "").startswith("shards-1") for claimed in stuck)  # only the dead process's claims wait


async def _book_to_the_form(c: Community, person: Person, mentor_id: int) -> tuple[Modal, str]:
    messages = c.twin.state.channel_messages(c.roster.id)
    cards = [MessageView(c.twin, m.id) for m in messages if not m.deleted and m.ephemeral_for is None]
    card = next(card for card in cards if str(mentor_id) in card.text or card.buttons)
    picker = await person.click(card, "Book a call")
    assert picker.selects, picker.text
    first = picker.selects[0]["options"][0]["value"]
    form = await person.select(picker, "Pick a time", values=[first])
    assert isinstance(form, Modal), form
    return form, first


async def test_one_mentors_time_asked_for_in_two_processes_at_once_is_booked_once(
    pg_env: dict[str, str], tmp_path: Path
) -> None:
    async with sharded_world(tmp_path / "unused.db", num_shards=2, per_shard=1) as world:
        async with two_processes(world, pg_env, tmp_path):
            here, there = world.on_shard(0)[0], world.on_shard(1)[0]
            mentor_user = world.twin.create_user("mentor-in-both")
            for c in (here, there):
                await c.configure()
                world.twin.join(c.guild, mentor_user)
                await sign_up_mentor(c, Person(world.twin, c.guild, mentor_user))
            form_here, slot_here = await _book_to_the_form(here, here.alice, mentor_user.id)
            form_there, slot_there = await _book_to_the_form(there, there.bob, mentor_user.id)
            assert slot_here == slot_there  # the same first free time in both servers
            answers = await asyncio.gather(
                here.alice.submit_modal(form_here, {"topic": "PM interviews"}),
                there.bob.submit_modal(form_there, {"topic": "PM interviews"}),
            )
    texts = [a.text for a in answers if isinstance(a, MessageView)]
    assert len(texts) == 2
    taken = [t for t in texts if "just taken" in t]
    assert len(taken) == 1, texts  # one member asked for the call, the other is offered other times
