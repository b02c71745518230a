"""The real bot process killed with SIGKILL at every side-effect boundary of /ask, Claim, /close, an escalation and an
idle close, then restarted on the same database: at every point exactly one thread, one opening message, one live
queue card and one confirmation per person, and the member's action is either confirmed and present, or was never
confirmed.

A boundary is "Discord did the work, the bot has not heard back" (``tests/e2e/crash.py``).
"""

# ruff: noqa: F811 - the tests take the imported ``world`` fixture by name
from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from demo.community import Community, final_answer
from tests.e2e.crash import World, crash_after, kill_at, settle, world  # noqa: F401 - world is the fixture
from tests.e2e.test_help import BODY, WANTS, cards, help_threads, thread_messages
from twin.people import MessageView, Modal


async def submit_ask(w: World) -> Any:
    """The /ask form sent: returns the first answer ("saved, opening it now"), before the thread is open."""
    modal = await w.c.alice.slash("ask", channel=w.c.general, topic="interviews")
    assert isinstance(modal, Modal)
    return await w.c.alice.submit_modal(modal, {"What's going on?": BODY, "What would help most?": WANTS})


async def ask(w: World) -> Any:
    """The /ask form sent and its answer edited to link the open thread."""
    return await final_answer(await submit_ask(w))


def openings(c: Community) -> list[MessageView]:
    return [m for t in help_threads(c) for m in thread_messages(c, t) if BODY in m.text]


def one_request_in_place(c: Community) -> bool:
    threads = help_threads(c)
    return (
        len(threads) == 1
        and len(openings(c)) == 1
        and thread_messages(c, threads[0])[0].id == openings(c)[0].id
        and c.alice.id in threads[0].members
        and len(cards(c)) == 1
        and "Waiting for a helper" in cards(c)[0].text
    )


ASK_BOUNDARIES = [
    ("POST", "/interactions/*/callback", 2),  # the request is stored and alice answered "saved, opening it now"
    ("POST", "/channels/*/threads", 1),  # the thread exists, the bot does not know its id
    ("PUT", "/channels/*/thread-members/*", 1),  # alice was added
    ("POST", "/channels/{channel_id}/messages", 1),  # the opening message is posted
    ("PATCH", "/webhooks/*/messages/@original", 1),  # alice's answer links the thread
]


@pytest.mark.parametrize(("method", "pattern", "nth"), ASK_BOUNDARIES)
async def test_ask_killed_after_each_effect_ends_with_one_thread_one_opening_one_card_one_link(
    world: World, method: str, pattern: str, nth: int
) -> None:
    """Alice is answered at once; where her thread is, she learns once: in that answer (edited) or else by DM."""
    w, c = world, world.c
    answer = await crash_after(w, method, pattern, lambda: submit_ask(w), nth=nth)

    def linked() -> bool:
        return any(f"<#{t.id}>" in answer.content for t in help_threads(c)) if answer is not None else False

    await settle(lambda: one_request_in_place(c) and (linked() or bool(c.alice.dms())), "the request", quiet=w)
    [thread] = help_threads(c)
    confirmations = [m for m in c.alice.dms() if f"<#{thread.id}>" in m.text]
    if linked():
        assert confirmations == []
    else:
        assert len(confirmations) == 1  # the answer never got the link: told once, by DM


async def test_ask_killed_after_the_queue_card_is_posted_keeps_that_card(world: World) -> None:
    w, c = world, world.c
    await crash_after(w, "POST", f"/channels/{c.queue.id}/messages", lambda: submit_ask(w))
    await settle(lambda: one_request_in_place(c) and bool(c.alice.dms()), "the request", quiet=w)
    await c.helper.click(cards(c)[0], "Claim")
    assert len(cards(c)) == 1 and "Claimed by 1 helper" in cards(c)[0].text  # the claim edits that one card


async def test_ask_killed_after_the_form_was_opened_has_nothing_half_made(world: World) -> None:
    w, c = world, world.c
    answer = await crash_after(w, "POST", "/interactions/*/callback", lambda: submit_ask(w))  # the form shown
    assert answer is None
    await asyncio.sleep(1.0)
    assert help_threads(c) == [] and cards(c) == [] and c.alice.dms() == []  # never sent, nothing half-made


