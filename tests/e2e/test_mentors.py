"""Commute-call mentors through the twin: signup, approval, the roster card, booking, answers, invites, reminders,
the after-call check, cancelling, pausing and leaving.

Time moves only with the ManualClock (Mon 23 Nov 2026 09:00 UTC); scheduled DMs go out when due jobs run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import discord
import icalendar
import pytest

from demo.community import Community
from twin.people import MessageView, Modal, Person
from twin.state import Overwrite

PHONE = "+44 20 7946 0958"
PHONE_SHOWN = "+44 20 7946 0958"
MEMBER_PHONE = "+1 212 555 0142"
WINDOWS = "Mon-Fri 07:30-08:30"


POST_CARDS = discord.Permissions(view_channel=True, send_messages=True, embed_links=True).value


def let_porchlight_post_in_roster(c: Community) -> None:
    """What an admin does for a read-only roster: members may not post there, Porchlight's role may."""
    bot_role = next(role for role in c.guild.roles.values() if role.bot_id == c.app.bot.id)
    c.roster.overwrites.append(Overwrite(bot_role.id, 0, POST_CARDS, 0))


@pytest.fixture
def community(community: Community) -> Community:
    let_porchlight_post_in_roster(community)
    return community


async def eventually(predicate: Callable[[], bool], within: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, "the bot did not do it in time"
        await asyncio.sleep(0.01)


async def sign_up(
    c: Community,
    person: Person,
    *,
    contact: str = "they_call_me",
    windows: str = WINDOWS,
    timezone: str = "Europe/London",
    call_minutes: int = 15,
    phone: str = PHONE,
    **options: Any,
) -> MessageView:
    form = await person.slash(
        "mentor signup",
        channel=c.general,
        timezone=timezone,
        windows=windows,
        call_minutes=call_minutes,
        contact=contact,
        **options,
    )
    assert isinstance(form, Modal), form
    values = {"Headline": "Eng manager, fintech, 12 years", "Topics (comma-separated)": "Interviews, Career change"}
    if contact == "they_call_me":
        values["Phone number (only booked members get it)"] = phone
    answer = await person.submit_modal(form, values)
    assert isinstance(answer, MessageView)
    return answer


def approval_card(c: Community) -> MessageView:
    cards = [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(c.queue.id)]
    return next(card for card in reversed(cards) if "Mentor application" in card.text)


def roster_cards(c: Community) -> list[MessageView]:
    return [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(c.roster.id) if not m.deleted]


async def approved_mentor(c: Community, person: Person, **options: Any) -> MessageView:
    """Sign ``person`` up, have the moderator approve, and return their roster card."""
    await sign_up(c, person, **options)
    await c.mod.click(approval_card(c), "Approve")
    return next(card for card in roster_cards(c) if person.mention in card.text)


async def request_call(
    c: Community, member: Person, card: MessageView, slot: int = 0, *, days_ahead: int = 0, **form: str
) -> MessageView:
    """Book a call from a roster card: the slot select (the ``slot``-th time at least ``days_ahead`` days away),
    then the form. Returns the bot's answer."""
    picker = await member.click(card, "Book a call")
    assert picker.ephemeral
    earliest = c.clock.now().timestamp() + days_ahead * 86400
    options = [o["value"] for o in picker.selects[0]["options"] if int(o["value"]) >= earliest]
    option = options[slot]
    modal = await member.select(picker, "Pick a time", values=[option])
    assert isinstance(modal, Modal)
    values = {"What would you like to talk about?": form.get("topic", "Practising for a PM final round")}
    if "phone" in form:
        values["Your phone number (only the mentor gets it)"] = form["phone"]
    answer = await member.submit_modal(modal, values)
    assert isinstance(answer, MessageView)
    return answer


def request_dm(mentor: Person) -> MessageView:
    return next(dm for dm in reversed(mentor.dms()) if any(b.get("label") == "Accept" for b in dm.buttons))


def confirmation_dm(person: Person) -> MessageView:
    return next(dm for dm in reversed(person.dms()) if "is confirmed" in dm.text)


def invite(message: MessageView) -> icalendar.Calendar:
    files = [a for a in message.attachments if a.filename.endswith(".ics")]
    assert len(files) == 1, message.attachments
    return icalendar.Calendar.from_ical(files[0].data)


def event(calendar: icalendar.Calendar) -> icalendar.Event:
    return next(iter(calendar.walk("VEVENT")))


# --- the full flow ---------------------------------------------------------------------------------------------------


async def test_signup_approval_card_booking_accept_reminders_and_after_call(community: Community) -> None:
    c = community
    answer = await sign_up(c, c.bob)
    assert answer.ephemeral and "moderator will look" in answer.text
    card = approval_card(c)
    assert "Eng manager, fintech" in card.text and PHONE not in card.text
    assert [b["label"] for b in card.buttons] == ["Approve", "Decline"]

    await c.mod.click(card, "Approve")
    assert "Approved by" in approval_card(c).text
    assert c.mentors.id in c.bob.member.roles
    assert any("approved as a commute-call mentor" in dm.text for dm in c.bob.dms())
    [roster] = roster_cards(c)
    assert c.bob.mention in roster.text and "interviews, career-change" in roster.text
    assert roster.buttons[0]["custom_id"] == f"mentors:book:{c.bob.id}"
    assert ":R>" in roster.text and ":f>" in roster.text and "Calls left this week" in roster.text

    asked = await request_call(c, c.alice, roster, days_ahead=2)
    assert asked.ephemeral and "Request sent" in asked.text
    request = request_dm(c.bob)
    assert "Practising for a PM final round" in request.text and c.alice.mention in request.text

    accepted = await c.bob.click(request, "Accept")
    assert "You accepted" in accepted.text and accepted.buttons == []
    await eventually(lambda: any("is confirmed" in dm.text for dm in c.alice.dms()))
    member_dm, mentor_dm = confirmation_dm(c.alice), confirmation_dm(c.bob)
    assert PHONE_SHOWN in member_dm.text and ":F>" in member_dm.text
    assert PHONE_SHOWN not in mentor_dm.text
    calendars = [invite(member_dm), invite(mentor_dm)]
    assert {str(cal["method"]) for cal in calendars} == {"REQUEST"}
    uids = {str(event(cal)["uid"]) for cal in calendars}
    assert len(uids) == 1 and uids.pop().startswith("booking-")

    # Reminders 24 h and 15 min before, then the after-call check; each once.
    start = event(calendars[0]).decoded("dtstart")
    c.clock.advance(start - timedelta(hours=24) - c.clock.now())
    await c.run_jobs()
    assert sum("Reminder" in dm.text and "tomorrow" in dm.text for dm in c.alice.dms()) == 1
    c.clock.advance(start - timedelta(minutes=15) - c.clock.now())
    await c.run_jobs()
    await c.run_jobs()
    assert sum("in 15 minutes" in dm.text for dm in c.alice.dms()) == 1
    assert sum("in 15 minutes" in dm.text for dm in c.bob.dms()) == 1
    c.clock.advance(timedelta(minutes=15 + 15 + 30))
    await c.run_jobs()
    check = next(dm for dm in c.alice.dms() if "Did your call" in dm.text)
    assert [b["label"] for b in check.buttons] == ["Yes", "They didn't show", "We rescheduled", "Send a thank-you"]
    done = await c.alice.click(check, "Yes")
    assert "**Yes**" in done.text
    thanks = await c.alice.click(done, "Send a thank-you")
    assert isinstance(thanks, Modal)
    await c.alice.submit_modal(thanks, {"Your note (I'll forward it to your mentor)": "That helped a lot."})
    assert any("That helped a lot." in dm.text for dm in c.bob.dms())
