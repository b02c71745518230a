"""Safety around calls: a moderator's block and the server's booking limits apply to booking, and no-show counts
are private to moderators."""

from __future__ import annotations

from datetime import timedelta

import aiosqlite

from demo.community import Community
from storage import guilds
from storage.mentors import list_bookings
from tests.e2e.test_mentors import approved_mentor, confirmed_call, request_call


async def test_blocked_member_is_told_when_booking_and_sees_no_slots(community: Community) -> None:
    c = community
    card = await approved_mentor(c, c.carol)
    await c.mod.slash("block", channel=c.general, member=c.alice, days=3, reason="Please cool off")
    answer = await c.alice.click(card, "Book a call")
    assert answer.ephemeral
    assert "A moderator has paused your access to request calls with mentors" in answer.text
    assert not answer.selects  # no slot picker
    assert c.bot is not None
    assert await list_bookings(c.bot.db.conn, guild_id=c.guild.id) == []


async def test_booking_limit_per_day_refuses_the_next_request_and_says_when(community: Community) -> None:
    c = community
    assert c.bot is not None
    async with c.bot.db.transaction() as conn:
        await guilds.update_settings(
            conn, guild_id=c.guild.id, changes={"limit_booking_requests_per_day": 1}, now=c.clock.now()
        )
    carol_card = await approved_mentor(c, c.carol)
    sent = await request_call(c, c.alice, carol_card)
    assert "Request sent" in sent.text
    dave_card = await approved_mentor(c, c.dave)
    refused = await c.alice.click(dave_card, "Book a call")
    assert refused.ephemeral
    assert "This server allows 1" in refused.text
    assert "You can again" in refused.text
    assert len(await list_bookings(c.bot.db.conn, guild_id=c.guild.id)) == 1


async def test_no_show_counts_are_shown_to_moderators_only(community: Community) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice)
    [booking] = await list_bookings(bot_db(c), guild_id=c.guild.id)
    c.clock.advance(booking.ends_at + timedelta(minutes=31) - c.clock.now())
    await c.run_jobs()
    check = next(dm for dm in c.bob.dms() if "Did your call" in dm.text)
    await c.bob.click(check, "They didn't show")

    shown = await c.mod.slash("mentor no-shows", channel=c.general)
    assert shown.ephemeral
    assert f"<@{c.alice.id}>: 1 missed call" in shown.text
    refused = await c.carol.slash("mentor no-shows", channel=c.general)
    assert "Only moderators" in refused.text and "missed call" not in refused.text
    c.twin.assert_only_visible_to(f"<@{c.alice.id}>: 1 missed call", allowed=[c.mod])


def bot_db(c: Community) -> aiosqlite.Connection:
    assert c.bot is not None
    return c.bot.db.conn
