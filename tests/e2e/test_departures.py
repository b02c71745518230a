"""Someone who left can't still be called or escalated for: the moments that reach out (a call reminder, a voice
room, an escalation) first ask Discord whether both people are still members, and a departure found there is handled
like the daily pass does (the call cancelled through the one path, the request closed as asker-left)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from demo.community import Community
from services.wiring import Services
from storage.mentors import Booking
from tests.e2e.test_cancellations import assert_cancels_the_confirmed_invite
from tests.e2e.test_help import ask, cards, help_threads
from tests.e2e.test_mentors import confirmed_call
from twin.people import Person


def bot_services(c: Community) -> Services:
    assert c.bot is not None
    return c.bot.services


async def the_call(c: Community, member: Person) -> Booking:
    [call] = await bot_services(c).mentors.upcoming_calls(member.id)
    return call


def texts(person: Person, after: int = 0) -> list[str]:
    return [dm.text for dm in person.dms()[after:]]


async def test_a_member_who_left_gets_no_reminder_and_the_mentor_gets_the_cancel_invite(community: Community) -> None:
    c = community
    await confirmed_call(c, c.carol, c.alice)
    call = await the_call(c, c.alice)
    c.twin.leave(c.guild, c.alice)  # no daily pass runs before the reminder
    before_alice, before_carol = len(c.alice.dms()), len(c.carol.dms())
    c.clock.set(call.starts_at - timedelta(hours=24))
    await c.run_jobs()
    assert not any("tomorrow" in t for t in texts(c.alice, before_alice) + texts(c.carol, before_carol))
    notice = assert_cancels_the_confirmed_invite(c.carol)
    assert "no longer in the server" in notice.text and str(c.alice.id) not in notice.text
    c.twin.assert_only_visible_to(notice.text, allowed=[c.carol])
    assert await bot_services(c).privacy.is_departed(c.guild.id, c.alice.id)  # as if the daily pass had run
    cancelled = await bot_services(c).mentors.get_booking(call.id)
    assert cancelled is not None and cancelled.status == "cancelled"


async def test_a_mentor_who_left_gets_no_voice_room_and_the_member_is_told(community: Community) -> None:
    c = community
    await confirmed_call(c, c.carol, c.alice, contact="discord_voice")
    call = await the_call(c, c.alice)
    c.clock.set(call.starts_at - timedelta(minutes=15))
    await c.run_jobs()  # the last reminder: both still here
    assert any("in 15 minutes" in t for t in texts(c.alice))
    c.twin.leave(c.guild, c.carol)
    before = len(c.alice.dms())
    c.clock.set(call.starts_at - timedelta(minutes=5))
    await c.run_jobs()
    assert not [ch for ch in c.twin.state.all_channels() if ch.name == f"commute-call-{call.id}"]
    [notice] = texts(c.alice, before)
    assert "no longer in the server" in notice and str(c.carol.id) not in notice
    assert_cancels_the_confirmed_invite(c.alice)


async def test_both_still_members_get_their_reminder_as_before(community: Community) -> None:
    c = community
    await confirmed_call(c, c.carol, c.alice)
    call = await the_call(c, c.alice)
    c.clock.set(call.starts_at - timedelta(hours=24))
    await c.run_jobs()
    for person in (c.alice, c.carol):
        assert sum("Reminder" in t and "tomorrow" in t for t in texts(person)) == 1
    assert not await bot_services(c).privacy.is_departed(c.guild.id, c.alice.id)


async def test_an_asker_who_left_is_not_escalated_and_the_request_closes_as_asker_left(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    [card] = cards(c)
    [thread] = help_threads(c)
    c.twin.leave(c.guild, c.alice)
    c.clock.advance(timedelta(hours=4, minutes=1))
    await c.run_jobs()
    assert cards(c) == []  # no re-posted card, no role mention; the nameless card is taken down
    assert card.deleted
    queue = [m for m in c.twin.state.channel_messages(c.queue.id) if not m.deleted]
    assert not any("waiting for a helper" in m.content for m in queue)
    assert thread.archived and thread.locked
    request = await bot_services(c).help_requests.by_thread(thread.id)
    assert request is not None and request.status == "closed" and request.close_reason == "asker_left"


async def test_membership_is_asked_once_and_remembered_for_a_few_minutes(community: Community) -> None:
    c = community
    assert c.bot is not None
    cog: Any = c.bot.get_cog("PrivacyCog")  # loaded as an extension: its class is not the one importable here
    guild = c.bot.get_guild(c.guild.id)
    assert cog is not None and guild is not None
    assert await cog.presence.is_member(guild, c.alice.id) is True
    c.twin.leave(c.guild, c.alice)
    c.clock.advance(timedelta(minutes=4))
    assert await cog.presence.is_member(guild, c.alice.id) is True  # remembered, not asked again
    c.clock.advance(timedelta(minutes=2))
    assert await cog.presence.is_member(guild, c.alice.id) is False  # asked afresh