CLAIM_BOUNDARIES = [
    ("POST", "/interactions/*/callback"),  # the claim is recorded and acknowledged
    ("PUT", "/channels/*/thread-members/*"),  # the helper is in the thread
    ("POST", "/channels/{channel_id}/messages"),  # "joined to help" is posted
    ("PATCH", "/channels/*/messages/*"),  # the card says claimed
]


@pytest.mark.parametrize(("method", "pattern"), CLAIM_BOUNDARIES)
async def test_claim_killed_after_each_effect_adds_the_helper_once_and_says_so_once(
    world: World, method: str, pattern: str
) -> None:
    w, c = world, world.c
    await ask(w)
    await crash_after(w, method, pattern, lambda: c.helper.click(cards(c)[0], "Claim"))

    def claimed() -> bool:
        [thread] = help_threads(c)
        joined = [m for m in thread_messages(c, thread) if "joined to help" in m.text]
        return c.helper.id in thread.members and len(joined) == 1 and "Claimed by 1 helper" in cards(c)[0].text

    await settle(lambda: claimed() and len(cards(c)) == 1, "the claim", quiet=w)


CLOSE_BOUNDARIES = [
    ("POST", "/interactions/*/callback"),  # the closing note is in the thread
    ("PATCH", "/channels/{channel_id}"),  # the thread is archived and locked
    ("PATCH", "/channels/*/messages/*"),  # the card says closed
    ("POST", "/channels/{channel_id}/messages"),  # the feedback DM is sent
]


@pytest.mark.parametrize(("method", "pattern"), CLOSE_BOUNDARIES)
async def test_close_killed_after_each_effect_archives_once_and_asks_for_feedback_once(
    world: World, method: str, pattern: str
) -> None:
    w, c = world, world.c
    await ask(w)
    await c.helper.click(cards(c)[0], "Claim")
    [thread] = help_threads(c)
    await crash_after(w, method, pattern, lambda: c.alice.slash("close", channel=thread))

    def closed() -> bool:
        notes = [m for m in thread_messages(c, thread) if "Closed by" in m.text]
        feedback = [m for m in c.alice.dms() if "Did this help?" in m.text]
        card = cards(c)[0].text
        return thread.archived and thread.locked and len(notes) == 1 and len(feedback) == 1 and "Closed" in card

    await settle(closed, "the close", quiet=w)


# --- scheduled work: the process is stopped, the clock of the stored request is moved back, and the restarted process
# runs the due job and is killed at each of its side-effect boundaries ------------------------------------------------


async def time_travel(w: World, sql: list[str], hours: float) -> None:
    """Stop the bot and make ``hours`` pass for the stored state (each statement gets the seconds to move back)."""
    await w.bot.terminate()
    seconds = int(hours * 3600)
    with sqlite3.connect(w.c.database_path) as db:
        for statement in sql:
            db.execute(statement, (seconds,))


async def crash_in_job(w: World, method: str, pattern: str) -> None:
    """Start the bot, SIGKILL it right after Discord did the matching request of the due job, start it again."""
    killed = kill_at(w, method, pattern)
    await w.bot.start()
    await killed
    await w.bot.start()


ESCALATE = [
    "UPDATE help_requests SET awaiting_since = awaiting_since - ?",
    "UPDATE jobs SET due_at = due_at - ? WHERE kind = 'help.escalate' AND status = 'pending'",
]


@pytest.mark.parametrize(
    ("method", "pattern"),
    [
        ("POST", "/channels/{channel_id}/messages"),  # the card is re-posted with the helpers mentioned
        ("DELETE", "/channels/*/messages/*"),  # the old card is gone
        ("POST", "/users/@me/channels"),  # the asker's DM is on its way
    ],
)
async def test_an_escalation_killed_after_each_effect_leaves_one_live_card_and_one_dm(
    world: World, method: str, pattern: str
) -> None:
    w, c = world, world.c
    await ask(w)
    [first] = cards(c)
    await time_travel(w, ESCALATE, hours=4.5)
    await crash_in_job(w, method, pattern)

    def escalated() -> bool:
        live = cards(c)
        told = [m for m in c.alice.dms() if "asked the helpers again" in m.text]
        return first.deleted and len(live) == 1 and "helpers asked again" in live[0].text and len(told) == 1

    await settle(escalated, "the escalation", quiet=w)


