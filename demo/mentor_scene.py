"""The commute-call scene of `make demo`: carol, newly hired, signs up as a mentor, a moderator approves her, her card
appears on the roster, alice books a commute call, carol accepts, and both get the confirmation DM with an invite.
Wired into demo/run.py by the lead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import icalendar

from demo.community import Community, final_answer
from demo.transcript import Transcript
from twin.people import MessageView, Modal

PHONE = "+44 20 7946 0958"


async def booking_a_call(c: Community, t: Transcript) -> None:
    t.heading("Commute-call mentors: carol offers calls on her commute, alice books one")
    t.action(
        c.carol,
        '/mentor signup timezone:Europe/London windows:"Mon-Fri 07:30-08:15" call_minutes:15 contact:"You call me"',
    )
    form = await c.carol.slash(
        "mentor signup",
        channel=c.general,
        timezone="Europe/London",
        windows="Mon-Fri 07:30-08:15",
        call_minutes=15,
        contact="they_call_me",
    )
    assert isinstance(form, Modal)
    t.note(f"a form opens: {', '.join(label for label, _ in form.inputs)}")
    t.action(c.carol, "fills it in (headline, topics, her phone number) and submits")
    await c.carol.submit_modal(
        form,
        {
            "Headline": "Product manager, fintech, hired last month",
            "Topics (comma-separated)": "interviews, product management, career change",
            "About you (optional)": "Eight months of searching before this job; happy to talk through what worked.",
            "Phone number (only booked members get it)": PHONE,
        },
    )
    t.flush()

    application = _last(c, c.queue.id, lambda m: "Mentor application" in m.text)
    t.action(c.mod, "clicks “Approve” on the application in #helper-queue")
    await c.mod.click(application, "Approve")
    t.flush()

    card = _last(c, c.roster.id, lambda m: c.carol.mention in m.text)
    t.action(c.alice, "clicks “Book a call” on carol's card in #mentor-roster")
    picker = await c.alice.click(card, "Book a call")
    t.flush()
    option = picker.selects[0]["options"][2]
    t.action(c.alice, f"picks “{option['label']}”")
    modal = await c.alice.select(picker, "Pick a time", values=[option["value"]])
    assert isinstance(modal, Modal)
    t.action(c.alice, "writes what she'd like to talk about and sends the request")
    await final_answer(
        await c.alice.submit_modal(
            modal, {"What would you like to talk about?": "How to tell my career-change story in PM interviews."}
        )
    )
    t.flush()

    request = next(dm for dm in reversed(c.carol.dms()) if any(b.get("label") == "Accept" for b in dm.buttons))
    t.action(c.carol, "clicks “Accept” in her DM")
    await c.carol.click(request, "Accept")
    await _until(lambda: any("is confirmed" in dm.text for dm in c.alice.dms()))
    t.flush()

    for person in (c.alice, c.carol):
        confirmation = next(dm for dm in reversed(person.dms()) if "is confirmed" in dm.text)
        invite = icalendar.Calendar.from_ical(confirmation.attachments[0].data)
        event = next(iter(invite.walk("VEVENT")))
        t.note(
            f"{person.name}'s invite {confirmation.attachments[0].filename}: METHOD:{invite['method']}, "
            f"UID {event['uid']}, {event.decoded('dtstart'):%a %d %b %H:%M} UTC"
        )
    seen = sorted({f"{p.name} ({v.where})" for p in c.members for v in c.twin.visible_to(p) if PHONE in v.text})
    t.note(f"carol's number is visible to: {', '.join(seen) or 'nobody'}")


def _last(c: Community, channel_id: int, wanted: Callable[[MessageView], bool]) -> MessageView:
    views = [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(channel_id) if m.ephemeral_for is None]
    return next(view for view in reversed(views) if not view.deleted and wanted(view))


async def _until(done: Callable[[], bool], within: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not done():
        assert loop.time() < deadline, "the bot did not finish in time"
        await asyncio.sleep(0.01)
