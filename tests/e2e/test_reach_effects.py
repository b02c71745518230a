"""A check-in's notice and a reach-out's thread happen exactly once when Discord fails around them (a 5xx after the
work was done, which discord.py retries; a 503 before it), and a thread that cannot be opened gives the reach-out
back instead of losing it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from demo.community import Community
from tests.e2e.test_checkins import checkin, labels, queue_messages, threads_named
from twin.people import MessageView
from twin.state import CREATE_PRIVATE_THREADS, SEND_MESSAGES, Channel, Overwrite, Scope

THREADS = "/channels/{channel_id}/threads"
MESSAGES = "/channels/{channel_id}/messages"
NOTE = "my-shared-note-about-interviews"


def messages_in(c: Community, thread: Channel) -> list[MessageView]:
    return [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(thread.id) if not m.deleted]


async def test_a_503_on_the_notice_saves_the_checkin_and_posts_the_notice_once_discord_recovers(
    community: Community,
) -> None:
    c = community
    c.twin.faults.server_error("POST", f"/channels/{c.queue.id}/messages", 503)
    answer = await checkin(c, c.alice, "Stuck", note=NOTE, share_with_helpers=True)
    assert "without your name" in answer.text and "may take a minute" in answer.text
    assert queue_messages(c) == []
    c.clock.advance(timedelta(seconds=31))  # the effects job's retry
    await c.run_jobs()
    [notice] = queue_messages(c)
    assert NOTE in notice.text and labels(notice) == ["I'll reach out"]
    c.clock.advance(timedelta(hours=1))
    await c.run_jobs()
    assert len(queue_messages(c)) == 1


async def test_a_502_after_the_notice_and_the_opening_were_made_never_shows_them_twice(community: Community) -> None:
    c = community
    first = c.twin.faults.server_error_after("POST", f"/channels/{c.queue.id}/messages", 502)
    await checkin(c, c.alice, "Stuck", note=NOTE, share_with_helpers=True)
    assert first.fired == 1
    [notice] = queue_messages(c)
    second = c.twin.faults.server_error_after("POST", MESSAGES, 502)
    thread_fault = c.twin.faults.server_error_after("POST", THREADS, 500)
    answer = await c.helper.click(notice, "I'll reach out")
    assert second.fired == 1 and thread_fault.fired == 1  # Discord made a second thread behind the failed response
    [thread] = threads_named(c, "reach-out-")  # the duplicate was removed, the first kept
    assert f"<#{thread.id}>" in answer.text
    [opening] = messages_in(c, thread)
    assert NOTE in opening.text and "Who can see it" in opening.text
    assert set(thread.members) == {c.app.bot.id, c.alice.id, c.helper.id}
    assert f"Taken by <@{c.helper.id}>" in notice.text and NOTE not in notice.text
    assert c.helper.dms() == []  # told in the answer


async def test_a_reach_out_thread_discord_is_slow_to_open_is_opened_later_and_the_helper_is_dmed_once(
    community: Community,
) -> None:
    c = community
    await checkin(c, c.alice, "In a rut", share_with_helpers=True)
    [notice] = queue_messages(c)
    c.twin.faults.server_error("POST", THREADS, 503)
    answer = await c.helper.click(notice, "I'll reach out")
    assert "it's yours" in answer.text and "DM you the link" in answer.text
    assert threads_named(c, "reach-out-") == []
    again = await c.helper2.click(notice, "I'll reach out")
    assert "Another helper already took this one" in again.text  # the claim holds while Discord recovers
    c.clock.advance(timedelta(seconds=31))
    await c.run_jobs()
    [thread] = threads_named(c, "reach-out-")
    assert len(messages_in(c, thread)) == 1 and "Taken by" in notice.text
    [dm] = c.helper.dms()
    assert f"<#{thread.id}>" in dm.text
    c.clock.advance(timedelta(hours=1))
    await c.run_jobs()
    assert len(threads_named(c, "reach-out-")) == 1 and len(c.helper.dms()) == 1


async def test_a_reach_out_for_a_member_who_left_gives_the_claim_back_and_leaves_no_thread(
    community: Community,
) -> None:
    c = community
    await checkin(c, c.alice, "Stuck", note=NOTE, share_with_helpers=True)
    [notice] = queue_messages(c)
    c.twin.leave(c.guild, c.alice)
    answer = await c.helper.click(notice, "I'll reach out")
    assert answer.ephemeral and "may have left the server" in answer.text
    assert threads_named(c, "reach-out-") == []  # the half-made thread was removed
    assert labels(notice) == ["I'll reach out"] and "Taken by" not in notice.text
    assert c.helper.dms() == []


async def test_a_missing_thread_permission_refuses_before_taking_and_the_notice_stays_takeable(
    community: Community,
) -> None:
    c = community
    await checkin(c, c.alice, "Stuck", share_with_helpers=True)
    [notice] = queue_messages(c)
    bot_role = next(r for r in c.guild.roles.values() if r.bot_id == c.app.bot.id)
    deny = Overwrite(bot_role.id, 0, 0, CREATE_PRIVATE_THREADS)
    c.help.overwrites.append(deny)
    c.twin.state.emit("CHANNEL_UPDATE", c.help.payload(), Scope(1, c.guild.id, c.help.id))
    await asyncio.sleep(0.1)
    refused = await c.helper.click(notice, "I'll reach out")
    assert refused.ephemeral and "Create Private Threads" in refused.text and "stays open" in refused.text
    assert labels(notice) == ["I'll reach out"] and threads_named(c, "reach-out-") == []
    c.help.overwrites.remove(deny)
    c.twin.state.emit("CHANNEL_UPDATE", c.help.payload(), Scope(1, c.guild.id, c.help.id))
    await asyncio.sleep(0.1)
    taken = await c.helper2.click(notice, "I'll reach out")
    assert "private thread is open" in taken.text and len(threads_named(c, "reach-out-")) == 1


async def test_a_queue_the_bot_cannot_post_in_tells_the_member_nothing_was_posted_and_keeps_the_checkin(
    community: Community,
) -> None:
    c = community
    bot_role = next(r for r in c.guild.roles.values() if r.bot_id == c.app.bot.id)
    c.queue.overwrites.append(Overwrite(bot_role.id, 0, 0, SEND_MESSAGES))
    c.twin.state.emit("CHANNEL_UPDATE", c.queue.payload(), Scope(1, c.guild.id, c.queue.id))
    await asyncio.sleep(0.1)
    answer = await checkin(c, c.alice, "Stuck", note=NOTE, share_with_helpers=True)
    assert "couldn't post in the helper queue" in answer.text and "check-in itself is saved" in answer.text
    assert queue_messages(c) == []
    c.clock.advance(timedelta(hours=1))
    await c.run_jobs()
    assert queue_messages(c) == []  # refused for good: not retried into a surprise post later
    c.twin.assert_only_visible_to(NOTE, allowed=[c.alice])