IDLE = [
    "UPDATE help_requests SET last_activity_at = last_activity_at - ?, idle_asked_at = idle_asked_at - ?",
    "UPDATE jobs SET due_at = due_at - ? WHERE kind = 'help.idle_check' AND status = 'pending'",
]


@pytest.mark.parametrize(
    ("method", "pattern"),
    [
        ("POST", "/channels/{channel_id}/messages"),  # the thread is told why it closes
        ("PATCH", "/channels/{channel_id}"),  # archived and locked
        ("PATCH", "/channels/*/messages/*"),  # the card says closed
        ("POST", "/users/@me/channels"),  # the feedback DM is on its way
    ],
)
async def test_an_idle_close_killed_after_each_effect_closes_once_and_asks_for_feedback_once(
    world: World, method: str, pattern: str
) -> None:
    w, c = world, world.c
    await ask(w)
    await c.helper.click(cards(c)[0], "Claim")
    [thread] = help_threads(c)
    await time_travel(w, [IDLE[0].replace(", idle_asked_at = idle_asked_at - ?", ""), IDLE[1]], hours=3 * 24 + 1)
    await w.bot.start()
    await settle(lambda: any("Is this sorted?" in m.text for m in thread_messages(c, thread)), "the idle question")
    await time_travel(w, [IDLE[0].replace("last_activity_at = last_activity_at - ?, ", ""), IDLE[1]], hours=2 * 24 + 1)
    await crash_in_job(w, method, pattern)

    def closed() -> bool:
        notes = [m for m in thread_messages(c, thread) if "quiet days" in m.text]
        feedback = [m for m in c.alice.dms() if "Did this help?" in m.text]
        card = cards(c)[0].text
        return thread.locked and len(notes) == 1 and len(feedback) == 1 and "quiet spell" in card

    await settle(closed, "the idle close", quiet=w)


# --- anonymous asks: a relay killed after Discord carried it ----------------------------------------------------------

HELPER_WORDS = "Which role is the interview for?"
HER_WORDS = "Product analyst, second round on Friday"


async def anonymous_claimed(w: World) -> Any:
    c = w.c
    modal = await c.alice.slash("ask", channel=c.general, topic="interviews", anonymous=True)
    assert isinstance(modal, Modal)
    await final_answer(await c.alice.submit_modal(modal, {"What's going on?": BODY, "What would help most?": WANTS}))
    await c.helper.click(cards(c)[0], "Claim")
    [thread] = help_threads(c)
    return thread


def relay_texts(c: Community) -> list[str | None]:
    with sqlite3.connect(c.database_path) as db:
        return [row[0] for row in db.execute("SELECT text FROM help_relays ORDER BY id")]


async def test_a_helpers_reply_killed_after_discord_sent_the_dm_reaches_her_once_and_is_not_kept(
    world: World,
) -> None:
    w, c = world, world.c
    thread = await anonymous_claimed(w)
    dm = c.twin.state.dm_channel(c.alice.user, c.app.bot)
    await crash_after(w, "POST", f"*/{dm.id}/*", lambda: c.helper.slash("reply", channel=thread, text=HELPER_WORDS))

    def delivered() -> bool:
        return sum(HELPER_WORDS in m.text for m in c.alice.dms()) == 1 and relay_texts(c) == [None]

    await settle(delivered, "the relayed reply", quiet=w)


async def test_her_dm_killed_after_discord_posted_it_in_the_thread_appears_there_once(world: World) -> None:
    w, c = world, world.c
    thread = await anonymous_claimed(w)
    await crash_after(w, "POST", f"*/{thread.id}/*", lambda: c.alice.dm(c.app, HER_WORDS))

    def posted() -> bool:
        posts = [m for m in thread_messages(c, thread) if m.content.startswith("**Member:**")]
        return len(posts) == 1 and HER_WORDS in posts[0].text and relay_texts(c) == [None]

    await settle(posted, "her relayed DM", quiet=w)
