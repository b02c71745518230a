"""Moving a booked call through the twin: the member picks a new time from the mentor's free times in /calls, the
mentor accepts or keeps the original by DM; on accept both get an updated invite (same UID, SEQUENCE + 1, new
times), the old time is free again and reminders follow the new time; declined or lapsed, the call stands and both
are told. Only the two people ever see any of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from demo.community import Community
from tests.e2e.test_mentors import confirmation_dm, confirmed_call, event, eventually, invite, roster_cards
from twin.people import MessageView, Person

ACCEPT, KEEP = "Accept the new time", "Keep the original time"


def move_request(mentor: Person) -> MessageView:
    return next(dm for dm in reversed(mentor.dms()) if any(b.get("label") == ACCEPT for b in dm.buttons))


async def free_starts(c: Community, person: Person) -> list[int]:
    """The start times (epoch seconds) ``person`` is offered on the mentor's roster card."""
    card = next(card for card in roster_cards(c) if c.bob.mention in card.text)
    picker = await person.click(card, "Book a call")
    return [int(o["value"]) for o in picker.selects[0]["options"]]


async def ask_to_move(c: Community, member: Person, *, days_later: int = 2) -> tuple[int, int, MessageView]:
    """The member moves their first call to the first free time ``days_later`` days after it; returns (old start,
    new start, the bot's answer)."""
    calls = await member.slash("calls", channel=c.general)
    picker = await member.click(calls, "Move 1")
    assert isinstance(picker, MessageView) and picker.ephemeral and "Move your call" in picker.text
    old = int(event(invite(confirmation_dm(member))).decoded("dtstart").timestamp())
    values = [int(o["value"]) for o in picker.selects[0]["options"]]
    assert old not in values
    new = next(v for v in values if v >= old + days_later * 86400)
    answer = await member.select(picker, "Pick a new time", values=[str(new)])
    assert isinstance(answer, MessageView)
    return old, new, answer


async def test_accepted_move_updates_both_invites_frees_the_old_time_and_moves_the_reminders(
    community: Community,
) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice)
    first = {p.id: invite(confirmation_dm(p)) for p in (c.alice, c.bob)}
    old, new, asked = await ask_to_move(c, c.alice)
    assert asked.ephemeral and "Asked" in asked.text and f"<t:{old}:" in asked.text
    assert new not in await free_starts(c, c.carol)  # held for this call while the mentor decides

    request = move_request(c.bob)
    assert c.alice.mention in request.text and f"<t:{new}:" in request.text
    done = await c.bob.click(request, ACCEPT)
    assert "You moved the call" in done.text and done.buttons == []
    await eventually(
        lambda: "has moved" in confirmation_dm(c.alice).text and "has moved" in confirmation_dm(c.bob).text
    )
    for person in (c.alice, c.bob):
        updated = event(invite(confirmation_dm(person)))
        original = event(first[person.id])
        assert str(updated["uid"]) == str(original["uid"])
        assert int(updated["sequence"]) == int(original["sequence"]) + 1
        assert updated.decoded("dtstart") == datetime.fromtimestamp(new, UTC)
        assert updated.decoded("dtend") - updated.decoded("dtstart") == timedelta(minutes=15)
    assert old in await free_starts(c, c.carol) and new not in await free_starts(c, c.carol)
    calls = await c.bot.services.mentors.upcoming_calls(c.alice.id, c.guild.id)  # type: ignore[union-attr]
    assert [int(b.starts_at.timestamp()) for b in calls] == [new]

    # Nothing at the old time; the reminders come before the new one, once each.
    c.clock.advance(datetime.fromtimestamp(old, UTC) - timedelta(minutes=15) - c.clock.now())
    await c.run_jobs()
    assert not any("in 15 minutes" in dm.text for dm in c.alice.dms())
    c.clock.advance(datetime.fromtimestamp(new, UTC) - timedelta(hours=24) - c.clock.now())
    await c.run_jobs()
    tomorrow = [dm for dm in c.alice.dms() if "Reminder" in dm.text and "tomorrow" in dm.text]
    assert len(tomorrow) == 1 and f"<t:{new}:" in tomorrow[0].text
    c.clock.advance(datetime.fromtimestamp(new, UTC) - timedelta(minutes=15) - c.clock.now())
    await c.run_jobs()
    for person in (c.alice, c.bob):
        soon = [dm for dm in person.dms() if "in 15 minutes" in dm.text]
        assert len(soon) == 1 and f"<t:{new}:" in soon[0].text


async def test_declined_move_keeps_the_call_tells_the_member_and_frees_the_asked_time(community: Community) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice)
    old, new, _ = await ask_to_move(c, c.alice)
    kept = await c.bob.click(move_request(c.bob), KEEP)
    assert "You kept the call" in kept.text and kept.buttons == []
    news = next(dm for dm in c.alice.dms() if "can't make" in dm.text)
    assert f"<t:{old}:" in news.text and f"<t:{new}:" in news.text
    calls = await c.bot.services.mentors.upcoming_calls(c.alice.id, c.guild.id)  # type: ignore[union-attr]
    assert [(int(b.starts_at.timestamp()), b.ics_sequence) for b in calls] == [(old, 0)]
    assert new in await free_starts(c, c.carol)
    assert sum("is confirmed" in dm.text for dm in c.alice.dms()) == 1  # no new invite
    assert not any(b.get("label") == ACCEPT for dm in c.bob.dms() for b in dm.buttons)  # answered once


async def test_unanswered_move_lapses_the_call_stands_and_both_are_told(community: Community) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice)
    old, new, _ = await ask_to_move(c, c.alice, days_later=3)
    request = move_request(c.bob)
    c.clock.advance(timedelta(hours=24, minutes=1))
    await c.run_jobs()
    assert any("didn't answer your request to move" in dm.text and f"<t:{old}:" in dm.text for dm in c.alice.dms())
    assert any("lapsed unanswered" in dm.text for dm in c.bob.dms())
    late = await c.bob.click(request, ACCEPT)
    assert "expired" in late.text
    calls = await c.bot.services.mentors.upcoming_calls(c.alice.id, c.guild.id)  # type: ignore[union-attr]
    assert [int(b.starts_at.timestamp()) for b in calls] == [old]


async def test_only_the_member_can_move_and_only_one_request_at_a_time(community: Community) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice)
    mentor_calls = await c.bob.slash("calls", channel=c.general)
    assert [b["label"] for b in mentor_calls.buttons] == ["Cancel 1"]
    await ask_to_move(c, c.alice)
    calls = await c.alice.slash("calls", channel=c.general)
    assert "Asked to move to" in calls.text
    assert "Asked to move to" in (await c.bob.slash("calls", channel=c.general)).text
    second = await c.alice.click(calls, "Move 1")
    assert second.ephemeral and "already asked to move this call" in second.text


async def test_a_move_is_seen_only_by_the_member_and_the_mentor(community: Community) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice)
    await ask_to_move(c, c.alice)
    await c.bob.click(move_request(c.bob), ACCEPT)
    await eventually(lambda: "has moved" in confirmation_dm(c.alice).text)
    for text in ("Move your call", "Asked <@", "asks to move your call", "You moved the call", "has moved"):
        c.twin.assert_only_visible_to(text, [c.alice, c.bob])
