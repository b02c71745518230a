"""Commute-call mentors: where phone numbers can be seen, restarts, voice rooms, approval edge cases and the
roster's debounce. Helpers come from test_mentors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cogs.mentors._roster import ROSTER_JOB
from demo.community import Community
from storage import jobs as jobs_store
from tests.e2e.test_mentors import (
    MEMBER_PHONE,
    PHONE,
    PHONE_SHOWN,
    after_a_minute,
    approval_card,
    approved_mentor,
    confirmation_dm,
    confirmed_call,
    eventually,
    request_call,
    roster_cards,
    sign_up,
)


def everywhere(c: Community, text: str) -> list[tuple[str, str]]:
    """(who, where) for every member who can see ``text`` anywhere."""
    return [(p.name, v.where) for p in c.members for v in c.twin.visible_to(p) if text in v.text]


def digits(number: str) -> str:
    return number.replace(" ", "")


# --- privacy ---------------------------------------------------------------------------------------------------------


async def test_mentor_number_is_seen_only_in_the_members_confirmation_dm(community: Community) -> None:
    c = community
    card = await confirmed_call(c, c.bob, c.alice)
    assert everywhere(c, PHONE_SHOWN) == [("alice", "DM")]
    assert everywhere(c, digits(PHONE)) == []
    assert PHONE_SHOWN in confirmation_dm(c.alice).text
    assert "+44" not in card.text and "+44" not in approval_card(c).text
    c.twin.assert_only_visible_to(PHONE_SHOWN, allowed=[c.alice])


async def test_member_number_is_seen_only_in_the_mentors_confirmation_dm(community: Community) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice, contact="i_call_them")
    shown = "+1 212-555-0142"
    assert everywhere(c, shown) == [("bob", "DM")]
    assert everywhere(c, digits(MEMBER_PHONE)) == []
    assert "will call you on the number you gave" in confirmation_dm(c.alice).text


async def test_phone_numbers_never_reach_the_logs(community: Community, caplog: pytest.LogCaptureFixture) -> None:
    c = community
    caplog.set_level("DEBUG")
    await confirmed_call(c, c.bob, c.alice)
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith(("discord", "twin", "aiohttp"))]
    assert ours, "Porchlight logged nothing at all"
    # The number whole, without spaces, and any part of it as written ("7946 0958", "20 7946"): a bare "7946" could
    # match the digits of an id in a logged line (seen once in a Discord snowflake) and prove nothing.
    for needle in (digits(PHONE), PHONE_SHOWN, "7946 0958", "20 7946", "79460958"):
        assert not [line for line in ours if needle in line]


# --- restart ---------------------------------------------------------------------------------------------------------


async def test_after_a_restart_the_same_card_still_books_and_reminders_fire_once(community: Community) -> None:
    c = community
    card = await confirmed_call(c, c.bob, c.alice)
    await c.restart()
    assert c.bot is not None
    cog = c.bot.get_cog("MentorCog")
    await cog.desk.roster.reconciled.wait()  # type: ignore[union-attr]
    assert [m.id for m in roster_cards(c)] == [card.id] and not card.deleted
    picker = await c.carol.click(card, "Book a call")
    assert picker.selects
    [call] = await c.bot.services.mentors.upcoming_calls(c.alice.id)
    c.clock.set(call.starts_at - timedelta(hours=24))
    await c.run_jobs()
    await c.restart()
    await c.run_jobs()
    c.clock.set(call.starts_at - timedelta(minutes=15))
    await c.restart()  # down when the 15-minute reminder fell due: caught up once on the first pass
    await c.run_jobs()
    await c.run_jobs()
    assert sum("Reminder" in dm.text and "tomorrow" in dm.text for dm in c.alice.dms()) == 1
    assert sum("in 15 minutes" in dm.text for dm in c.alice.dms()) == 1
    assert sum("in 15 minutes" in dm.text for dm in c.bob.dms()) == 1


async def test_restart_reposts_a_deleted_card_and_removes_the_card_of_a_mentor_who_left(community: Community) -> None:
    c = community
    bob_card = await approved_mentor(c, c.bob)
    carol_card = await approved_mentor(c, c.carol)
    c.twin.delete_message(bob_card.message)
    assert c.bot is not None
    await c.bot.services.mentors.leave(c.guild.id, c.carol.id)  # left while the bot could not remove the card
    await c.restart()
    cog = c.bot.get_cog("MentorCog") if c.bot else None
    await cog.desk.roster.reconciled.wait()  # type: ignore[union-attr]
    cards = roster_cards(c)
    assert len(cards) == 1 and c.bob.mention in cards[0].text and cards[0].id != bob_card.id
    assert carol_card.deleted


# --- roster card debounce --------------------------------------------------------------------------------------------


async def test_card_is_edited_at_most_once_a_minute_and_catches_up(community: Community) -> None:
    c = community
    card = await approved_mentor(c, c.bob, weekly_limit=3)
    assert "Calls left this week\n3" in card.text
    edited = card.message.edited_at
    await request_call(c, c.alice, card)
    assert card.message.edited_at == edited  # within the minute: not yet
    await after_a_minute(c)
    assert "Calls left this week\n2" in card.text


async def test_the_refresh_job_edits_the_card_once_and_plans_the_next_refresh(community: Community) -> None:
    """The job that catches the card up schedules the card's next refresh while its own dedupe key is taken (it is
    running): that must not fail the job into retries that edit the card again."""
    c = community
    assert c.bot is not None
    card = await approved_mentor(c, c.bob, weekly_limit=3)
    await request_call(c, c.alice, card)
    c.clock.advance(timedelta(minutes=1))
    report = await c.run_jobs()
    assert "Calls left this week\n2" in card.text
    assert report.retried == 0 and report.failed == 0, report
    refresh = await jobs_store.pending(c.bot.db.conn, kind=ROSTER_JOB, user_id=c.bob.id)
    assert len(refresh) == 1 and refresh[0].due_at > c.clock.now()  # the next refresh, once
    edited = await c.bot.services.mentors.card_edited_at(c.guild.id, c.bob.id)
    assert edited == c.clock.now().replace(microsecond=0)  # the debounce reads it from the database


# --- approval edge cases ---------------------------------------------------------------------------------------------


async def test_only_moderators_can_approve(community: Community) -> None:
    c = community
    await sign_up(c, c.bob)
    refused = await c.helper.click(approval_card(c), "Approve")
    assert "Only moderators" in refused.text and refused.ephemeral
    assert roster_cards(c) == []


async def test_declined_application_is_told_by_dm_and_gets_no_card(community: Community) -> None:
    c = community
    await sign_up(c, c.bob)
    await c.mod.click(approval_card(c), "Decline")
    assert "Declined by" in approval_card(c).text
    assert any("didn't approve" in dm.text for dm in c.bob.dms())
    assert roster_cards(c) == []


async def test_without_approval_the_profile_goes_straight_to_the_roster(community: Community) -> None:
    c = community
    assert c.bot is not None
    async with c.bot.db.transaction() as conn:
        from storage import guilds

        await guilds.update_settings(conn, guild_id=c.guild.id, changes={"mentor_approval": False}, now=c.clock.now())
    answer = await sign_up(c, c.bob)
    assert "on the roster now" in answer.text
    assert len(roster_cards(c)) == 1 and c.mentors.id in c.bob.member.roles


async def test_approval_says_what_is_missing_when_the_mentor_role_sits_above_porchlight(community: Community) -> None:
    c = community
    bot_role = next(role for role in c.guild.roles.values() if role.bot_id == c.app.bot.id)
    c.mentors.position = bot_role.position + 1
    await sign_up(c, c.bob)
    await c.mod.click(approval_card(c), "Approve")
    await eventually(
        lambda: any("Approved, but" in v.text and v.where == "ephemeral" for v in c.twin.visible_to(c.mod))
    )
    assert not any("Approved, but" in v.text for v in c.twin.visible_to(c.helper))
    assert len(roster_cards(c)) == 1 and c.mentors.id not in c.bob.member.roles


async def test_bad_windows_and_time_zones_are_refused_before_the_form(community: Community) -> None:
    c = community
    bad = await c.bob.slash(
        "mentor signup",
        channel=c.general,
        timezone="Europe/London",
        windows="Mon 25:00-26:00",
        call_minutes=15,
        contact="discord_voice",
    )
    assert bad.ephemeral and "“25:00” in “Mon 25:00-26:00” isn't a valid time" in bad.text
    zone = await c.bob.slash(
        "mentor signup",
        channel=c.general,
        timezone="Mars/Olympus",
        windows="Mon 07:00-08:00",
        call_minutes=15,
        contact="discord_voice",
    )
    assert zone.ephemeral and "time zone" in zone.text
    choices = await c.bob.autocomplete("mentor signup", "timezone", "Lond", channel=c.general)
    assert any("Europe/London" in str(choice) for choice in choices)


# --- Discord voice ---------------------------------------------------------------------------------------------------


async def test_voice_room_opens_for_the_two_and_closes_after_the_call(community: Community) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice, contact="discord_voice")
    assert c.bot is not None
    [call] = await c.bot.services.mentors.upcoming_calls(c.alice.id)
    c.clock.set(call.starts_at - timedelta(minutes=5))
    await c.run_jobs()
    rooms = [ch for ch in c.twin.state.all_channels() if ch.name == f"commute-call-{call.id}"]
    assert len(rooms) == 1
    state = c.twin.state
    assert state.can_view(c.alice.id, rooms[0]) and state.can_view(c.bob.id, rooms[0])
    assert not state.can_view(c.carol.id, rooms[0]) and not state.can_view(c.mod.id, rooms[0])
    assert any(f"<#{rooms[0].id}>" in dm.text for dm in c.alice.dms())
    c.clock.set(call.ends_at + timedelta(minutes=31))
    await c.run_jobs()
    assert not [ch for ch in c.twin.state.all_channels() if ch.name == f"commute-call-{call.id}"]


async def test_without_manage_channels_the_voice_call_falls_back_to_a_dm_call(community: Community) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice, contact="discord_voice")
    bot_role = next(role for role in c.guild.roles.values() if role.bot_id == c.app.bot.id)
    bot_role.permissions &= ~(1 << 4)  # an admin takes Manage Channels away; Discord refuses the channel (50013)
    assert c.bot is not None
    [call] = await c.bot.services.mentors.upcoming_calls(c.alice.id)
    c.clock.set(call.starts_at - timedelta(minutes=5))
    await c.run_jobs()
    assert any("Manage Channels" in dm.text for dm in c.alice.dms())
    assert any("Manage Channels" in dm.text for dm in c.bob.dms())
