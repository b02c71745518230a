"""Discord side effects happen exactly once when Discord fails around them: a 5xx after the work was done (which
discord.py retries), a 503 before it, and 429s. What each member sees is counted, not assumed."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from demo.community import Community
from tests.e2e.test_help import BODY, ask, cards, help_threads, settled, thread_messages
from twin.people import MessageView
from twin.state import MANAGE_THREADS, Overwrite, Scope

THREADS = "/channels/{channel_id}/threads"
ACTIVE_THREADS = "/guilds/{guild_id}/threads/active"
MESSAGES = "/channels/{channel_id}/messages"


def openings(c: Community) -> list[MessageView]:
    return [m for t in help_threads(c) for m in thread_messages(c, t) if "What's going on?" in m.text]


async def test_a_500_after_discord_made_the_thread_leaves_one_thread_one_opening_and_one_card(
    community: Community,
) -> None:
    c = community
    fault = c.twin.faults.server_error_after("POST", THREADS, 500)
    answer = await ask(c.alice, c)
    assert fault.fired == 1  # Discord made a thread, answered 500, and discord.py asked again: a second thread
    [thread] = help_threads(c)  # the duplicate was removed, the first kept
    assert f"<#{thread.id}>" in answer.content
    assert [m.id for m in openings(c)] == [thread_messages(c, thread)[0].id]
    assert len(cards(c)) == 1
    assert {m.id for m in c.alice.dms()} == set()  # told in the answer, so no DM
    assert [r.route for r in c.twin.requests].count(ACTIVE_THREADS) == 1  # the doubt made it list the threads


async def test_a_thread_made_at_the_first_try_is_used_as_returned_without_listing_the_servers_threads(
    community: Community,
) -> None:
    c = community
    answer = await ask(c.alice, c)
    [thread] = help_threads(c)
    assert f"<#{thread.id}>" in answer.content and len(openings(c)) == 1
    assert ACTIVE_THREADS not in [r.route for r in c.twin.requests]  # the listing grows with the server's threads


async def test_a_502_after_each_message_post_never_shows_a_message_twice(community: Community) -> None:
    c = community
    faults = c.twin.faults
    # Each first try of a post is made by Discord and answered 502; discord.py sends it again with the same nonce.
    hits = [
        faults.server_error_after("POST", MESSAGES, 502),
        faults.server_error_after("POST", f"*/{c.queue.id}/*", 502),
    ]
    await ask(c.alice, c)  # the opening message, then the queue card
    hits.append(faults.server_error_after("POST", MESSAGES, 502))
    await c.helper.click(cards(c)[0], "Claim")  # "joined to help"
    [thread] = help_threads(c)
    hits.append(faults.server_error_after("POST", MESSAGES, 502))
    await c.alice.slash("close", channel=thread)  # the feedback DM
    await settled(lambda: thread.locked and bool(c.alice.dms()))
    assert [fault.fired for fault in hits] == [1, 1, 1, 1]
    texts = Counter(m.content for m in thread_messages(c, thread))
    assert all(count == 1 for count in texts.values()), texts
    assert len(cards(c)) == 1 and "Closed by the member" in cards(c)[0].text
    assert len(c.alice.dms()) == 1 and "Did this help?" in c.alice.dms()[0].text


async def test_a_503_on_thread_creation_saves_the_request_and_opens_it_when_discord_recovers(
    community: Community,
) -> None:
    c = community
    c.twin.faults.server_error("POST", THREADS, 503)
    answer = await ask(c.alice, c)
    assert "saved exactly as you wrote it" in answer.content and "DM you the link" in answer.content
    assert help_threads(c) == [] and cards(c) == []  # no card for a thread that does not exist yet
    c.clock.advance(timedelta(seconds=31))  # the effects job's first retry
    await c.run_jobs()
    [thread] = help_threads(c)
    assert BODY in thread_messages(c, thread)[0].text
    assert len(cards(c)) == 1 and "Waiting for a helper" in cards(c)[0].text
    [dm] = c.alice.dms()
    assert f"<#{thread.id}>" in dm.text
    c.clock.advance(timedelta(hours=1))
    await c.run_jobs()
    assert len(help_threads(c)) == 1 and len(cards(c)) == 1 and len(c.alice.dms()) == 1


async def test_an_escalation_cut_off_after_reposting_the_card_finishes_without_a_second_live_card(
    community: Community,
) -> None:
    c = community
    c.helpers.mentionable = True
    await ask(c.alice, c)
    [first] = cards(c)
    # Discord posts the re-posted card, then fails every delete: the effect keeps the new card's id and retries.
    c.twin.faults.server_error("DELETE", "/channels/{channel_id}/messages/{message_id}", 503, times=1)
    c.clock.advance(timedelta(hours=4, minutes=1))
    await c.run_jobs()
    assert len(cards(c)) == 2  # the old card is still up: its delete failed
    c.clock.advance(timedelta(seconds=31))
    await c.run_jobs()
    [second] = cards(c)
    assert first.deleted and second.id != first.id and "helpers asked again" in second.text
    assert [m.text for m in c.alice.dms()].count(c.alice.dms()[-1].text) == 1


async def test_429s_on_every_route_are_waited_out_without_losing_or_repeating_anything(community: Community) -> None:
    c = community
    c.twin.faults.rate_limit("*", "/channels/*", times=None, probability=0.2, seed=7, retry_after=0.01)
    for person in (c.alice, c.bob):
        await ask(person, c)
    assert len(help_threads(c)) == 2 and len(openings(c)) == 2 and len(cards(c)) == 2


async def test_a_claim_the_bot_cannot_carry_out_is_undone_and_the_helper_is_told(community: Community) -> None:
    c = community
    await ask(c.alice, c)
    bot_role = next(r for r in c.guild.roles.values() if r.bot_id == c.app.bot.id)
    c.help.overwrites.append(Overwrite(bot_role.id, 0, 0, MANAGE_THREADS))  # an admin took Manage Threads away
    c.twin.state.emit("CHANNEL_UPDATE", c.help.payload(), Scope(1, c.guild.id, c.help.id))
    answer = await c.helper.click(cards(c)[0], "Claim")
    assert "couldn't add you" in answer.text and "claim was undone" in answer.text
    [thread] = help_threads(c)
    assert c.helper.id not in thread.members
    assert "Waiting for a helper" in cards(c)[0].text
    assert not any("joined to help" in m.text for m in thread_messages(c, thread))
