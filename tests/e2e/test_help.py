"""Private help requests end to end through the twin: /ask, the private thread, the queue card, claims, /close."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from demo.community import Community, final_answer
from twin.people import MessageView, Modal, Person
from twin.state import CREATE_PRIVATE_THREADS, PRIVATE_THREAD, Channel, Overwrite, Scope, ThreadMember

BODY = "Forty applications, two replies, and my confidence is shot before every recruiter call"
WANTS = "a mock interview this week"


async def ask(person: Person, c: Community, topic: str = "interviews", body: str = BODY, wants: str = WANTS) -> Any:
    modal = await person.slash("ask", channel=c.general, topic=topic)
    assert isinstance(modal, Modal), getattr(modal, "text", modal)
    return await final_answer(
        await person.submit_modal(modal, {"What's going on?": body, "What would help most?": wants})
    )


async def settled(check: Callable[[], bool], within: float = 3.0) -> None:
    """Wait for work the bot does after answering (archiving, card edits, DMs)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "the bot did not finish in time"
        await asyncio.sleep(0.02)


def help_threads(c: Community) -> list[Channel]:
    return [ch for ch in c.guild.threads() if ch.name.startswith("help-")]


def cards(c: Community) -> list[MessageView]:
    views = [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(c.queue.id)]
    return [v for v in views if v.embeds and not v.deleted]


def thread_messages(c: Community, thread: Channel) -> list[MessageView]:
    return [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(thread.id)]


async def test_ask_opens_a_private_thread_with_only_the_asker_and_a_nameless_queue_card(community: Community) -> None:
    c = community
    answer = await ask(c.alice, c)
    [thread] = help_threads(c)
    assert answer.ephemeral and f"<#{thread.id}>" in answer.content
    assert thread.type == PRIVATE_THREAD and thread.invitable is False
    assert thread.name == "help-1-interviews" and thread.parent_id == c.help.id
    humans = {uid for uid in thread.members if not c.twin.state.users[uid].bot}
    assert humans == {c.alice.id}
    opening = thread_messages(c, thread)[0]
    assert BODY in opening.text
    assert "you, the helpers who join to help, and server staff who hold Manage Threads" in opening.text
    assert [b["label"] for b in opening.buttons] == ["Close", "I'm still stuck"]
    [card] = cards(c)
    assert "Request #1 · Interviews" in card.text and WANTS in card.text and "<t:" in card.text
    assert "alice" not in card.text and str(c.alice.id) not in card.text and BODY not in card.text
    assert [b["label"] for b in card.buttons] == ["Claim", "Release"]


async def test_claim_adds_the_helper_and_close_by_the_asker_archives_locks_and_asks_for_feedback(
    community: Community,
) -> None:
    c = community
    await ask(c.alice, c)
    [thread] = help_threads(c)
    [card] = cards(c)
    answer = await c.helper.click(card, "Claim")
    assert f"<#{thread.id}>" in answer.content
    assert c.helper.id in thread.members
    assert any("joined to help" in m.content and c.helper.mention in m.content for m in thread_messages(c, thread))
    assert "Claimed by 1 helper" in card.text and c.helper.mention in card.text

    refused = await c.bob.slash("close", channel=c.general)
    assert refused.ephemeral and "inside a help thread" in refused.content

    closed = await c.alice.slash("close", channel=thread, note="Got what I needed")
    assert not closed.ephemeral and "Got what I needed" in closed.content
    await settled(lambda: thread.locked and bool(c.alice.dms()))
    assert thread.archived and thread.locked
    assert "Closed by the member" in card.text
    feedback = c.alice.dms()[-1]
    assert "Did this help?" in feedback.text
    assert {b["label"] for b in feedback.buttons} >= {"Yes, it helped", "No", "Reopen"}


async def test_close_by_someone_who_is_not_the_asker_a_claiming_helper_or_staff_is_refused(
    community: Community,
) -> None:
    c = community
    await ask(c.alice, c)
    [thread] = help_threads(c)
    # hugo is in the thread (say a moderator added him by hand) but never claimed it.
    c.twin.state.guilds[c.guild.id].channels[thread.id].members[c.helper2.id] = ThreadMember(c.helper2.id)
    refused = await c.helper2.click(thread_messages(c, thread)[0], "Close")
    assert refused.ephemeral and "Only the member who asked" in refused.content
    assert not thread.archived
    by_mod = await c.mod.slash("close", channel=thread)
    assert not by_mod.ephemeral
    await settled(lambda: thread.locked)


