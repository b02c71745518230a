"""Anonymous asks' storage on a real SQLite file: a relay's text is held until delivered and then blanked, a reply to
a relayed DM finds its request, /privacy delete leaves no text, and moderators' reveals stay in the audit list."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from services.clock import ManualClock
from services.effects import Landed, Outbox
from services.jobs import JobDispatcher
from storage import help_relays as relays
from storage import help_requests as requests
from storage.db import Database
from storage.help_requests import HelpRequest

GUILD, ALICE, HANA, MAYA = 7, 42, 43, 44


async def anonymous_request(db: Database, clock: ManualClock, asker: int = ALICE) -> HelpRequest:
    async with db.transaction() as conn:
        return await requests.insert(
            conn,
            guild_id=GUILD,
            asker_id=asker,
            topic="interviews",
            body="what is going on",
            wants=None,
            source="ask",
            submit_key=None,
            now=clock.now(),
            anonymous=True,
        )


async def test_a_relay_is_stored_once_per_source_and_its_text_is_blanked_when_delivered(
    db: Database, clock: ManualClock
) -> None:
    request = await anonymous_request(db, clock)
    assert request.anonymous and request.hides_asker
    async with db.transaction() as conn:
        first, created = await relays.insert_relay(
            conn,
            request_id=request.id,
            direction="to_member",
            author_id=HANA,
            source_key="k1",
            text="hi",
            now=clock.now(),
        )
        again, created_again = await relays.insert_relay(
            conn,
            request_id=request.id,
            direction="to_member",
            author_id=HANA,
            source_key="k1",
            text="hi",
            now=clock.now(),
        )
    assert created and not created_again and again.id == first.id and first.text == "hi"
    async with db.transaction() as conn:
        await relays.delivered(conn, first.id, message_id=900, now=clock.now())
    done = await relays.get_relay(db.conn, first.id)
    assert done is not None and done.text is None and done.delivered_at is not None and done.message_id == 900
    assert await relays.request_of_dm(db.conn, 900) == request.id


async def test_the_schema_refuses_a_delivered_relay_that_still_holds_its_text(db: Database, clock: ManualClock) -> None:
    request = await anonymous_request(db, clock)
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO help_relays (request_id, direction, source_key, text, created_at, delivered_at) "
                "VALUES (?, 'to_thread', 'k', 'still here', 1, 2)",
                (request.id,),
            )


async def test_a_dm_of_the_requests_effects_also_finds_the_request(db: Database, clock: ManualClock) -> None:
    request = await anonymous_request(db, clock)
    outbox = Outbox(db, JobDispatcher(db, clock, worker="test"), clock)
    async with db.transaction() as conn:
        await outbox.record(conn, f"help:{request.id}", "help.anon_dm", guild_id=GUILD, user_id=ALICE)
    [effect] = await outbox.pending(f"help:{request.id}")
    await outbox.complete(effect, Landed(5, 777))
    assert await relays.request_of_dm(db.conn, 777) == request.id
    assert await relays.request_of_dm(db.conn, 778) is None


async def test_forgetting_a_member_blanks_held_texts_of_her_requests_and_unlinks_what_she_wrote_as_helper(
    db: Database, clock: ManualClock
) -> None:
    hers = await anonymous_request(db, clock)
    other = await anonymous_request(db, clock, asker=MAYA)
    async with db.transaction() as conn:
        await relays.insert_relay(
            conn,
            request_id=hers.id,
            direction="to_thread",
            author_id=None,
            source_key="a",
            text="mine",
            now=clock.now(),
        )
        await relays.insert_relay(
            conn, request_id=other.id, direction="to_member", author_id=ALICE, source_key="b", text="as helper",
            now=clock.now(),
        )  # fmt: skip
        await relays.insert_relay(
            conn, request_id=other.id, direction="to_member", author_id=HANA, source_key="c", text="hana's",
            now=clock.now(),
        )  # fmt: skip
        await relays.forget_member(conn, GUILD, ALICE)
    mine, as_helper, hanas = (await relays.relays_of(db.conn, hers.id)) + (await relays.relays_of(db.conn, other.id))
    assert mine.text is None
    assert as_helper.text is None and as_helper.author_id is None
    assert hanas.text == "hana's" and hanas.author_id == HANA  # other people's relays are untouched


async def test_only_the_first_reveal_by_the_asker_counts_and_live_anonymous_requests_are_hers_only(
    db: Database, clock: ManualClock
) -> None:
    request = await anonymous_request(db, clock)
    async with db.transaction() as conn:
        await requests.attach_thread(conn, request.id, thread_id=55, queue_message_id=None)
        assert [r.id for r in await relays.live_anonymous_for_asker(conn, ALICE)] == [request.id]
        assert await relays.live_anonymous_for_asker(conn, MAYA) == []
        revealed = await relays.mark_revealed(conn, request.id, now=clock.now())
        assert revealed is not None and not revealed.hides_asker
        assert await relays.mark_revealed(conn, request.id, now=clock.now()) is None


async def test_reveals_are_listed_newest_first_and_a_moderators_delete_keeps_the_row_without_them(
    db: Database, clock: ManualClock
) -> None:
    request = await anonymous_request(db, clock)
    async with db.transaction() as conn:
        await relays.insert_reveal(
            conn, guild_id=GUILD, request_id=request.id, moderator_id=MAYA, reason="threats", now=clock.now()
        )
        clock.advance(timedelta(hours=1))
        await relays.insert_reveal(
            conn, guild_id=GUILD, request_id=request.id, moderator_id=HANA, reason="spam", now=clock.now()
        )
    assert [r.reason for r in await relays.reveals(db.conn, GUILD)] == ["spam", "threats"]
    assert [r.reason for r in await relays.reveals_of_asker(db.conn, GUILD, ALICE)] == ["threats", "spam"]
    async with db.transaction() as conn:
        assert await relays.anonymize_moderator(conn, GUILD, MAYA) == 1
    listed = await relays.reveals(db.conn, GUILD)
    assert [(r.reason, r.moderator_id) for r in listed] == [("spam", HANA), ("threats", None)]
    assert await relays.reveals_by_moderator(db.conn, GUILD, MAYA) == []
