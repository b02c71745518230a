"""Anonymous asks end to end through the twin (issue 14 §1): the thread opens without the asker, helpers' replies
reach her by DM and hers reach the thread as "Member: …", nobody but her learns who asked until she shows her name,
and a moderator's look-up is audited and told to her."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from demo.community import Community, final_answer
from services.help_requests import RevealRefused
from storage import guilds, help_relays
from tests.e2e.test_help import BODY, WANTS, ask, cards, help_threads, settled, thread_messages
from tests.e2e.test_privacy import scan_database
from twin.people import MessageView, Modal, Person
from twin.state import CREATE_PRIVATE_THREADS, Channel, Overwrite, Scope

HELPER_WORDS = "Could you tell me which role the interview is for?"
HER_WORDS = "Product analyst, second round on Friday"


def bot(c: Community) -> Any:
    assert c.bot is not None
    return c.bot


async def ask_anonymously(
    person: Person, c: Community, topic: str = "interviews", body: str = BODY, wants: str = WANTS
) -> Any:
    modal = await person.slash("ask", channel=c.general, topic=topic, anonymous=True)
    assert isinstance(modal, Modal), getattr(modal, "text", modal)
    return await final_answer(
        await person.submit_modal(modal, {"What's going on?": body, "What would help most?": wants})
    )


def humans_in(c: Community, thread: Channel) -> set[int]:
    return {uid for uid in thread.members if not c.twin.state.users[uid].bot}


def desk_dm(person: Person) -> MessageView:
    return next(dm for dm in person.dms() if "anonymous** help request" in dm.text)


async def claimed_anonymous_request(c: Community) -> Channel:
    await ask_anonymously(c.alice, c)
    await c.helper.click(cards(c)[0], "Claim")
    [thread] = help_threads(c)
    return thread


async def reply_in_thread(c: Community, helper: Person, thread: Channel, text: str) -> Any:
    return await helper.slash("reply", channel=thread, text=text)


async def her_reply(c: Community, text: str, **options: Any) -> MessageView:
    sent = await c.alice.dm(c.app, text, **options)
    return sent


def member_posts(c: Community, thread: Channel) -> list[MessageView]:
    return [m for m in thread_messages(c, thread) if m.content.startswith("**Member:**")]


# --- opening ----------------------------------------------------------------------------------------------------------


async def test_an_anonymous_ask_opens_the_thread_without_her_and_tells_her_by_dm_how_replies_reach_her(
    community: Community,
) -> None:
    c = community
    answer = await ask_anonymously(c.alice, c)
    [thread] = help_threads(c)
    assert answer.ephemeral and "anonymous request #1 is open" in answer.content
    assert f"<#{thread.id}>" not in answer.content  # she can't open it anyway
    assert humans_in(c, thread) == set()
    opening = thread_messages(c, thread)[0]
    assert "**anonymous** request **#1**" in opening.text and BODY in opening.text
    assert "Reply to member" in opening.text and "“Member: …”" in opening.text
    assert [b["label"] for b in opening.buttons] == ["Reply to member", "Close"]
    [card] = cards(c)
    assert "Anonymous" in card.text and "alice" not in card.text and str(c.alice.id) not in card.text
    dm = desk_dm(c.alice)
    assert "Helpers see what you wrote — not your name" in dm.text
    assert [b["label"] for b in dm.buttons] == ["Close", "Show my name"]
    assert len(c.alice.dms()) == 1  # no second "your thread is ready" DM


async def test_the_checkin_form_offers_to_hide_her_name(community: Community) -> None:
    c = community
    answer = await c.alice.slash("checkin", channel=c.general, status="stuck")
    form = await c.alice.click(answer, "Ask for help privately")
    assert isinstance(form, Modal) and any(cid == "anonymous" for cid in (i["custom_id"] for _, i in form.inputs))
    await final_answer(
        await c.alice.submit_modal(
            form, {"Topic": ["resume"], "What's going on?": BODY, "Your name": ["Don't show my name to helpers"]}
        )
    )
    [thread] = help_threads(c)
    assert humans_in(c, thread) == set() and "**anonymous**" in thread_messages(c, thread)[0].text


async def test_with_anonymous_asks_off_the_option_is_refused_and_the_checkin_form_does_not_offer_it(
    community: Community,
) -> None:
    c = community
    async with bot(c).db.transaction() as conn:
        await guilds.update_settings(conn, guild_id=c.guild.id, changes={"anonymous_asks": False}, now=c.clock.now())
    refused = await c.alice.slash("ask", channel=c.general, topic="resume", anonymous=True)
    assert not isinstance(refused, Modal) and "hasn't turned on anonymous asks" in refused.content
    answer = await c.alice.slash("checkin", channel=c.general, status="stuck")
    form = await c.alice.click(answer, "Ask for help privately")
    assert isinstance(form, Modal) and "anonymous" not in {i["custom_id"] for _, i in form.inputs}


# --- the whole flow ---------------------------------------------------------------------------------------------------


async def test_replies_travel_both_ways_and_she_closes_reopens_and_rates_from_her_dms(community: Community) -> None:
    c = community
    thread = await claimed_anonymous_request(c)
    assert humans_in(c, thread) == {c.helper.id}
    joined = next(m for m in thread_messages(c, thread) if "joined to help" in m.text)
    assert c.alice.mention not in joined.content

    sent = await reply_in_thread(c, c.helper, thread, HELPER_WORDS)
    assert not sent.ephemeral and HELPER_WORDS in sent.text and "replied to the member" in sent.text
    relayed = c.alice.dms()[-1]
    assert HELPER_WORDS in relayed.text and "#1" in relayed.text and "**hana** (helper)" in relayed.text

    await her_reply(c, f"{HER_WORDS} <@{c.bob.id}> @everyone")
    await settled(lambda: bool(member_posts(c, thread)) and "Passed on" in c.alice.dms()[-1].text)
    [posted] = member_posts(c, thread)
    assert HER_WORDS in posted.text and posted.message.mentions == [] and not posted.message.mention_everyone
    assert f"<@{c.bob.id}>" not in posted.content  # neutralised

    # The Reply to member form does the same as /reply.
    form = await c.helper.click(thread_messages(c, thread)[0], "Reply to member")
    assert isinstance(form, Modal)
    await c.helper.submit_modal(form, {"text": "Great, let's do a mock on Thursday"})
    assert "mock on Thursday" in c.alice.dms()[-1].text

    # A bystander helper who did not claim it cannot reply.
    outsider = await c.helper2.slash("reply", channel=c.general, text="hi")
    assert outsider.ephemeral and "works inside the thread" in outsider.content

    closed = await c.alice.click(desk_dm(c.alice), "Close")
    assert closed.ephemeral and "Closed request #1" in closed.content
    await settled(lambda: thread.locked and any("Did this help?" in dm.text for dm in c.alice.dms()))
    assert any(m.content == "🔒 The member closed this request." for m in thread_messages(c, thread))
    assert "Closed by the member" in cards(c)[0].text
    feedback = next(dm for dm in c.alice.dms() if "Did this help?" in dm.text)
    await c.alice.click(feedback, "Yes, it helped")
    reopened = await c.alice.click(feedback, "Reopen")
    assert "Reopened" in reopened.content and not thread.archived
    assert humans_in(c, thread) == {c.helper.id}  # reopening does not add her


async def test_with_two_anonymous_requests_a_reply_to_a_relayed_dm_picks_the_request_otherwise_she_is_asked(
    community: Community,
) -> None:
    c = community
    first = await claimed_anonymous_request(c)
    c.clock.advance(timedelta(minutes=11))
    await ask_anonymously(c.alice, c, topic="resume")
    second = next(t for t in help_threads(c) if t.name.startswith("help-2-"))
    await c.helper2.click(next(card for card in cards(c) if "Request #2" in card.text), "Claim")
    await reply_in_thread(c, c.helper2, second, "Which CV version should I look at?")
    on_second = c.alice.dms()[-1]

    await her_reply(c, "The newest one")
    await settled(lambda: "Which one is this for?" in c.alice.dms()[-1].text)
    assert "#1, #2" in c.alice.dms()[-1].text and member_posts(c, first) == member_posts(c, second) == []

    await her_reply(c, "The newest one, from Monday", reply_to=on_second)
    await settled(lambda: bool(member_posts(c, second)))
    assert "from Monday" in member_posts(c, second)[0].text and member_posts(c, first) == []

    await her_reply(c, "And for the first one: Friday", reply_to=desk_dm(c.alice))  # her first request's DM
    await settled(lambda: bool(member_posts(c, first)))
    assert "Friday" in member_posts(c, first)[0].text


async def test_attachments_are_refused_with_a_message_and_nothing_reaches_the_thread(community: Community) -> None:
    c = community
    thread = await claimed_anonymous_request(c)
    await her_reply(c, "here is my CV", files={"cv.txt": b"Alice Example, alice@example.com"})
    await settled(lambda: "can't pass on files" in c.alice.dms()[-1].text)
    assert member_posts(c, thread) == []
    c.twin.assert_only_visible_to("alice@example.com", allowed=[c.alice])


async def test_a_member_without_an_anonymous_request_who_dms_the_bot_is_told_how_to_ask(community: Community) -> None:
    c = community
    await c.bob.dm(c.app, "hello?")
    await settled(lambda: "no open anonymous help request" in c.bob.dms()[-1].text)


# --- idle and escalation ----------------------------------------------------------------------------------------------


async def test_the_idle_question_goes_to_her_by_dm_and_escalation_dms_her_without_a_thread_link(
    community: Community,
) -> None:
    c = community
    c.helpers.mentionable = True
    await ask_anonymously(c.alice, c)
    [thread] = help_threads(c)
    c.clock.advance(timedelta(hours=4, minutes=1))
    await c.run_jobs()
    escalated = c.alice.dms()[-1]
    assert "asked the helpers again" in escalated.text and f"<#{thread.id}>" not in escalated.text
    await c.helper.click(cards(c)[0], "Claim")
    c.clock.advance(timedelta(days=3, minutes=1))
    await c.run_jobs()
    question = c.alice.dms()[-1]
    assert "Is this sorted?" in question.text
    assert not any("Is this sorted?" in m.text for m in thread_messages(c, thread))
    await c.alice.click(question, "Resolved")
    await settled(lambda: thread.locked)
    assert any(m.content == "🔒 The member closed this request." for m in thread_messages(c, thread))


# --- showing her name ---------------------------------------------------------------------------------------------


async def test_she_can_show_her_name_after_confirming_and_joins_the_thread(community: Community) -> None:
    c = community
    thread = await claimed_anonymous_request(c)
    prompt = await c.alice.click(desk_dm(c.alice), "Show my name")
    assert prompt.ephemeral and "can't be undone" in prompt.text and humans_in(c, thread) == {c.helper.id}
    done = await c.alice.click(prompt, "Yes, show my name")
    assert f"<#{thread.id}>" in done.content
    assert c.alice.id in thread.members
    assert any(c.alice.mention in m.content and "show their name" in m.content for m in thread_messages(c, thread))
    assert "Anonymous" not in cards(c)[0].text
    again = await c.alice.click(desk_dm(c.alice), "Show my name")
    assert "already see your name" in again.content
    with pytest.raises(RevealRefused):  # never the other way round: nobody else can show her name
        await bot(c).services.help_requests.reveal_self(1, c.helper.id)


async def test_a_moderator_reveal_needs_a_reason_is_audited_and_she_is_told(community: Community) -> None:
    c = community
    thread = await claimed_anonymous_request(c)
    refused = await c.helper.slash("reveal", channel=thread, reason="curious")
    assert refused.ephemeral and "Only moderators" in refused.content
    revealed = await c.mod.slash("reveal", channel=thread, reason="Threats posted in the thread")
    assert revealed.ephemeral and c.alice.mention in revealed.content and "audit list" in revealed.content
    told = c.alice.dms()[-1]
    assert "looked up who asked" in told.text and "Threats posted in the thread" in told.text
    [audit] = await bot(c).services.help_requests.reveals(c.guild.id)
    assert audit.moderator_id == c.mod.id and audit.reason == "Threats posted in the thread"
    assert humans_in(c, thread) == {c.helper.id}  # the helpers still don't know
    assert not any(c.alice.mention in v.text or "alice" in v.text for v in c.twin.visible_to(c.helper))
    export = json.loads((await c.alice.slash("privacy export", channel=c.general)).attachments[0].data)
    assert export["help_reveals"][0]["about"] == "your_request"
    assert export["help_reveals"][0]["reason"] == "Threats posted in the thread"
    assert export["help_requests"][0]["anonymous"] is True
    mod_export = json.loads((await c.mod.slash("privacy export", channel=c.general)).attachments[0].data)
    assert [r["about"] for r in mod_export["help_reveals"]] == ["by_you"]
    settings = await c.admin.slash("setup settings", channel=c.general)  # the audit list the admins see
    assert settings.ephemeral and "Anonymous askers revealed by moderators" in settings.text
    assert f"<@{c.mod.id}>: request #1 — Threats posted in the thread" in settings.text
    assert c.alice.mention not in settings.text and str(c.alice.id) not in settings.text


# --- privacy ----------------------------------------------------------------------------------------------------------


async def test_nobody_a_helper_can_see_names_her_and_her_words_reach_only_the_threads_viewers(
    community: Community,
) -> None:
    c = community
    thread = await claimed_anonymous_request(c)
    await reply_in_thread(c, c.helper, thread, HELPER_WORDS)
    await her_reply(c, HER_WORDS)
    await settled(lambda: bool(member_posts(c, thread)))
    c.clock.advance(timedelta(days=3, minutes=1))
    await c.run_jobs()  # the idle question
    await c.alice.click(desk_dm(c.alice), "Close")
    await settled(lambda: thread.locked and any("Did this help?" in dm.text for dm in c.alice.dms()))

    marks = ("alice", str(c.alice.id), c.alice.mention, f"<@!{c.alice.id}>")
    for person in c.members:
        if person == c.alice:
            continue
        for seen in c.twin.visible_to(person):
            assert not [m for m in marks if m in seen.text], (person.name, seen.where, seen.text)
            assert seen.message.author.id != c.alice.id, (person.name, seen.where)  # nothing she wrote, as her
    # Her own words: the thread's legitimate viewers (the claiming helper, staff with Manage Threads) and her.
    for words in (HER_WORDS, BODY):
        c.twin.assert_only_visible_to(words, allowed=[c.alice, c.helper, c.mod, c.admin])

    # Showing her name is hers to do: then, and only then, the helpers see it.
    await c.alice.click(feedback_dm(c), "Reopen")
    done = await c.alice.click(await c.alice.click(desk_dm(c.alice), "Show my name"), "Yes, show my name")
    assert f"<#{thread.id}>" in done.content
    assert any(c.alice.mention in v.text for v in c.twin.visible_to(c.helper))


def feedback_dm(c: Community) -> MessageView:
    return next(dm for dm in c.alice.dms() if "Did this help?" in dm.text)


async def test_privacy_delete_of_an_anonymous_request_closes_it_and_keeps_none_of_her_words(
    community: Community,
) -> None:
    c = community
    thread = await claimed_anonymous_request(c)
    await reply_in_thread(c, c.helper, thread, HELPER_WORDS)
    await her_reply(c, HER_WORDS)
    await settled(lambda: bool(member_posts(c, thread)))
    await c.mod.slash("reveal", channel=thread, reason="Checking a report")
    prompt = await c.alice.slash("privacy delete", channel=c.general)
    done = await c.alice.click(prompt, "Delete everything")
    assert "Done" in done.text
    await settled(lambda: thread.archived and thread.locked)
    assert scan_database(str(c.database_path), c.alice.id, (HER_WORDS, BODY, WANTS, HELPER_WORDS)) == []
    async with bot(c).db.transaction() as conn:
        relays = await help_relays.relays_of(conn, 1)
    assert len(relays) == 2 and all(r.text is None for r in relays)
    [audit] = await bot(c).services.help_requests.reveals(c.guild.id)
    assert audit.moderator_id == c.mod.id  # the moderator's look-up stays in the audit list, without her
    # What Porchlight posted in the thread with her words was taken down; what she typed herself (her DM) stays hers.
    assert member_posts(c, thread) == []
    c.twin.assert_only_visible_to(HER_WORDS, allowed=[c.alice])
    refused = await c.alice.dm(c.app, "are you there?")
    assert refused is not None
    await settled(lambda: "no open anonymous help request" in c.alice.dms()[-1].text)


# --- a restart in the middle of a relay -------------------------------------------------------------------------------


async def test_a_relay_that_discord_refused_before_a_restart_is_delivered_once_after_it(community: Community) -> None:
    c = community
    thread = await claimed_anonymous_request(c)
    dm_channel = c.twin.state.dm_channel(c.alice.user, c.app.bot)
    c.twin.faults.server_error("POST", f"/channels/{dm_channel.id}/messages", 503, times=None)
    sent = await reply_in_thread(c, c.helper, thread, HELPER_WORDS)
    assert "saved and goes out by DM in a moment" in sent.content
    assert not any(HELPER_WORDS in dm.text for dm in c.alice.dms())
    async with bot(c).db.transaction() as conn:
        [held] = await help_relays.relays_of(conn, 1)
    assert held.text == HELPER_WORDS and held.delivered_at is None  # held until delivered, and only that long
    c.twin.faults.clear()
    await c.restart()
    await settled(lambda: any(HELPER_WORDS in dm.text for dm in c.alice.dms()), within=10)
    assert sum(HELPER_WORDS in dm.text for dm in c.alice.dms()) == 1
    async with asyncio.timeout(10):  # the delivery is recorded once Discord answered the DM, a moment after she sees it
        while True:
            async with bot(c).db.transaction() as conn:
                [done] = await help_relays.relays_of(conn, 1)
            if done.message_id is not None:
                break
            await asyncio.sleep(0.02)
    assert done.text is None  # the words are dropped once delivered
    # Her reply to that DM finds the request after the restart.
    await her_reply(c, HER_WORDS, reply_to=next(dm for dm in c.alice.dms() if HELPER_WORDS in dm.text))
    await settled(lambda: bool(member_posts(c, thread)))


async def test_a_dm_posted_by_discord_behind_a_502_reaches_the_thread_once(community: Community) -> None:
    c = community
    thread = await claimed_anonymous_request(c)
    fault = c.twin.faults.server_error_after("POST", f"/channels/{thread.id}/messages", 502)
    await her_reply(c, HER_WORDS)
    await settled(lambda: bool(member_posts(c, thread)) and "Passed on" in c.alice.dms()[-1].text)
    await asyncio.sleep(0.2)
    assert fault.fired == 1 and len(member_posts(c, thread)) == 1


async def test_a_reply_to_a_member_whose_dms_are_closed_is_not_kept_and_the_thread_is_told(
    community: Community,
) -> None:
    c = community
    thread = await claimed_anonymous_request(c)
    c.twin.close_dms(c.alice, c.guild)
    sent = await reply_in_thread(c, c.helper, thread, HELPER_WORDS)
    assert not sent.ephemeral and "DMs are closed" in sent.content and HELPER_WORDS not in sent.text
    async with bot(c).db.transaction() as conn:
        [relay] = await help_relays.relays_of(conn, 1)
    assert relay.text is None and relay.message_id is None


async def test_a_flood_of_dms_is_passed_on_up_to_the_hourly_guard_then_refused(community: Community) -> None:
    c = community
    thread = await claimed_anonymous_request(c)
    for n in range(30):
        await her_reply(c, f"message {n}")
    await settled(lambda: len(member_posts(c, thread)) == 30, within=10)
    await her_reply(c, "message 30")
    await settled(lambda: any("the most I pass on" in dm.text for dm in c.alice.dms()))
    assert len(member_posts(c, thread)) == 30
    c.clock.advance(timedelta(hours=1, minutes=1))
    await her_reply(c, "an hour later")
    await settled(lambda: any("an hour later" in m.text for m in member_posts(c, thread)))


async def test_a_server_that_shows_askers_on_cards_still_never_names_an_anonymous_one(community: Community) -> None:
    c = community
    async with bot(c).db.transaction() as conn:
        await guilds.update_settings(
            conn, guild_id=c.guild.id, changes={"show_asker_in_queue": True}, now=c.clock.now()
        )
    await ask_anonymously(c.bob, c)
    [card] = cards(c)
    assert "Asked by" not in card.text and c.bob.mention not in card.text and "Anonymous" in card.text
    await c.bob.click(desk_dm(c.bob), "Show my name")  # the confirmation only: nothing changes yet
    assert c.bob.mention not in cards(c)[0].text


async def test_when_an_anonymous_asker_leaves_the_card_does_not_say_so(community: Community) -> None:
    c = community
    await claimed_anonymous_request(c)
    c.twin.leave(c.guild, c.alice)
    await bot(c).get_cog("Help").desk.reconcile()
    [card] = cards(c)
    assert "Status\nClosed\n" in card.text
    assert "left" not in card.text  # next to the server's leave notice, that would name her


async def test_an_anonymous_ask_waiting_for_a_permission_dms_her_once_the_thread_opens(community: Community) -> None:
    c = community
    bot_role = next(r for r in c.guild.roles.values() if r.bot_id == c.app.bot.id)
    deny = Overwrite(bot_role.id, 0, 0, CREATE_PRIVATE_THREADS)
    c.help.overwrites.append(deny)
    c.twin.state.emit("CHANNEL_UPDATE", c.help.payload(), Scope(1, c.guild.id, c.help.id))
    await settled(lambda: bool(bot(c).get_channel(c.help.id).overwrites))
    answer = await ask_anonymously(c.alice, c)
    assert "nothing is lost" in answer.content and "I'll DM you when it's open" in answer.content
    assert help_threads(c) == [] and c.alice.dms() == []
    c.help.overwrites.remove(deny)
    c.twin.state.emit("CHANNEL_UPDATE", c.help.payload(), Scope(1, c.guild.id, c.help.id))
    await settled(lambda: bool(help_threads(c)) and bool(c.alice.dms()))
    [thread] = help_threads(c)
    assert humans_in(c, thread) == set() and "anonymous** help request #1" in c.alice.dms()[-1].text


async def test_a_reply_to_a_closed_requests_dm_is_refused_with_how_to_reopen_and_reveal_needs_an_anonymous_thread(
    community: Community,
) -> None:
    c = community
    thread = await claimed_anonymous_request(c)
    await reply_in_thread(c, c.helper, thread, HELPER_WORDS)
    await settled(lambda: any(HELPER_WORDS in dm.text for dm in c.alice.dms()))
    relayed = next(dm for dm in c.alice.dms() if HELPER_WORDS in dm.text)
    await c.helper.slash("close", channel=thread)
    await settled(lambda: thread.locked)
    await her_reply(c, "one more thing", reply_to=relayed)

    def refusals() -> list[str]:  # other DMs (the closing's) may arrive in any order around it
        return [dm.text for dm in c.alice.dms() if "is closed, so your message was not sent" in dm.text]

    await settled(lambda: bool(refusals()))
    assert "Reopen" in refusals()[0] and member_posts(c, thread) == []

    outside = await c.mod.slash("reveal", channel=c.general, reason="checking")
    assert "works inside the thread of an anonymous help request" in outside.content
    await ask(c.bob, c)
    named = next(t for t in help_threads(c) if t.name.startswith("help-2-"))
    refused = await c.mod.slash("reveal", channel=named, reason="checking")
    assert refused.ephemeral and "isn't anonymous" in refused.content
    assert await bot(c).services.help_requests.reveals(c.guild.id) == []