async def test_nobody_else_sees_a_word_of_the_request_and_no_role_is_mentioned_in_the_thread(
    community: Community,
) -> None:
    c = community
    c.helpers.mentionable = True
    await ask(c.alice, c)
    [card] = cards(c)
    await c.helper.click(card, "Claim")
    [thread] = help_threads(c)
    await c.alice.say(thread, "Here is the job description")
    c.clock.advance(timedelta(hours=5))
    await c.run_jobs()
    await c.alice.slash("close", channel=thread)
    await settled(lambda: thread.locked)
    words = {w.strip(",.").lower() for w in BODY.split() if len(w) > 6}  # the topic and "what would help" are
    # on the helpers' card by design; the member's own account of what's going on is not
    allowed = {c.alice, c.helper, c.mod, c.admin}  # admin owns the server: Manage Threads, like staff
    for person in c.members:
        if person in allowed:
            continue
        seen = " ".join(v.text for v in c.twin.visible_to(person)).lower()
        assert not [w for w in words if w in seen], person.name
        assert not any("help-1" in v.where for v in c.twin.visible_to(person))
    assert c.twin.state.role_mention_adds == []


async def test_a_second_request_waits_for_the_cooldown_and_a_third_is_over_the_limit(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    early = await c.alice.slash("ask", channel=c.general, topic="resume")
    assert not isinstance(early, Modal) and early.ephemeral and "You can open another" in early.content
    c.clock.advance(timedelta(minutes=11))
    await ask(c.alice, c, topic="resume")
    c.clock.advance(timedelta(minutes=11))
    over = await c.alice.slash("ask", channel=c.general, topic="offers")
    assert not isinstance(over, Modal) and "the most this server allows at once is 2" in over.content
    assert len(help_threads(c)) == 2


async def test_submitting_the_same_form_twice_opens_one_thread(community: Community) -> None:
    c = community
    modal = await c.alice.slash("ask", channel=c.general, topic="resume")
    values = {"What's going on?": BODY, "What would help most?": WANTS}
    first, second = await asyncio.gather(c.alice.submit_modal(modal, values), c.alice.submit_modal(modal, values))
    first, second = await final_answer(first), await final_answer(second)
    [thread] = help_threads(c)
    assert f"<#{thread.id}>" in first.content and f"<#{thread.id}>" in second.content
    assert len(cards(c)) == 1


async def test_second_click_on_claim_does_not_add_the_helper_twice(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    [card] = cards(c)
    [thread] = help_threads(c)
    await c.helper.click(card, "Claim")
    again = await c.helper.click(card, "Claim")
    assert "already helping" in again.content
    joined = [m for m in thread_messages(c, thread) if "joined to help" in m.content]
    assert len(joined) == 1 and "Claimed by 1 helper" in card.text
    refused = await c.mod.click(card, "Claim")
    assert refused.ephemeral and "helper role" in refused.content


async def test_release_takes_the_helper_out_and_puts_the_request_back_in_the_queue(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    [card] = cards(c)
    [thread] = help_threads(c)
    await c.helper.click(card, "Claim")
    released = await c.helper.click(card, "Release")
    assert released.ephemeral and "Released" in released.content
    assert c.helper.id not in thread.members and "Waiting for a helper" in card.text


async def test_unclaimed_request_is_asked_again_at_4_hours_then_with_moderators_and_never_closed(
    community: Community,
) -> None:
    c = community
    c.helpers.mentionable = c.mods.mentionable = True
    await ask(c.alice, c)
    [first] = cards(c)
    c.clock.advance(timedelta(hours=3, minutes=59))
    await c.run_jobs()
    assert [v.id for v in cards(c)] == [first.id]
    c.clock.advance(timedelta(minutes=2))
    await c.run_jobs()
    [second] = cards(c)
    assert first.deleted and second.id != first.id
    assert f"<@&{c.helpers.id}>" in second.content and second.message.mention_roles == [c.helpers.id]
    assert "helpers asked again" in second.text
    assert "asked the helpers again" in c.alice.dms()[-1].text
    c.clock.advance(timedelta(hours=21))
    await c.run_jobs()
    [third] = cards(c)
    assert set(third.message.mention_roles) == {c.helpers.id, c.mods.id}
    assert "moderators" in c.alice.dms()[-1].text
    c.clock.advance(timedelta(days=30))
    await c.run_jobs()
    [thread] = help_threads(c)
    assert not thread.archived and "Waiting for a helper" in cards(c)[0].text


async def test_a_quiet_claimed_thread_is_asked_if_sorted_then_closed(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    await c.helper.click(cards(c)[0], "Claim")
    [thread] = help_threads(c)
    c.clock.advance(timedelta(days=3, minutes=1))
    await c.run_jobs()
    [question] = [m for m in thread_messages(c, thread) if "Is this sorted?" in m.content]
    assert [b["label"] for b in question.buttons] == ["Resolved", "Still need help"]
    c.clock.advance(timedelta(days=2, minutes=1))
    await c.run_jobs()
    await settled(lambda: thread.locked)
    assert "Closed after a quiet spell" in cards(c)[0].text
    assert "Did this help?" in c.alice.dms()[-1].text


async def test_still_need_help_keeps_a_quiet_thread_open(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    await c.helper.click(cards(c)[0], "Claim")
    [thread] = help_threads(c)
    c.clock.advance(timedelta(days=3, minutes=1))
    await c.run_jobs()
    [question] = [m for m in thread_messages(c, thread) if "Is this sorted?" in m.content]
    await c.alice.click(question, "Still need help")
    c.clock.advance(timedelta(days=2, minutes=1))
    await c.run_jobs()
    assert not thread.locked and "Claimed by 1 helper" in cards(c)[0].text


async def test_feedback_thank_you_reaches_the_helper_and_the_asker_can_reopen(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    await c.helper.click(cards(c)[0], "Claim")
    [thread] = help_threads(c)
    await c.alice.slash("close", channel=thread)
    await settled(lambda: thread.locked and bool(c.alice.dms()))
    dm = c.alice.dms()[-1]
    await c.alice.click(dm, "Yes, it helped")
    form = await c.alice.click(dm, "Send a thank-you")
    assert isinstance(form, Modal)
    sent = await c.alice.submit_modal(form, {"thanks": "Thank you, the mock interview helped so much"})
    assert "Sent to 1 helper" in sent.content
    assert "the mock interview helped so much" in c.helper.dms()[-1].text
    reopened = await c.alice.click(dm, "Reopen")
    assert "Reopened" in reopened.content
    assert not thread.archived and not thread.locked
    assert "Claimed by 1 helper" in cards(c)[0].text


async def test_missing_create_private_threads_keeps_the_request_and_opens_it_once_fixed(
    community: Community,
) -> None:
    c = community
    bot_role = next(r for r in c.guild.roles.values() if r.bot_id == c.app.bot.id)
    deny = Overwrite(bot_role.id, 0, 0, CREATE_PRIVATE_THREADS)
    c.help.overwrites.append(deny)
    c.twin.state.emit("CHANNEL_UPDATE", c.help.payload(), Scope(1, c.guild.id, c.help.id))
    await asyncio.sleep(0.1)
    answer = await ask(c.alice, c)
    assert "Create Private Threads" in answer.content and "nothing is lost" in answer.content
    assert help_threads(c) == []
    assert "Waiting for its private thread" in cards(c)[0].text
    c.help.overwrites.remove(deny)
    c.twin.state.emit("CHANNEL_UPDATE", c.help.payload(), Scope(1, c.guild.id, c.help.id))
    await settled(lambda: bool(help_threads(c)) and bool(c.alice.dms()))
    [thread] = help_threads(c)
    assert BODY in thread_messages(c, thread)[0].text and f"<#{thread.id}>" in c.alice.dms()[-1].text
    await settled(lambda: "Waiting for a helper" in cards(c)[0].text)


async def test_a_thread_deleted_by_a_moderator_closes_the_request_and_the_card_says_so(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    [thread] = help_threads(c)
    c.guild.channels.pop(thread.id)
    data = {"id": str(thread.id), "guild_id": str(c.guild.id), "parent_id": str(c.help.id), "type": thread.type}
    c.twin.state.emit("THREAD_DELETE", data, Scope(1, c.guild.id))
    await settled(lambda: "the thread was deleted" in cards(c)[0].text and bool(c.alice.dms()))
    assert "removed by the server's staff" in c.alice.dms()[-1].text


async def test_a_thread_archived_and_locked_by_a_moderator_closes_the_request(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    [thread] = help_threads(c)
    thread.archived = thread.locked = True
    c.twin.emit_thread_update(thread)
    await settled(lambda: "Closed by a moderator" in cards(c)[0].text)


async def test_when_the_asker_leaves_reconciliation_closes_their_request(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    [thread] = help_threads(c)
    c.twin.leave(c.guild, c.alice)
    assert c.bot is not None
    await c.bot.get_cog("Help").desk.reconcile()  # type: ignore[union-attr]
    assert "the member left the server" in cards(c)[0].text
    assert thread.archived and thread.locked


async def test_a_helper_who_lost_the_role_is_released_at_reconciliation(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    await c.helper.click(cards(c)[0], "Claim")
    [thread] = help_threads(c)
    c.twin.remove_role(c.guild, c.helper, c.helpers)
    await c.restart()  # the start-up pass
    await settled(lambda: c.helper.id not in thread.members)
    await settled(lambda: "Waiting for a helper" in cards(c)[0].text)


async def test_the_checkin_button_opens_the_help_form(community: Community) -> None:
    c = community
    answer = await c.alice.slash("checkin", channel=c.general, status="stuck")
    form = await c.alice.click(answer, "Ask for help privately")
    assert isinstance(form, Modal)
    await final_answer(await c.alice.submit_modal(form, {"Topic": ["resume"], "What's going on?": BODY}))
    [thread] = help_threads(c)
    assert thread.name == "help-1-resume"


async def test_help_queue_lists_open_requests_for_helpers_only(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    listing = await c.helper.slash("help-queue", channel=c.general)
    assert "#1" in listing.text and "Waiting for a helper" in listing.text and BODY not in listing.text
    refused = await c.bob.slash("help-queue", channel=c.general)
    assert "helpers and moderators" in refused.content


async def test_ask_before_setup_tells_the_member_help_is_not_set_up(unconfigured: Community) -> None:
    answer = await unconfigured.alice.slash("ask", channel=unconfigured.general, topic="resume")
    assert not isinstance(answer, Modal) and answer.ephemeral and "aren't set up" in answer.content
