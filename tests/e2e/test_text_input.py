"""NUL and other control characters in every free-text field, through the twin: each either stores and shows the
cleaned text or answers with the field's clear message; nobody ever gets the generic apology.

Fields: the check-in note, the help request's two boxes, the /close note, the thank-you to helpers, the block
reason, the mentor profile (time zone, windows, headline, topics, about, phone; at signup and edit), the pause date,
the /mentors topic search, the booking form (topic, phone), the cancel reason, the thank-you to a mentor, and the
reminder time and time zone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cogs._ui import SOMETHING_BROKE
from demo.community import Community
from services.help_requests import BODY_LIMIT
from storage import checkins as checkin_store
from tests.e2e.test_help import ask, cards, help_threads, settled, thread_messages
from tests.e2e.test_mentors import (
    after_a_minute,
    approval_card,
    approved_mentor,
    cancel_from_calls,
    confirmed_call,
    eventually,
    request_call,
    request_dm,
)
from twin.people import MessageView, Modal

CONTROLS = "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x80\x9b\x9f\u200b\u202e\ufeff"  # NUL, C0, DEL, C1, invisible format


def dirty(text: str) -> str:
    """``text`` with a NUL first, control and invisible characters around and inside, and Windows line endings."""
    words = text.replace("\n", "\r\n").split(" ")
    return "\x00" + f" {CONTROLS[1:4]}".join(words) + CONTROLS


def shows(text: str, shown: str) -> bool:
    """Every line of ``text`` is in ``shown`` (which may quote it line by line), and no control character is."""
    return all(line in shown for line in text.splitlines()) and not any(ch in shown for ch in CONTROLS)


@pytest.fixture
async def c(community: Community) -> AsyncIterator[Community]:
    """The community; afterwards, no message anywhere (ephemeral, DM, channel) is the generic apology."""
    yield community
    apologies = [m.id for m in community.twin.state.messages.values() if SOMETHING_BROKE[:40] in (m.content or "")]
    assert apologies == [], "someone got the generic apology"


def test_dirty_text_really_holds_nul_and_controls() -> None:
    sample = dirty("two words\nand a line")
    assert sample.startswith("\x00") and "\x1b" in sample and "\r\n" in sample and "\x9f" in sample


# --- check-ins --------------------------------------------------------------------------------------------------------


async def test_a_check_in_note_with_nul_and_controls_is_stored_and_shared_cleaned(c: Community) -> None:
    note = "No replies from 40 applications\nand I'm tired"
    answer = await c.alice.slash(
        "checkin", channel=c.general, status="Stuck", note=dirty(note), share_with_helpers=True
    )
    assert answer.ephemeral and "note will be shown to the helpers" in answer.text
    assert c.bot is not None
    [stored] = await checkin_store.recent_checkins(c.bot.db.conn, c.guild.id, c.alice.id, 5)
    assert stored.note == note
    [notice] = [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(c.queue.id)]
    assert shows(note, notice.text)


async def test_a_check_in_note_of_only_control_characters_is_no_note(c: Community) -> None:
    answer = await c.alice.slash("checkin", channel=c.general, status="Stuck", note=CONTROLS, share_with_helpers=True)
    assert answer.ephemeral and "note will be shown" not in answer.text
    assert c.bot is not None
    [stored] = await checkin_store.recent_checkins(c.bot.db.conn, c.guild.id, c.alice.id, 5)
    assert stored.note is None


async def test_reminder_time_and_time_zone_with_controls_are_read(c: Community) -> None:
    answer = await c.alice.slash(
        "reminders checkin", channel=c.general, every="daily", time=dirty("08:30"), timezone=dirty("Europe/Berlin")
    )
    assert "Reminders set" in answer.text
    assert c.bot is not None
    schedule = await c.bot.services.reminders.show(c.guild.id, c.alice.id)
    assert schedule is not None and schedule.schedule.timezone == "Europe/Berlin"


# --- help requests ----------------------------------------------------------------------------------------------------


async def test_a_help_request_with_nul_in_both_boxes_opens_with_the_cleaned_text(c: Community) -> None:
    body, wants = "Recruiters ghost me\nafter the first call", "a mock call"
    answer = await ask(c.alice, c, body=dirty(body), wants=dirty(wants))
    [thread] = help_threads(c)
    assert f"<#{thread.id}>" in answer.text
    assert shows(body, thread_messages(c, thread)[0].text)
    [card] = cards(c)
    assert shows(wants, card.text)
    assert c.bot is not None
    request = await c.bot.services.help_requests.by_thread(thread.id)
    assert request is not None and (request.body, request.wants) == (body, wants)


async def test_a_help_request_of_only_controls_gets_the_empty_box_message(c: Community) -> None:
    answer = await ask(c.alice, c, body=CONTROLS + "\r\n", wants=CONTROLS)
    assert answer.ephemeral and "the first box can't be empty" in answer.text
    assert help_threads(c) == []


async def test_a_help_request_is_measured_after_cleaning(c: Community) -> None:
    answer = await ask(c.alice, c, body="\x00" * 5 + "b" * (BODY_LIMIT - 5), wants="")
    [thread] = help_threads(c)
    assert f"<#{thread.id}>" in answer.text


async def test_a_close_note_and_a_thank_you_with_controls_arrive_cleaned(c: Community) -> None:
    await ask(c.alice, c)
    await c.helper.click(cards(c)[0], "Claim")
    [thread] = help_threads(c)
    closed = await c.alice.slash("close", channel=thread, note=dirty("Sorted, thank you"))
    assert shows("Sorted, thank you", closed.text)
    await settled(lambda: thread.locked and bool(c.alice.dms()))
    dm = c.alice.dms()[-1]
    await c.alice.click(dm, "Yes, it helped")
    form = await c.alice.click(dm, "Send a thank-you")
    assert isinstance(form, Modal)
    empty = await c.alice.submit_modal(form, {"thanks": CONTROLS})
    assert empty.ephemeral and "came through empty" in empty.text
    assert not any("A thank-you" in m.text for m in c.helper.dms())
    form = await c.alice.click(dm, "Send a thank-you")
    assert isinstance(form, Modal)
    sent = await c.alice.submit_modal(form, {"thanks": dirty("The mock interview\nhelped so much")})
    assert "Sent to 1 helper" in sent.text
    assert shows("The mock interview\nhelped so much", c.helper.dms()[-1].text)


# --- moderation -------------------------------------------------------------------------------------------------------


async def test_a_block_reason_with_nul_is_stored_cleaned(c: Community) -> None:
    answer = await c.mod.slash("block", channel=c.general, member=c.alice, reason=dirty("Spamming the queue"))
    assert "can't open help requests" in answer.text
    assert c.bot is not None
    block = await c.bot.services.safety.active_block(c.guild.id, c.alice.id)
    assert block is not None and block.reason == "Spamming the queue"
    shown = await c.alice.slash("privacy show", channel=c.general)
    assert "Moderator block" in shown.text and shows("", shown.text)


async def test_a_block_reason_of_only_controls_is_no_reason(c: Community) -> None:
    await c.mod.slash("block", channel=c.general, member=c.alice, reason=CONTROLS)
    assert c.bot is not None
    block = await c.bot.services.safety.active_block(c.guild.id, c.alice.id)
    assert block is not None and block.reason is None


# --- mentors ----------------------------------------------------------------------------------------------------------


async def test_a_mentor_signup_with_controls_in_every_field_is_stored_cleaned(c: Community) -> None:
    form = await c.bob.slash(
        "mentor signup",
        channel=c.general,
        timezone=dirty("Europe/London"),
        windows=dirty("Mon-Fri 07:30-08:30"),
        call_minutes=15,
        contact="they_call_me",
    )
    assert isinstance(form, Modal), form
    answer = await c.bob.submit_modal(
        form,
        {
            "Headline": dirty("Eng manager, fintech"),
            "Topics (comma-separated)": dirty("Interviews, Career change"),
            "About you (optional)": dirty("Twelve years\nin payments"),
            "Phone number (only booked members get it)": "\x00+44 20 7946 0958\x1b\u200b",  # the box takes 32
        },
    )
    assert "moderator will look" in answer.text
    assert c.bot is not None
    mentor = await c.bot.services.mentors.get(c.guild.id, c.bob.id)
    assert mentor is not None
    assert (mentor.headline, mentor.about) == ("Eng manager, fintech", "Twelve years\nin payments")
    assert mentor.topics == ("interviews", "career-change") and mentor.timezone == "Europe/London"
    assert shows("Eng manager, fintech\nTwelve years\nin payments", approval_card(c).text)


async def test_a_headline_of_only_controls_gets_the_fill_in_message(c: Community) -> None:
    options = {"timezone": "Europe/London", "windows": "Mon 07:30-08:30", "call_minutes": 15}
    form = await c.bob.slash("mentor signup", channel=c.general, contact="discord_voice", **options)
    assert isinstance(form, Modal)
    answer = await c.bob.submit_modal(form, {"Headline": CONTROLS, "Topics (comma-separated)": "interviews"})
    assert answer.ephemeral and "Please fill in your headline." in answer.text
    assert c.bot is not None and await c.bot.services.mentors.get(c.guild.id, c.bob.id) is None


async def test_mentor_edit_pause_and_topic_search_read_text_with_controls(c: Community) -> None:
    card = await approved_mentor(c, c.bob)
    saved = await c.bob.slash(
        "mentor edit", channel=c.general, timezone=dirty("Europe/Paris"), windows=dirty("Tue 18:00-19:00")
    )
    assert "Saved" in saved.text
    form = await c.bob.slash("mentor edit", channel=c.general)
    assert isinstance(form, Modal)
    await c.bob.submit_modal(form, {"Headline": dirty("VP Engineering, payments")})
    await after_a_minute(c)
    assert shows("VP Engineering, payments", card.text)
    assert c.bot is not None
    mentor = await c.bot.services.mentors.get(c.guild.id, c.bob.id)
    assert mentor is not None and mentor.timezone == "Europe/Paris" and mentor.headline == "VP Engineering, payments"
    found = await c.alice.slash("mentors", channel=c.general, topic=dirty("interviews"))
    assert c.bob.mention in found.text
    paused = await c.bob.slash("mentor pause", channel=c.general, until=dirty("2026-12-07"))
    assert paused.ephemeral and "couldn't read" not in paused.text
    mentor = await c.bot.services.mentors.get(c.guild.id, c.bob.id)
    assert mentor is not None and mentor.status == "paused" and mentor.paused_until is not None


async def test_a_booking_request_with_controls_reaches_the_mentor_cleaned(c: Community) -> None:
    card = await approved_mentor(c, c.bob, contact="i_call_them")
    topic = "Practising for a PM final round\nnext Tuesday"
    answer = await request_call(c, c.alice, card, days_ahead=2, topic=dirty(topic), phone="\x00+1 212 555 0142\x7f")
    assert "Request sent" in answer.text
    request = request_dm(c.bob)
    assert shows(topic, request.text)
    assert c.bot is not None
    [booking] = await c.bot.services.mentors.upcoming_calls(c.alice.id, c.guild.id)
    assert booking.topic_text == topic


async def test_a_cancel_reason_with_controls_reaches_the_other_person_cleaned(c: Community) -> None:
    await confirmed_call(c, c.bob, c.alice)
    done = await cancel_from_calls(c, c.alice, dirty("I got an interview at that time"))
    assert "Cancelled your call" in done.text
    notice = next(dm for dm in c.bob.dms() if "cancelled the call" in dm.text)
    assert shows("I got an interview at that time", notice.text)


async def test_a_thank_you_to_a_mentor_with_controls_arrives_cleaned_and_an_empty_one_is_refused(
    c: Community,
) -> None:
    await confirmed_call(c, c.bob, c.alice)
    assert c.bot is not None
    [booking] = await c.bot.services.mentors.upcoming_calls(c.alice.id, c.guild.id)
    c.clock.advance(booking.ends_at - c.clock.now())
    c.clock.advance(minutes=30)
    await c.run_jobs()
    await eventually(lambda: any("Did your call" in dm.text for dm in c.alice.dms()))
    check = next(dm for dm in c.alice.dms() if "Did your call" in dm.text)
    label = "Your note (I'll forward it to your mentor)"
    form = await c.alice.click(check, "Send a thank-you")
    assert isinstance(form, Modal)
    empty = await c.alice.submit_modal(form, {label: CONTROLS})
    assert empty.ephemeral and "came through empty" in empty.text
    form = await c.alice.click(check, "Send a thank-you")
    assert isinstance(form, Modal)
    sent = await c.alice.submit_modal(form, {label: dirty("That helped\na lot")})
    assert "Sent" in sent.text
    assert any(shows("That helped\na lot", dm.text) for dm in c.bob.dms())
