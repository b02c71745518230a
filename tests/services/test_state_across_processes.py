"""State that spans processes lives in the database (issue #13, docs/decisions.md "State across processes").

Two processes are two ``Database`` objects on one database (``db`` and ``second_db``), each with its own services
under its own worker name, on SQLite and on PostgreSQL: the effects runner of each flushing the same subjects at
once carries every effect out exactly once and in order, a subject held by one process is left to it by the other
(until its lease runs out), and a roster card is written by one process at a time, with its last edit time (the
debounce) seen by both.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from cogs._effects import EffectRunner, EffectsPending
from services.clock import ManualClock
from services.contact import PhoneVault
from services.effects import SUBJECT_LEASE, Landed, Outbox, SubjectBusy
from services.jobs import JobDispatcher
from services.mentors import MentorService
from services.mentors._profiles import CARD_LEASE
from storage import effects as effects_store
from storage.db import Database
from storage.effects import Effect
from storage.jobs import Job, JobStatus

GUILD, ALICE = 1001, 11
KIND = "test.post"


@dataclass
class Process:
    """One bot process's share of the wiring: its outbox and effects runner on its own database connection."""

    name: str
    outbox: Outbox
    runner: EffectRunner
    ran: list[tuple[str, int]] = field(default_factory=list)


def process(db: Database, clock: ManualClock, name: str, ran: list[tuple[str, int]]) -> Process:
    outbox = Outbox(db, JobDispatcher(db, clock, worker=name), clock)
    runner = EffectRunner(outbox)
    proc = Process(name, outbox, runner, ran)

    async def post(effect: Effect) -> Landed:
        ran.append((name, effect.id))
        for _ in range(3):  # a Discord round trip: the other process gets to run meanwhile
            await asyncio.sleep(0)
        return Landed(channel_id=1, result_id=effect.id)

    runner.register(KIND, post)
    return proc


async def record(db: Database, outbox: Outbox, subject: str, count: int) -> list[Effect]:
    async with db.transaction() as conn:
        return [await outbox.record(conn, subject, KIND, guild_id=GUILD, user_id=ALICE) for _ in range(count)]


async def test_two_processes_flushing_the_same_subjects_at_once_carry_out_each_effect_once_in_order(
    db: Database, second_db: Database, clock: ManualClock
) -> None:
    ran: list[tuple[str, int]] = []
    one, two = process(db, clock, "one", ran), process(second_db, clock, "two", ran)
    subjects = [f"help:{n}" for n in range(1, 7)]
    recorded = {s: await record(db, one.outbox, s, 4) for s in subjects}
    flushes = [p.runner.flush(s) for s in subjects for p in (one, two)]
    results = await asyncio.gather(*flushes)
    counts = Counter(effect_id for _, effect_id in ran)
    every = [e.id for effects in recorded.values() for e in effects]
    assert sorted(counts) == sorted(every) and set(counts.values()) == {1}, counts  # each once, none missed
    by_id = {e.id: s for s, effects in recorded.items() for e in effects}
    for subject in subjects:  # in the order recorded, per subject
        order = [effect_id for _, effect_id in ran if by_id[effect_id] == subject]
        assert order == sorted(order)
    assert sum(r.done for r in results) == len(every)
    for subject in subjects:
        assert await one.outbox.pending(subject) == []
        done = await one.outbox.posted(subject)
        assert [e.attempts for e in done] == [1] * 4  # nobody started an effect the other was running


async def test_a_subject_held_by_one_process_is_left_to_it_and_its_job_comes_back_later(
    db: Database, second_db: Database, clock: ManualClock
) -> None:
    ran: list[tuple[str, int]] = []
    one, two = process(db, clock, "one", ran), process(second_db, clock, "two", ran)
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(effect: Effect) -> Landed:
        ran.append(("one", effect.id))
        entered.set()
        await release.wait()
        return Landed()

    one.runner.register("test.slow", slow)
    async with db.transaction() as conn:
        first = await one.outbox.record(conn, "help:1", "test.slow", guild_id=GUILD, user_id=ALICE)
        second = await one.outbox.record(conn, "help:1", KIND, guild_id=GUILD, user_id=ALICE)
    running = asyncio.create_task(one.runner.flush("help:1"))
    await entered.wait()

    busy = await two.runner.flush("help:1", wait=False)
    assert busy.busy and busy.pending == 2 and busy.done == 0
    job = Job(1, "effects.run", GUILD, ALICE, {"subject": "help:1"}, clock.now(), JobStatus.RUNNING, 1, 12,
              None, "two", None, "effects:help:1", clock.now(), None)  # fmt: skip
    with pytest.raises(EffectsPending, match="another process"):
        await two.runner.run_job(job)  # the dispatcher retries it with backoff
    assert await two.runner.sweep() == 0

    release.set()
    flushed = await running
    assert flushed.done == 2 and not flushed.busy
    assert ran == [("one", first.id), ("one", second.id)]
    assert (await two.runner.flush("help:1")).done == 0  # nothing left, and the subject is free again
    [effect, _] = await two.outbox.posted("help:1")
    assert effect.attempts == 1


