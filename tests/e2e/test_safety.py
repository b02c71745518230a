"""/setup check, /block and /unblock, per-server limits and mass-mention neutralisation, through the twin."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import timedelta

import discord
import pytest

from bot import PERMISSIONS
from demo.community import Community
from services.safety import Action, Blocked
from storage import guilds
from storage import safety as safety_store
from tests.e2e.test_lifecycle import _deferred
from tests.e2e.test_mentors import approved_mentor, request_call
from twin.people import CommandUnavailable, MessageView

SEND_MESSAGES = discord.Permissions(send_messages=True).value
CREATE_PRIVATE_THREADS = discord.Permissions(create_private_threads=True).value
VIEW = discord.Permissions(view_channel=True).value


def bot_role(c: Community) -> object:
    assert c.bot is not None
    return next(role for role in c.guild.roles.values() if role.bot_id == c.app.bot.id)


# --- /setup check -----------------------------------------------------------------------------------------------------


async def test_setup_check_names_the_exact_fix_for_a_denying_overwrite(community: Community) -> None:
    c = community
    help_channel = c.twin.create_text_channel(
        c.guild, "help-locked", overwrites={bot_role(c): (0, CREATE_PRIVATE_THREADS)}
    )
    # A read-only roster that forgets to let the bot post: @everyone denied Send Messages, nothing allowed the bot.
    roster = c.twin.create_text_channel(c.guild, "roster-locked", overwrites={c.guild.everyone: (0, SEND_MESSAGES)})
    await c.admin.slash("setup channels", channel=c.general, help=help_channel, queue=c.queue, roster=roster)
    answer = await c.admin.slash("setup check", channel=c.general)
    assert answer.ephemeral
    assert "Give Porchlight Create Private Threads in #help-locked." in answer.text
    assert "Give Porchlight Send Messages and Embed Links in #roster-locked." in answer.text
    assert "helper queue" not in answer.text  # the queue is fine and hidden from @everyone


async def test_setup_check_warns_when_the_queue_is_visible_to_everyone(community: Community) -> None:
    c = community
    await c.admin.slash("setup channels", channel=c.general, help=c.help, queue=c.general, roster=c.roster)
    answer = await c.admin.slash("setup check", channel=c.general)
    assert "Everyone can see #general, the helper queue" in answer.text


async def test_setup_check_warns_when_escalations_could_not_ping_the_helpers(community: Community) -> None:
    c = community
    quiet = c.twin.create_role(c.guild, "Quiet Helpers")  # not mentionable, as Discord creates roles by default
    await c.admin.slash("setup roles", channel=c.general, helper=quiet, mentor=c.mentors, moderator=c.mods)
    answer = await c.admin.slash("setup check", channel=c.general)
    assert "@Quiet Helpers can't be mentioned" in answer.text
    assert 'Allow anyone to @mention this role" for @Quiet Helpers' in answer.text
    assert "@Mods can't be mentioned" not in answer.text  # the community's Mods role is mentionable


async def test_setup_check_wants_the_bot_role_above_the_mentor_role(community: Community) -> None:
    c = community
    high = c.twin.create_role(c.guild, "Senior Mentors", position=50)
    await c.admin.slash("setup roles", channel=c.general, helper=c.helpers, mentor=high)
    answer = await c.admin.slash("setup check", channel=c.general)
    assert "Move Porchlight's role above @Senior Mentors" in answer.text


async def test_setup_check_before_setup_points_at_setup(unconfigured: Community) -> None:
    answer = await unconfigured.admin.slash("setup check", channel=unconfigured.general)
    assert "Nothing is set up yet" in answer.text


async def test_setup_check_is_for_manage_server_only(community: Community) -> None:
    with pytest.raises(CommandUnavailable):
        await community.alice.slash("setup check", channel=community.general)


async def test_start_up_logs_one_setup_line_per_server(community: Community, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="cogs.privacy")
    await community.restart()
    lines: list[str] = []
    for _ in range(100):
        lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("setup check guild=")]
        if lines:
            break
        await asyncio.sleep(0.02)
    assert lines == [f"setup check guild={community.guild.id}: " + lines[0].split(": ", 1)[1]]
    assert lines[0].endswith(": ok (6 channels and roles checked)"), lines[0]


async def test_joining_a_server_without_a_system_channel_posts_nothing(community: Community) -> None:
    c = community
    guild = c.twin.create_guild("Second Server", owner=c.admin.user)
    general = c.twin.create_text_channel(guild, "general")
    c.twin.add_bot(guild, c.app, 0)
    assert c.bot is not None
    for _ in range(50):
        if c.bot.get_guild(guild.id) is not None:
            break
        await asyncio.sleep(0.02)
    assert c.twin.state.channel_messages(general.id) == []  # no system channel: nothing anywhere


async def test_joining_a_server_posts_getting_started_once_in_its_system_channel(community: Community) -> None:
    c = community
    guild = c.twin.create_guild("Second Server", owner=c.admin.user)
    welcome = c.twin.create_text_channel(guild, "welcome")
    guild.system_channel_id = welcome.id
    c.twin.add_bot(guild, c.app, PERMISSIONS.value)
    for _ in range(100):  # the bot learns of the server from the gateway; wait for its message (bounded)
        if c.twin.state.channel_messages(welcome.id):
            break
        await asyncio.sleep(0.02)
    [message] = c.twin.state.channel_messages(welcome.id)
    assert "/setup" in message.content
    assert message.mentions == [] and message.mention_roles == []  # public channel: it pings and names nobody
    assert c.bot is not None
    bot = c.bot
    c.twin.remove_bot(guild, c.app)
    await _until(lambda: bot.get_guild(guild.id) is None)
    c.twin.add_bot(guild, c.app, PERMISSIONS.value)
    await _until(lambda: bot.get_guild(guild.id) is not None)
    # discord.py runs on_guild_join as a task named after the event: let every such handler finish first.
    await asyncio.gather(*(t for t in asyncio.all_tasks() if t.get_name() == "discord.py: on_guild_join"))
    assert len(c.twin.state.channel_messages(welcome.id)) == 1  # welcomed once, not on every re-invite


async def _until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) for the bot to process a gateway event the test caused."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - the state lives in discord.py's cache; no event to await
            await asyncio.sleep(0.01)


# --- /block -----------------------------------------------------------------------------------------------------------


async def test_moderator_blocks_and_the_member_is_told_why_when_they_try(community: Community) -> None:
    c = community
    answer = await c.mod.slash("block", channel=c.general, member=c.alice, days=3, reason="Please cool off")
    assert answer.ephemeral and "can't open help requests or book calls until <t:" in answer.text
    assert c.bot is not None
    safety = c.bot.services.safety
    assert await safety.is_blocked(c.guild.id, c.alice.id)
    with pytest.raises(Blocked, match="paused your access to request calls"):
        await safety.check(c.guild.id, c.alice.id, Action.BOOKING_REQUEST)
    # Check-ins and /privacy stay open to a blocked member.
    assert "Sorry" not in (await c.alice.slash("checkin", channel=c.general, status="Stuck")).text
    shown = await c.alice.slash("privacy show", channel=c.general)
    assert "Moderator block" in shown.text
    c.clock.advance(days=3, seconds=1)
    assert not await safety.is_blocked(c.guild.id, c.alice.id)


async def test_unblock_lifts_it(community: Community) -> None:
    c = community
    await c.mod.slash("block", channel=c.general, member=c.alice)
    answer = await c.mod.slash("unblock", channel=c.general, member=c.alice)
    assert "can open requests and book calls again" in answer.text
    assert c.bot is not None and not await c.bot.services.safety.is_blocked(c.guild.id, c.alice.id)


async def test_members_cannot_block(community: Community) -> None:
    c = community
    answer = await c.alice.slash("block", channel=c.general, member=c.bob)
    assert answer.ephemeral and "for this server's moderators" in answer.text
    assert c.bot is not None and not await c.bot.services.safety.is_blocked(c.guild.id, c.bob.id)
    c.twin.assert_only_visible_to("for this server's moderators", allowed=[c.alice])


# --- limits -----------------------------------------------------------------------------------------------------------


async def test_checkins_per_hour_are_limited_with_a_time_to_try_again(community: Community) -> None:
    c = community
    for _ in range(6):
        await c.alice.slash("checkin", channel=c.general, status="On track")
    refused = await c.alice.slash("checkin", channel=c.general, status="Stuck", note="seventh")
    assert refused.ephemeral
    assert "This server allows 6 check-ins an hour. You can again <t:" in refused.text
    assert c.bot is not None
    history = await c.bot.services.checkins.history(c.guild.id, c.alice.id)
    assert len(history.checkins) == 6
    c.clock.advance(hours=1)
    assert "allows" not in (await c.alice.slash("checkin", channel=c.general, status="Stuck")).text


async def test_other_write_commands_share_a_per_hour_limit_and_reads_do_not_count(community: Community) -> None:
    c = community
    assert c.bot is not None
    async with c.bot.db.transaction() as conn:
        await guilds.update_settings(
            conn, guild_id=c.guild.id, changes={"limit_changes_per_hour": 2}, now=c.clock.now()
        )
    reminders = {"every": "daily", "time": "08:30", "timezone": "Europe/Berlin"}
    await c.alice.slash("reminders checkin", channel=c.general, **reminders)
    for _ in range(3):  # reading is never limited
        assert "allows" not in (await c.alice.slash("reminders show", channel=c.general)).text
    await c.alice.slash("reminders off", channel=c.general)
    refused = await c.alice.slash("reminders checkin", channel=c.general, **reminders)
    assert refused.ephemeral
    assert "This server allows 2 changes an hour" in refused.text
    assert await c.bot.services.reminders.show(c.guild.id, c.alice.id) is None  # refused, so nothing was set
    c.clock.advance(hours=1, seconds=1)
    assert "Reminders set" in (await c.alice.slash("reminders checkin", channel=c.general, **reminders)).text


async def _set_limits(c: Community, **limits: int) -> None:
    assert c.bot is not None
    async with c.bot.db.transaction() as conn:
        await guilds.update_settings(conn, guild_id=c.guild.id, changes=limits, now=c.clock.now())


async def test_check_ins_fired_at_once_past_the_limit_get_exactly_the_limit(community: Community) -> None:
    c = community
    await _set_limits(c, limit_checkins_per_hour=3)
    answers = await asyncio.gather(*(c.alice.slash("checkin", channel=c.general, status="Stuck") for _ in range(6)))
    refused = [a for a in answers if "This server allows 3 check-ins an hour" in a.text]
    assert len(refused) == 3 and all(a.ephemeral for a in refused)
    assert c.bot is not None
    assert len((await c.bot.services.checkins.history(c.guild.id, c.alice.id)).checkins) == 3


async def test_change_commands_fired_at_once_past_the_limit_get_exactly_the_limit(community: Community) -> None:
    c = community
    await _set_limits(c, limit_changes_per_hour=2)
    reminders = {"every": "daily", "time": "08:30", "timezone": "Europe/Berlin"}
    answers = await asyncio.gather(
        *(c.alice.slash("reminders checkin", channel=c.general, **reminders) for _ in range(5))
    )
    assert sum("Reminders set" in a.text for a in answers) == 2
    assert sum("This server allows 2 changes an hour" in a.text for a in answers) == 3


async def test_a_command_that_fails_does_not_use_up_the_limit(community: Community) -> None:
    c = community
    await _set_limits(c, limit_changes_per_hour=2)
    for _ in range(3):  # refused by the command itself (a time that does not exist): nothing changed, nothing counted
        bad = await c.alice.slash("reminders checkin", channel=c.general, every="daily", time="25:00", timezone="UTC")
        assert "the hour runs from 0 to 23" in bad.text
    good = {"every": "daily", "time": "08:30", "timezone": "UTC"}
    for _ in range(2):
        assert "Reminders set" in (await c.alice.slash("reminders checkin", channel=c.general, **good)).text
    refused = await c.alice.slash("reminders checkin", channel=c.general, **good)
    assert "This server allows 2 changes an hour" in refused.text


async def test_a_booking_request_that_fails_does_not_use_up_the_daily_limit(community: Community) -> None:
    c = community
    await _set_limits(c, limit_booking_requests_per_day=1)
    card = await approved_mentor(c, c.carol, contact="i_call_them")
    missing = await request_call(c, c.alice, card, days_ahead=2, phone="\x00")  # nothing left once cleaned
    assert "please add your phone number" in missing.text
    sent = await request_call(c, c.alice, card, days_ahead=2, phone="+1 212 555 0142")
    assert "Request sent" in sent.text
    refused = await c.alice.click(card, "Book a call")
    assert "This server allows 1" in refused.text


async def test_a_command_waiting_on_another_writer_still_answers_and_is_counted(community: Community) -> None:
    c = community
    # Another process holds SQLite's write lock: the gate cannot reserve at once, so it lets the command go ahead
    # (missing Discord's 3-second window would fail it for certain) and the reservation lands once the lock is free.
    blocker = sqlite3.connect(c.database_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        deferred = asyncio.create_task(_deferred(c, c.alice.id))
        answer = asyncio.create_task(c.alice.slash("checkin", channel=c.general, status="Stuck"))
        await deferred
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    assert "asking for help" in (await answer).text.lower()
    assert c.bot is not None
    count, _ = await safety_store.count_events(
        c.bot.db.conn,
        guild_id=c.guild.id,
        user_id=c.alice.id,
        action=Action.CHECKIN.value,
        since=c.clock.now() - timedelta(hours=1),
    )
    assert count == 1  # the reservation came first on the bot's connection, before the check-in's own write


# --- input hygiene ----------------------------------------------------------------------------------------------------


async def test_mass_mentions_in_a_shared_note_ping_nobody(community: Community) -> None:
    c = community
    note = f"@everyone @here {c.helpers.id and f'<@&{c.helpers.id}>'} {c.bob.mention} please"
    await c.alice.slash("checkin", channel=c.general, status="Stuck", note=note, share_with_helpers=True)
    [notice] = [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(c.queue.id)]
    message = notice.message
    assert not message.mention_everyone
    assert message.mention_roles == [] and message.mentions == []
    assert c.twin.role_mention_adds == []
