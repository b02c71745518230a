"""What Porchlight posted with a member's words or name is taken down when she deletes her data (/privacy delete)
and when her data is purged after she left: her requests' queue cards (open or closed) and escalation re-posts go,
the bot's messages in her help and reach-out threads (the opening with her request or note, "joined to help", the
closing note with her words) become a neutral line, her reach-out notices go, and lines naming her as a helper are
neutralised. Messages members typed themselves stay. Proved by what every member can see, and by the every-table
scan of the database."""

from __future__ import annotations

from datetime import timedelta

from demo.community import Community
from services.takedowns import NEUTRAL
from tests.e2e.test_checkins import queue_messages, threads_named
from tests.e2e.test_help import ask, cards, help_threads, settled, thread_messages
from tests.e2e.test_privacy import daily, scan_database
from twin.people import Person

BODY = "alice-body-my-portfolio-is-a-mess"
WANTS = "alice-wants-someone-to-skim-it"
CLOSE_NOTE = "alice-close-note-sorted-thanks"
SHARED = "alice-shared-note-lost-my-nerve"
TYPED = "alice-typed-this-herself"
HELPER_TYPED = "helper-typed-this-himself"
BOB_BODY = "bob-body-cover-letters"
ALICE_WORDS = (BODY, WANTS, CLOSE_NOTE, SHARED)


async def give_alice_posts(c: Community) -> None:
    """A closed request (claimed, talked in, closed with a note), a shared check-in taken as a reach-out, and, as a
    helper, a claim on bob's request."""
    await ask(c.alice, c, body=BODY, wants=WANTS)
    await c.helper.click(cards(c)[0], "Claim")
    [thread] = help_threads(c)
    await c.alice.say(c.twin.state.channel(thread.id), TYPED)
    await c.helper.say(c.twin.state.channel(thread.id), HELPER_TYPED)
    await c.alice.slash("close", channel=thread, note=CLOSE_NOTE)
    await settled(lambda: thread.locked and WANTS in cards(c)[0].text)  # the closed card still shows her words

    await c.alice.slash("checkin", channel=c.general, status="Stuck", note=SHARED, share_with_helpers=True)
    notice = next(m for m in queue_messages(c) if SHARED in m.text)
    await c.helper2.click(notice, "I'll reach out")
    [reach] = threads_named(c, "reach-out-")
    await c.alice.say(c.twin.state.channel(reach.id), f"{TYPED} in the reach-out")

    c.twin.add_role(c.guild, c.alice, c.helpers)
    await ask(c.bob, c, body=BOB_BODY)
    bob_card = next(card for card in cards(c) if "Waiting for a helper" in card.text)
    await c.alice.click(bob_card, "Claim")
    await settled(lambda: f"<@{c.alice.id}>" in bob_card.text)


def bot_posts_naming(c: Community, person: Person, alice: Person) -> list[str]:
    """Where ``person`` sees a message of the bot with her words or name (her own DMs and answers aside)."""
    found = []
    for seen in c.twin.visible_to(person):
        if seen.message.message.author.id != c.app.bot.id:
            continue
        if person == alice and seen.where in ("DM", "ephemeral"):
            continue
        for words in (*ALICE_WORDS, f"<@{alice.id}>"):
            if words in seen.text:
                found.append(f"{person.user.username} sees {words!r} in {seen.where}")
    return found


def assert_taken_down(c: Community) -> None:
    assert [f for person in c.members for f in bot_posts_naming(c, person, c.alice)] == []
    # What members typed themselves stays, where it was.
    helper_sees = [seen.text for seen in c.twin.visible_to(c.helper)]
    assert TYPED in helper_sees and HELPER_TYPED in helper_sees
    # Her threads stay for who helped, archived and locked, their bot messages neutral.
    for thread in [*help_threads(c), *threads_named(c, "reach-out-")]:
        if BOB_BODY in "".join(m.text for m in thread_messages(c, thread)):
            continue
        assert thread.archived and thread.locked
        bot_lines = [m for m in thread_messages(c, thread) if m.message.author.id == c.app.bot.id and not m.deleted]
        assert bot_lines and all(
            m.text in (NEUTRAL, "This thread is closed. Thanks to everyone who helped.") for m in bot_lines
        ), [m.text for m in bot_lines]
    # Her queue items are gone; bob's card stays, without her.
    [bobs] = cards(c)
    assert "Claimed by" in bobs.text and str(c.alice.id) not in bobs.text
    assert not any(SHARED in m.text for m in queue_messages(c))


async def test_privacy_delete_takes_down_what_was_posted_with_her_words_or_name_and_keeps_what_people_typed(
    community: Community,
) -> None:
    c = community
    await give_alice_posts(c)
    before = [f for person in c.members for f in bot_posts_naming(c, person, c.alice)]
    assert any(WANTS in f and "helper" in f for f in before)  # the sweep does see her words before
    prompt = await c.alice.slash("privacy delete", channel=c.general)
    assert "messages you typed yourself" in prompt.text
    done = await c.alice.click(prompt, "Delete everything")
    assert "messages you typed yourself stay" in done.text
    await settled(lambda: not [f for person in c.members for f in bot_posts_naming(c, person, c.alice)])
    assert_taken_down(c)
    assert scan_database(str(c.database_path), c.alice.id, (*ALICE_WORDS, TYPED)) == []


async def test_an_escalated_request_loses_every_card_when_she_deletes_her_data(community: Community) -> None:
    c = community
    c.helpers.mentionable = True
    await ask(c.alice, c, body=BODY, wants=WANTS)
    c.clock.advance(timedelta(hours=4, minutes=1))
    await c.run_jobs()  # the card is re-posted with the helpers mentioned
    [card] = cards(c)
    assert "helpers asked again" in card.text and WANTS in card.text
    prompt = await c.alice.slash("privacy delete", channel=c.general)
    await c.alice.click(prompt, "Delete everything")
    await settled(lambda: cards(c) == [])
    assert [f for person in c.members for f in bot_posts_naming(c, person, c.alice)] == []
    [thread] = help_threads(c)
    assert all(m.text == NEUTRAL or "thread is closed" in m.text for m in thread_messages(c, thread))


async def test_a_departed_members_purge_takes_down_her_posts_after_the_grace_period(community: Community) -> None:
    c = community
    await give_alice_posts(c)
    c.twin.leave(c.guild, c.alice)
    c.clock.advance(days=1)
    await daily(c)  # she is found gone: her data is kept for the grace period
    assert any(WANTS in f for f in bot_posts_naming(c, c.helper, c.alice))
    c.clock.advance(days=31)  # past the grace, and past the 30 days finished effects are kept for others
    await daily(c)
    await settled(lambda: not [f for person in c.members for f in bot_posts_naming(c, person, c.alice)])
    assert_taken_down(c)
    assert scan_database(str(c.database_path), c.alice.id, (*ALICE_WORDS, TYPED)) == []


async def test_a_takedown_cut_off_by_a_discord_error_finishes_on_the_retry(community: Community) -> None:
    c = community
    await give_alice_posts(c)
    fault = c.twin.faults.server_error("DELETE", "/channels/{channel_id}/messages/{message_id}", 503, times=1)
    prompt = await c.alice.slash("privacy delete", channel=c.general)
    await c.alice.click(prompt, "Delete everything")
    assert fault.fired == 1 and any(WANTS in f for f in bot_posts_naming(c, c.helper, c.alice))  # the card is up
    c.clock.advance(timedelta(seconds=31))
    await c.run_jobs()
    await settled(lambda: not [f for person in c.members for f in bot_posts_naming(c, person, c.alice)])
    assert_taken_down(c)
