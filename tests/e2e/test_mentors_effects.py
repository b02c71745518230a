"""Mentor side effects under Discord faults, and what a member who deletes their data leaves behind.

- A 5xx after Discord did the work (discord.py retries the POST) or a 503 before it never shows anyone a message
  twice and never loses one: the effects outbox carries it out once (``docs/effects.md``).
- After /privacy delete, a sweep of everything every other member can see finds none of the member's words, name,
  id or number: her application in the helper queue reads "removed at the member's request", her roster card is
  gone, and the other person's DMs about their calls are edited (the confirmation loses her number).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from demo.community import Community
from tests.e2e.test_help import settled
from tests.e2e.test_mentors import (
    MEMBER_PHONE,
    PHONE,
    approval_card,
    approved_mentor,
    confirmation_dm,
    confirmed_call,
    event,
    invite,
    request_call,
    request_dm,
    roster_cards,
    sign_up,
)
from tests.e2e.test_privacy import daily
from twin.people import MessageView, Person

MESSAGES = "/channels/{channel_id}/messages"
HEADLINE = "Eng manager, fintech, 12 years"
TOPICS = ("interviews, career-change", "Interviews, Career change")
TOPIC = "Practising for a PM final round"


def confirmations(person: Person) -> list[str]:
    return [dm.text for dm in person.dms() if "is confirmed" in dm.text]


# --- faults ----------------------------------------------------------------------------------------------------------


async def test_a_502_after_each_confirmation_dm_was_posted_shows_each_person_one_confirmation(
    community: Community,
) -> None:
    c = community
    card = await approved_mentor(c, c.bob)
    await request_call(c, c.alice, card, days_ahead=2)
    bob_dm = request_dm(c.bob).message.channel_id
    # Discord posts each confirmation, then answers 502; discord.py sends it again (same nonce). Alice's DM channel
    # is opened by her confirmation, so hers is the first message posted; bob's goes to the channel he has.
    hits = [
        c.twin.faults.server_error_after("POST", MESSAGES, 502, times=1),
        c.twin.faults.server_error_after("POST", f"/channels/{bob_dm}/messages", 502, times=1),
    ]
    await c.bob.click(request_dm(c.bob), "Accept")
    await settled(lambda: bool(confirmations(c.alice)) and bool(confirmations(c.bob)), within=10)
    assert [hit.fired for hit in hits] == [1, 1]
    for person in (c.alice, c.bob):
        assert len(confirmations(person)) == 1, Counter(dm.text for dm in person.dms())
        assert str(invite(confirmation_dm(person))["method"]) == "REQUEST"
    c.clock.advance(timedelta(minutes=1))
    await c.run_jobs()
    assert len(confirmations(c.alice)) == 1 and len(confirmations(c.bob)) == 1


async def test_a_503_on_the_confirmation_dms_keeps_the_call_and_sends_them_once_discord_recovers(
    community: Community,
) -> None:
    c = community
    card = await approved_mentor(c, c.bob)
    await request_call(c, c.alice, card, days_ahead=2)
    fault = c.twin.faults.server_error("POST", MESSAGES, 503, times=2)  # discord.py does not retry a 503
    answer = await c.bob.click(request_dm(c.bob), "Accept")
    assert fault.fired == 2 and "You accepted" in answer.text  # the call is confirmed; the DMs follow
    assert confirmations(c.alice) == [] and confirmations(c.bob) == []
    [call] = await c.bot.services.mentors.upcoming_calls(c.alice.id)
    assert call.status == "confirmed"
    c.clock.advance(timedelta(seconds=31))  # the effects job's retry
    await c.run_jobs()
    await settled(lambda: bool(confirmations(c.alice)) and bool(confirmations(c.bob)))
    c.clock.advance(timedelta(hours=1))
    await c.run_jobs()
    assert len(confirmations(c.alice)) == 1 and len(confirmations(c.bob)) == 1
    assert PHONE in confirmations(c.alice)[0]
    assert str(event(invite(confirmation_dm(c.bob)))["uid"]) == f"booking-{call.id}@porchlight"


# --- what a deleted member leaves behind -----------------------------------------------------------------------------


def traces(c: Community, gone: Person, words: list[str]) -> list[str]:
    """Where anyone but ``gone`` can still see her words, her id (any form) or her mention. Ephemeral answers are
    left out: Discord keeps them only in the session that saw them, and nobody can edit them after 15 minutes."""
    found = []
    for person in c.members:
        if person.user.id == gone.user.id:
            continue
        for seen in c.twin.visible_to(person):
            if seen.where == "ephemeral":
                continue
            for needle in [*words, str(gone.id), gone.mention]:
                if needle and needle in seen.text:
                    found.append(f"{person.name} sees {needle!r} in {seen.where}")
    return found


async def delete_data(c: Community, person: Person) -> None:
    prompt = await person.slash("privacy delete", channel=c.general)
    await person.click(prompt, "Delete everything")


async def test_a_mentor_who_deletes_her_data_leaves_no_words_name_or_number_visible_to_anyone(
    community: Community,
) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice)
    assert PHONE in confirmation_dm(c.alice).text
    words = [HEADLINE, *TOPICS, PHONE, PHONE.replace(" ", "")]
    assert traces(c, c.bob, words)  # before: the queue, the roster and alice's DMs carry bob
    await delete_data(c, c.bob)
    await settled(lambda: not traces(c, c.bob, words))
    assert "removed at the member's request" in approval_card(c).text and approval_card(c).buttons == []
    assert roster_cards(c) == []
    assert "deleted their data" in confirmation_dm(c.alice).text  # struck through, the number gone
    assert any("cancelled by the other person" in dm.text for dm in c.alice.dms())  # with the cancel invite


async def test_a_member_who_deletes_her_data_is_taken_out_of_the_mentors_dms(community: Community) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice, contact="i_call_them")
    words = [TOPIC, "+1 212-555-0142", MEMBER_PHONE.replace(" ", "")]
    assert traces(c, c.alice, words)  # the request DM (her topic) and bob's confirmation (her number)
    await delete_data(c, c.alice)
    await settled(lambda: not traces(c, c.alice, words))
    assert "deleted their data" in confirmation_dm(c.bob).text


async def test_a_pending_application_is_neutralised_when_its_author_deletes_her_data(community: Community) -> None:
    c = community
    await sign_up(c, c.bob)
    assert HEADLINE in approval_card(c).text
    await delete_data(c, c.bob)
    await settled(lambda: "removed at the member's request" in approval_card(c).text)
    assert approval_card(c).buttons == [] and not traces(c, c.bob, [HEADLINE, *TOPICS])


async def test_the_confirmation_drops_the_number_once_the_call_has_happened(community: Community) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice)
    assert PHONE in confirmation_dm(c.alice).text
    c.clock.advance(days=3)  # past the call and its after-call check
    await c.run_jobs()
    await settled(lambda: PHONE not in confirmation_dm(c.alice).text)
    assert "is over" in confirmation_dm(c.alice).text and invite(confirmation_dm(c.alice))
    assert any("happen?" in dm.text for dm in c.alice.dms())


async def test_a_500_after_discord_made_the_voice_room_leaves_one_room_and_one_join_dm_each(
    community: Community,
) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice, contact="discord_voice")
    [call] = await c.bot.services.mentors.upcoming_calls(c.alice.id)
    fault = c.twin.faults.server_error_after("POST", "/guilds/{guild_id}/channels", 500, times=1)
    c.clock.set(call.starts_at - timedelta(minutes=5))
    await c.run_jobs()

    def rooms() -> list[int]:
        name = f"commute-call-{call.id}"
        return [ch.id for ch in c.twin.state.all_channels() if ch.name == name and not getattr(ch, "deleted", False)]

    await settled(lambda: len(rooms()) == 1)
    assert fault.fired == 1  # Discord made a room, answered 500, and discord.py asked again: a second room
    [room] = rooms()
    for person in (c.alice, c.bob):
        assert len([dm for dm in person.dms() if f"<#{room}>" in dm.text]) == 1


async def test_a_mentor_who_leaves_the_server_and_is_purged_leaves_no_trace_visible_to_anyone(
    community: Community,
) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice)
    words = [HEADLINE, *TOPICS, PHONE, PHONE.replace(" ", "")]
    c.twin.leave(c.guild, c.bob)
    c.clock.advance(days=1)
    await daily(c)  # gone: the call cancelled with the invite, the card and the number gone at once
    await settled(lambda: not traces(c, c.bob, words))  # what carried him is taken down at once
    assert roster_cards(c) == [] and "removed at the member's request" in approval_card(c).text
    assert any("no longer in the server" in dm.text for dm in c.alice.dms())  # with the cancelling invite
    assert "no longer in the server" in confirmation_dm(c.alice).text
    c.clock.advance(days=31)
    await daily(c)  # his data is purged after the grace period; nothing he left comes back
    await settled(lambda: not traces(c, c.bob, words))


async def test_an_application_made_before_the_queue_is_set_is_posted_once_it_is(community: Community) -> None:
    c = community
    assert c.bot is not None
    gone = 1  # a queue channel that no longer exists
    await c.bot.services.setup.set_channels(
        c.guild.id, help_channel_id=c.help.id, queue_channel_id=gone, roster_channel_id=c.roster.id
    )
    answer = await sign_up(c, c.bob)
    assert "no moderator queue set up yet" in answer.text
    assert applications(c) == []
    await c.admin.slash("setup channels", channel=c.general, help=c.help, queue=c.queue, roster=c.roster)
    await settled(lambda: len(applications(c)) == 1)
    await c.admin.slash("setup check", channel=c.general)
    assert len(applications(c)) == 1 and HEADLINE in applications(c)[0].text


def applications(c: Community) -> list[MessageView]:
    views = [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(c.queue.id) if not m.deleted]
    return [view for view in views if "Mentor application" in view.text]
