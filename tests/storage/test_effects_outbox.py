"""The effects outbox on a real SQLite file: recorded with the change, one safety-net job per subject due at the
earliest, runs counted before they touch Discord, and nothing left of a member after delete."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.clock import ManualClock
from services.effects import EFFECTS_JOB, SAFETY_NET_DELAY, Landed, Outbox
from services.jobs import JobDispatcher
from storage import effects as store
from storage import jobs as jobs_store
from storage.db import Database

GUILD, ALICE = 7, 42


@pytest.fixture
def outbox(db: Database, clock: ManualClock) -> Outbox:
    return Outbox(db, JobDispatcher(db, clock, worker="test"), clock)


async def test_an_effect_recorded_in_a_rolled_back_change_does_not_exist(db: Database, outbox: Outbox) -> None:
    with pytest.raises(RuntimeError, match="the change failed"):
        async with db.transaction() as conn:
            await outbox.record(conn, "help:1", "help.thread", guild_id=GUILD, user_id=ALICE)
            raise RuntimeError("the change failed")
    assert await outbox.pending("help:1") == []
    assert await jobs_store.pending(db.conn, kind=EFFECTS_JOB) == []


async def test_recording_outside_a_transaction_is_refused(db: Database, outbox: Outbox) -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        await outbox.record(db.conn, "help:1", "help.thread", guild_id=GUILD, user_id=ALICE)


async def test_one_safety_net_job_per_subject_due_for_its_earliest_effect(
    db: Database, outbox: Outbox, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        await outbox.record(conn, "help:1", "help.thread", guild_id=GUILD, user_id=ALICE)
        await outbox.record(conn, "help:1", "help.tell_asker", guild_id=GUILD, user_id=ALICE, delay=timedelta(hours=1))
        await outbox.record(conn, "help:2", "help.thread", guild_id=GUILD, user_id=ALICE)
    jobs = await jobs_store.pending(db.conn, kind=EFFECTS_JOB)
    assert sorted(j.payload["subject"] for j in jobs) == ["help:1", "help:2"]
    assert {j.due_at for j in jobs} == {clock.now() + SAFETY_NET_DELAY}  # the later effect did not push it back
    assert {j.user_id for j in jobs} == {ALICE}


async def test_a_run_is_counted_before_it_happens_and_a_done_effect_keeps_what_discord_made(
    db: Database, outbox: Outbox
) -> None:
    async with db.transaction() as conn:
        effect = await outbox.record(conn, "help:1", "help.opening", guild_id=GUILD, user_id=ALICE)
    assert [e.id for e in await outbox.claim("help:1") or []] == [effect.id]
    started = await outbox.start(effect)
    assert started is not None and started.attempts == 1 and started.nonce == effect.nonce
    assert len(effect.nonce) <= 25  # Discord's limit for a message nonce
    await outbox.complete(started, Landed(channel_id=5, result_id=6))
    assert await outbox.pending("help:1") == []
    assert await outbox.start(started) is None  # no longer pending: a second runner does nothing
    [posted] = await outbox.posted("help:1")
    assert (posted.channel_id, posted.result_id, posted.status) == (5, 6, "done")


async def test_cancel_and_hasten_touch_only_pending_effects_of_the_kinds_named(
    db: Database, outbox: Outbox, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        card = await outbox.record(conn, "help:1", "help.card", guild_id=GUILD, user_id=ALICE)
        tell = await outbox.record(conn, "help:1", "help.tell_asker", guild_id=GUILD, user_id=ALICE, delay=timedelta(1))
        assert await outbox.cancel(conn, "help:1", "help.card") == 1
    assert [e.id for e in await outbox.pending("help:1")] == [tell.id]
    assert await outbox.hasten() == 1
    [hastened] = await outbox.pending("help:1")
    assert hastened.not_before == clock.now()
    assert (await store.get(db.conn, card.id)).status == "cancelled"  # type: ignore[union-attr]


async def test_deleting_a_member_removes_her_effects_and_finished_ones_are_purged(
    db: Database, outbox: Outbox, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        mine = await outbox.record(conn, "help:1", "help.card", guild_id=GUILD, user_id=ALICE)
        other = await outbox.record(conn, "help:2", "help.card", guild_id=GUILD, user_id=ALICE + 1)
    await outbox.complete(other, None)
    async with db.transaction() as conn:
        assert await outbox.delete_member(conn, ALICE) == 1
    assert await store.get(db.conn, mine.id) is None
    clock.advance(timedelta(days=31))
    async with db.transaction() as conn:
        assert await store.purge_finished(conn, before=clock.now() - timedelta(days=30)) == 1


async def test_completing_a_subjects_last_pending_effect_cancels_its_safety_net_job(
    db: Database, outbox: Outbox, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        thread = await outbox.record(conn, "help:1", "help.thread", guild_id=GUILD, user_id=ALICE)
        tell = await outbox.record(conn, "help:1", "help.tell_asker", guild_id=GUILD, user_id=ALICE)
        await outbox.record(conn, "help:2", "help.thread", guild_id=GUILD, user_id=ALICE)

    async def safety_nets() -> list[str]:
        return sorted(j.payload["subject"] for j in await jobs_store.pending(db.conn, kind=EFFECTS_JOB))

    assert await outbox.claim("help:1") is not None
    for effect in (thread, tell):
        started = await outbox.start(effect)
        assert started is not None
        left = await outbox.complete(started, None)
        # One effect still pending: the job stays, in case this run stops short; none: it has nothing left to do.
        assert ([e.id for e in left], await safety_nets()) == (
            ([tell.id], ["help:1", "help:2"]) if effect is thread else ([], ["help:2"])
        )
    async with db.transaction() as conn:  # a later effect of the subject arms a new one
        await outbox.record(conn, "help:1", "help.card", guild_id=GUILD, user_id=ALICE)
    assert await safety_nets() == ["help:1", "help:2"]
