"""Commute-call mentors through the twin: signup, approval, the roster card, booking, answers, invites, reminders,
the after-call check, cancelling, pausing and leaving.

Time moves only with the ManualClock (Mon 23 Nov 2026 09:00 UTC); scheduled DMs go out when due jobs run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import icalendar

from demo.community import Community, final_answer
from twin.people import MessageView, Modal, Person

PHONE = "+44 20 7946 0958"
PHONE_SHOWN = "+44 20 7946 0958"
MEMBER_PHONE = "+1 212 555 0142"
WINDOWS = "Mon-Fri 07:30-08:30"


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
    messages = c.twin.state.channel_messages(c.roster.id)
    return [MessageView(c.twin, m.id) for m in messages if not m.deleted and m.ephemeral_for is None]


async def after_a_minute(c: Community) -> None:
    """Card edits are debounced to one a minute: let the minute pass and the refresh job run."""
    c.clock.advance(timedelta(minutes=1))
    await c.run_jobs()


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
    answer = await final_answer(await member.submit_modal(modal, values))
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


# --- declined, unanswered, taken --------------------------------------------------------------------------------------


async def test_decline_tells_the_member_and_offers_other_times_that_book(community: Community) -> None:
    c = community
    card = await approved_mentor(c, c.bob)
    await request_call(c, c.alice, card)
    answered = await c.bob.click(request_dm(c.bob), "Decline")
    assert "You declined" in answered.text
    offer = next(dm for dm in c.alice.dms() if "can't make that time" in dm.text)
    assert offer.selects and "Other free times" in offer.text
    option = offer.selects[0]["options"][0]["value"]
    modal = await c.alice.select(offer, "Pick a time", values=[option])
    assert isinstance(modal, Modal)
    again = await final_answer(await c.alice.submit_modal(modal, {"What would you like to talk about?": "Another try"}))
    assert "Request sent" in again.text


async def test_unanswered_request_expires_and_the_member_is_shown_other_times(community: Community) -> None:
    c = community
    card = await approved_mentor(c, c.bob)
    await request_call(c, c.alice, card, days_ahead=3)
    c.clock.advance(timedelta(hours=24, minutes=1))
    await c.run_jobs()
    assert any("didn't answer in time" in dm.text and dm.selects for dm in c.alice.dms())
    assert any("expired before it was answered" in dm.text for dm in c.bob.dms())
    late = await c.bob.click(request_dm(c.bob), "Accept")
    assert "already expired" in late.text


async def test_two_members_racing_for_one_slot_get_one_booking_and_one_just_taken(community: Community) -> None:
    c = community
    card = await approved_mentor(c, c.bob)
    pickers = [await c.alice.click(card, "Book a call"), await c.carol.click(card, "Book a call")]
    option = pickers[0].selects[0]["options"][0]["value"]
    modals = [
        await c.alice.select(pickers[0], "Pick a time", values=[option]),
        await c.carol.select(pickers[1], "Pick a time", values=[option]),
    ]
    answers = await asyncio.gather(
        c.alice.submit_modal(modals[0], {"What would you like to talk about?": "Mine"}),
        c.carol.submit_modal(modals[1], {"What would you like to talk about?": "Mine too"}),
    )
    answers = [await final_answer(a) for a in answers]
    texts = sorted(a.text for a in answers)
    assert sum("Request sent" in t for t in texts) == 1
    taken = next(a for a in answers if "Request sent" not in a.text)
    assert "taken" in taken.text and taken.selects, taken.text
    assert option not in [o["value"] for o in taken.selects[0]["options"]]
    assert c.bot is not None
    calls = await c.bot.services.mentors.upcoming_calls(c.bob.id, c.guild.id)
    assert len(calls) == 1


# --- /calls and cancelling ------------------------------------------------------------------------------------------


async def confirmed_call(c: Community, mentor: Person, member: Person, **options: Any) -> MessageView:
    card = await approved_mentor(c, mentor, **options)
    form = {"phone": MEMBER_PHONE} if options.get("contact") == "i_call_them" else {}
    await request_call(c, member, card, days_ahead=2, **form)
    await mentor.click(request_dm(mentor), "Accept")
    await eventually(lambda: any("is confirmed" in dm.text for dm in member.dms()))
    return card


async def cancel_from_calls(c: Community, person: Person, reason: str) -> MessageView:
    calls = await person.slash("calls", channel=c.general)
    assert isinstance(calls, MessageView) and calls.ephemeral
    form = await person.click(calls, "Cancel 1")
    assert isinstance(form, Modal) and form.title == "Cancel this call?"
    done = await person.submit_modal(form, {"A word for the other person (optional)": reason})
    assert isinstance(done, MessageView)
    return done


async def test_member_cancels_from_calls_and_the_mentor_gets_the_reason_and_a_cancelling_invite(
    community: Community,
) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice)
    calls = await c.alice.slash("calls", channel=c.general)
    assert "your mentor is" in calls.text and c.bob.mention in calls.text
    done = await cancel_from_calls(c, c.alice, "I got an interview at that time")
    assert "Cancelled your call" in done.text and str(invite(done)["method"]) == "CANCEL"
    notice = next(dm for dm in c.bob.dms() if "cancelled the call" in dm.text)
    assert "I got an interview at that time" in notice.text
    cancel = invite(notice)
    assert str(cancel["method"]) == "CANCEL"
    assert str(event(cancel)["uid"]) == str(event(invite(confirmation_dm(c.bob)))["uid"])
    assert int(event(cancel)["sequence"]) > int(event(invite(confirmation_dm(c.bob)))["sequence"])
    assert (await c.alice.slash("calls", channel=c.general)).text.startswith("You have no upcoming calls")


async def test_mentor_cancels_and_no_reminders_follow(community: Community) -> None:
    c = community
    await confirmed_call(c, c.bob, c.alice)
    await cancel_from_calls(c, c.bob, "")
    notice = next(dm for dm in c.alice.dms() if "cancelled the call" in dm.text)
    assert c.bob.mention in notice.text and str(invite(notice)["method"]) == "CANCEL"
    before = len(c.alice.dms())
    c.clock.advance(timedelta(days=4))
    await c.run_jobs()
    assert len(c.alice.dms()) == before


# --- pause, resume, leave ---------------------------------------------------------------------------------------------


async def test_pause_hides_the_mentor_and_resume_brings_the_book_button_back(community: Community) -> None:
    c = community
    card = await approved_mentor(c, c.bob)
    paused = await c.bob.slash("mentor pause", channel=c.general)
    assert "paused" in paused.text
    await after_a_minute(c)
    assert "Taking a break" in card.text and card.buttons[0].get("disabled")
    assert "No mentor is taking calls" in (await c.alice.slash("mentors", channel=c.general)).text
    await c.bob.slash("mentor resume", channel=c.general)
    await after_a_minute(c)
    assert "Taking a break" not in card.text and not card.buttons[0].get("disabled")
    listed = await c.alice.slash("mentors", channel=c.general, topic="interview")
    assert c.bob.mention in listed.text and listed.buttons


async def test_dated_pause_shows_when_the_mentor_is_back(community: Community) -> None:
    c = community
    card = await approved_mentor(c, c.bob)
    await c.bob.slash("mentor pause", channel=c.general, until="2026-12-01")
    await after_a_minute(c)
    assert "Back" in card.text
    picker = await c.alice.click(card, "Book a call")
    assert all(int(o["value"]) >= 1796083200 for o in picker.selects[0]["options"])  # 1 Dec 2026 00:00 London


async def test_leaving_removes_the_card_and_the_role_and_cancels_calls_with_a_message(community: Community) -> None:
    c = community
    card = await confirmed_call(c, c.bob, c.alice)
    prompt = await c.bob.slash("mentor leave", channel=c.general)
    assert "cancels your 1 upcoming call" in prompt.text
    done = await c.bob.click(prompt, "Leave the roster")
    assert "left the roster" in done.text and "1 upcoming call was cancelled" in done.text
    assert card.deleted and roster_cards(c) == []
    assert c.mentors.id not in c.bob.member.roles
    notice = next(dm for dm in c.alice.dms() if "stopped offering calls" in dm.text)
    assert str(invite(notice)["method"]) == "CANCEL"
    assert c.bot is not None
    profile = await c.bot.services.mentors.get(c.guild.id, c.bob.id)
    assert profile is not None and profile.phone_encrypted is None


# --- editing, closed DMs, the check-in's call button -------------------------------------------------------------


async def test_edit_with_options_saves_and_without_options_opens_the_prefilled_form(community: Community) -> None:
    c = community
    card = await approved_mentor(c, c.bob)
    saved = await c.bob.slash("mentor edit", channel=c.general, call_minutes=30, weekly_limit=5)
    assert "Saved" in saved.text
    await after_a_minute(c)
    assert "30 minutes" in card.text and "Calls left this week\n5" in card.text
    form = await c.bob.slash("mentor edit", channel=c.general)
    assert isinstance(form, Modal)
    headline = next(component for label, component in form.inputs if label == "Headline")
    assert headline.get("value") == "Eng manager, fintech, 12 years"
    await c.bob.submit_modal(form, {"Headline": "VP Engineering, payments"})
    await after_a_minute(c)
    assert "VP Engineering, payments" in card.text


async def test_a_mentor_with_closed_dms_is_flagged_to_the_member_and_told_later(community: Community) -> None:
    c = community
    card = await approved_mentor(c, c.bob)
    c.twin.close_dms(c.bob)
    asked = await request_call(c, c.alice, card)
    assert "DMs are closed" in asked.text
    c.twin.open_dms(c.bob)
    later = await c.bob.slash("calls", channel=c.general)
    assert "waiting for the mentor's answer" in later.text
    await eventually(lambda: bool(later.followups))
    [notice] = later.followups
    assert notice.ephemeral and "your DMs look closed" in notice.text


async def test_find_a_commute_call_after_a_stuck_checkin_lists_mentors_to_book(community: Community) -> None:
    c = community
    await approved_mentor(c, c.bob)
    answer = await c.alice.slash("checkin", channel=c.general, status="stuck")
    listed = await c.alice.click(answer, "Find a commute call")
    assert listed.ephemeral and c.bob.mention in listed.text
    picker = await c.alice.click(listed, "Book 1")
    assert picker.selects and picker.ephemeral
