"""The outbox as the record of what was posted about a member: found by her id or by her id in args, and kept past
the 30-day purge while she is gone and awaits her own purge (which takes those posts down)."""

from __future__ import annotations

from datetime import timedelta

from services.clock import ManualClock
from storage import effects, safety
from storage import privacy as store
from storage.db import Database

GUILD = 700000000000000001
ALICE = 800000000000000002
BOB = 800000000000000003
QUEUE = 900000000000000004


async def _done(db: Database, clock: ManualClock, subject: str, user_id: int | None, **args: int) -> effects.Effect:
    async with db.transaction() as conn:
        effect = await effects.record(
            conn,
            subject=subject,
            kind="k",
            guild_id=GUILD,
            user_id=user_id,
            args=args,
            not_before=clock.now(),
            now=clock.now(),
        )
        await effects.complete(conn, effect.id, channel_id=QUEUE, result_id=effect.id + 1000, now=clock.now())
    return effect


async def test_of_member_finds_her_effects_and_others_effects_naming_her_only(db: Database, clock: ManualClock) -> None:
    own = await _done(db, clock, "help:1", ALICE)
    naming = await _done(db, clock, "help:2", BOB, helper_id=ALICE)
    await _done(db, clock, "help:3", BOB, helper_id=BOB)
    await _done(db, clock, "help:4", None, message_id=ALICE + 1)  # a different id with her digits nearby
    found = await effects.of_member(db.conn, guild_id=GUILD, user_id=ALICE)
    assert [e.id for e in found] == [own.id, naming.id]
    assert await effects.of_member(db.conn, guild_id=GUILD + 1, user_id=ALICE) == []


async def test_finished_effects_about_a_departed_member_outlive_the_purge_until_hers(
    db: Database, clock: ManualClock
) -> None:
    own = await _done(db, clock, "help:1", ALICE)
    naming = await _done(db, clock, "help:2", BOB, helper_id=ALICE)
    other = await _done(db, clock, "help:3", BOB)
    async with db.transaction() as conn:
        await safety.record_departure(
            conn, guild_id=GUILD, user_id=ALICE, now=clock.now(), purge_after=clock.now() + timedelta(days=30)
        )
    clock.advance(days=31)
    async with db.transaction() as conn:
        assert await store.purge_finished_effects(conn, before=clock.now() - timedelta(days=30)) == 1
    assert await effects.get(db.conn, other.id) is None
    assert await effects.get(db.conn, own.id) is not None and await effects.get(db.conn, naming.id) is not None
    async with db.transaction() as conn:
        await safety.delete_departure(conn, GUILD, ALICE)  # she came back: the usual 30 days apply again
        assert await store.purge_finished_effects(conn, before=clock.now() - timedelta(days=30)) == 2