async def test_a_process_that_stops_renewing_its_hold_loses_the_subject_and_cannot_start_its_effects(
    db: Database, second_db: Database, clock: ManualClock
) -> None:
    one, two = process(db, clock, "one", []), process(second_db, clock, "two", [])
    [first, second] = await record(db, one.outbox, "help:1", 2)
    assert [e.id for e in await one.outbox.claim("help:1") or []] == [first.id, second.id]
    assert await two.outbox.claim("help:1") is None
    with pytest.raises(SubjectBusy):
        await two.outbox.start(first)
    assert len(await one.outbox.claim("help:1") or []) == 2  # renewing its own hold
    clock.advance(SUBJECT_LEASE + timedelta(seconds=1))  # process one hung (or died) holding it
    assert len(await two.outbox.claim("help:1") or []) == 2
    started = await two.outbox.start(first)
    assert started is not None and started.attempts == 1
    with pytest.raises(SubjectBusy):
        await one.outbox.start(second)  # the hung process comes back: it may not run what two now runs
    await two.outbox.release("help:1")
    assert len(await one.outbox.claim("help:1") or []) == 2  # released: free at once


async def test_a_restarted_process_frees_at_once_the_subjects_its_previous_run_held(
    db: Database, second_db: Database, clock: ManualClock
) -> None:
    before = Outbox(db, JobDispatcher(db, clock, worker="bot", incarnation="a"), clock)
    [effect] = await record(db, before, "help:1", 1)
    assert len(await before.claim("help:1") or []) == 1  # then the process dies without releasing
    other = Outbox(second_db, JobDispatcher(second_db, clock, worker="other", incarnation="x"), clock)
    assert await other.release_previous_runs() == 0  # another worker's hold is not its business
    after = Outbox(second_db, JobDispatcher(second_db, clock, worker="bot", incarnation="b"), clock)
    assert await after.claim("help:1") is None
    assert await after.release_previous_runs() == 1
    assert len(await after.claim("help:1") or []) == 1
    stored = await effects_store.get(second_db.conn, effect.id)
    assert stored is not None and stored.status == "pending"


# --- the roster card --------------------------------------------------------------------------------------------------


async def test_a_roster_card_is_written_by_one_process_at_a_time_and_its_last_edit_is_seen_by_both(
    db: Database, second_db: Database, clock: ManualClock
) -> None:
    key = PhoneVault.generate_key()
    one = MentorService(db, JobDispatcher(db, clock, worker="one"), clock, PhoneVault(key))
    two = MentorService(second_db, JobDispatcher(second_db, clock, worker="two"), clock, PhoneVault(key))
    await one.signup(
        GUILD,
        ALICE,
        timezone="Europe/London",
        windows="Mon-Fri 07:30-08:15",
        call_minutes=15,
        contact_mode="discord_voice",
        headline="Eng manager",
        topics="Interviews",
        about="Happy to talk.",
        phone=None,
    )
    claims = await asyncio.gather(one.claim_card(GUILD, ALICE), two.claim_card(GUILD, ALICE))
    assert sorted(claims) == [False, True]  # two processes at once: one writes the card
    holder, other = (one, two) if claims[0] else (two, one)
    assert await other.card_edited_at(GUILD, ALICE) is None
    await holder.release_card(GUILD, ALICE, edited=clock.now())
    assert await other.card_edited_at(GUILD, ALICE) == clock.now()  # the debounce holds across processes
    assert await other.claim_card(GUILD, ALICE)
    assert not await holder.claim_card(GUILD, ALICE)
    clock.advance(CARD_LEASE + timedelta(seconds=1))  # the holder died mid-write
    assert await holder.claim_card(GUILD, ALICE)
    await other.release_card(GUILD, ALICE, edited=clock.now())  # too late: not its hold any more
    assert await holder.card_edited_at(GUILD, ALICE) == clock.now() - CARD_LEASE - timedelta(seconds=1)
    assert not await one.claim_card(GUILD, 999)  # no such mentor: nothing to hold
