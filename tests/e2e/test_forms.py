"""Forms through the twin: every form opened before a restart is answered after it, and a refused form re-opens
filled in with what the member typed (kept as a sealed draft only they can use, deleted by /privacy delete)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from cogs._forms import Form
from demo.community import Community, final_answer
from tests.e2e.test_anonymous import ask_anonymously
from tests.e2e.test_help import ask, cards, help_threads, settled, thread_messages
from tests.e2e.test_mentors import WINDOWS, approved_mentor, request_dm, sign_up
from tests.e2e.test_privacy import scan_database
from twin.people import MessageView, Modal, Person

HEADLINE = "Career switcher, support to eng manager"
TOPICS = "Interviews, Career change"
ABOUT = "I spent nine years in support before moving into engineering; happy to rehearse interviews."
GOOD_PHONE = "+44 20 7946 0958"
BAD_PHONE = "0207 946"
PHONE_LABEL = "Phone number (only booked members get it)"


def bot(c: Community) -> Any:
    assert c.bot is not None
    return c.bot


def prefilled(modal: Modal) -> dict[str, Any]:
    """What each input of the modal shows when it opens (Discord pre-fills a text input with its ``value``)."""
    return {component["custom_id"]: component.get("value") for _, component in modal.inputs}


async def open_signup(c: Community, person: Person, contact: str = "they_call_me") -> Modal:
    form = await person.slash(
        "mentor signup", channel=c.general, timezone="Europe/London", windows=WINDOWS, call_minutes=15, contact=contact
    )
    assert isinstance(form, Modal), form
    return form


def profile(headline: str = HEADLINE, **more: str) -> dict[str, str]:
    return {"Headline": headline, "Topics (comma-separated)": TOPICS, "About you (optional)": ABOUT, **more}


def all_form_keys(c: Community) -> set[str]:
    return {form.key for cog in bot(c).cogs.values() for form in getattr(cog, "forms", ()) if isinstance(form, Form)}


# --- every form across a restart -------------------------------------------------------------------------------------


async def test_every_form_opened_before_a_restart_is_answered_after_it_and_its_data_stored(
    community: Community,
) -> None:
    c = community
    # Open one of every form, each by the person who would: nothing is submitted until after the restart.
    opened: dict[str, Modal] = {}
    card = await approved_mentor(c, c.carol)  # carol: a mentor members call

    # A call that happened (the helper booked carol): the after-call DM offers a thank-you form.
    picker = await c.helper.click(card, "Book a call")
    slot = picker.selects[0]["options"][0]["value"]
    await final_answer(
        await c.helper.submit_modal(
            await c.helper.select(picker, "Pick a time", values=[slot]),
            {"What would you like to talk about?": "Portfolio review"},
        )
    )
    await c.carol.click(request_dm(c.carol), "Accept")
    c.clock.advance(timedelta(seconds=int(slot)) + timedelta(minutes=45) - timedelta(seconds=c.clock.now().timestamp()))
    await c.run_jobs()
    check = next(dm for dm in c.helper.dms() if "Did your call" in dm.text)
    done = await c.helper.click(check, "Yes")
    mentor_thanks = await c.helper.click(done, "Send a thank-you")
    assert isinstance(mentor_thanks, Modal)
    opened["mentors.thanknote"] = mentor_thanks

    opened["mentors.apply"] = await open_signup(c, c.bob)
    await sign_up(c, c.dave, contact="discord_voice")
    edit = await c.dave.slash("mentor edit", channel=c.general, contact="they_call_me", windows="Sat 10:00-11:00")
    assert isinstance(edit, Modal) and edit.custom_id.endswith(":o")
    opened["mentors.profile"] = edit

    picker = await c.alice.click(card, "Book a call")
    options = picker.selects[0]["options"]
    first, second = options[0]["value"], options[-1]["value"]  # far apart: a booking's buffer won't touch the other
    modal = await c.alice.select(picker, "Pick a time", values=[first])
    assert isinstance(modal, Modal)
    opened["mentors.request"] = modal
    other_picker = await c.mod.click(card, "Book a call")
    await final_answer(
        await c.mod.submit_modal(
            await c.mod.select(other_picker, "Pick a time", values=[second]),
            {"What would you like to talk about?": "Salary negotiation"},
        )
    )
    calls = await c.mod.slash("calls", channel=c.general)
    cancel = await c.mod.click(calls, "Cancel 1")
    assert isinstance(cancel, Modal)
    opened["mentors.cancelnote"] = cancel

    ask_form = await c.bob.slash("ask", channel=c.general, topic="interviews")
    assert isinstance(ask_form, Modal)
    opened["help.ask"] = ask_form

    await ask(c.alice, c, body="My CV gets no replies", wants="a second pair of eyes")
    await c.helper2.click(next(card for card in cards(c) if "Request #1" in card.text), "Claim")
    [thread] = help_threads(c)
    await c.alice.slash("close", channel=thread)
    await settled(lambda: any("Did this help?" in dm.text for dm in c.alice.dms()))
    feedback = next(dm for dm in c.alice.dms() if "Did this help?" in dm.text)
    await c.alice.click(feedback, "Yes, it helped")
    help_thanks = await c.alice.click(feedback, "Send a thank-you")
    assert isinstance(help_thanks, Modal)
    opened["help.thanknote"] = help_thanks

    await ask_anonymously(c.dave, c, body="I freeze when a recruiter calls")
    anon_card = next(card for card in cards(c) if "Request #2" in card.text)
    await c.helper.click(anon_card, "Claim")
    [anon_thread] = [t for t in help_threads(c) if t.name.startswith("help-2-")]
    relay_form = await c.helper.click(thread_messages(c, anon_thread)[0], "Reply to member")
    assert isinstance(relay_form, Modal)
    opened["help.relay"] = relay_form

    assert set(opened) == all_form_keys(c), "a form without a restart test"

    await c.restart()
    services = bot(c).services

    signed = await c.bob.submit_modal(opened["mentors.apply"], profile(**{PHONE_LABEL: GOOD_PHONE}))
    assert signed.ephemeral and "Thank you!" in signed.text
    mentor = await services.mentors.get(c.guild.id, c.bob.id)
    assert mentor is not None and mentor.headline == HEADLINE and mentor.about == ABOUT and mentor.has_phone
    assert mentor.windows.startswith("Mon") and mentor.call_minutes == 15 and mentor.contact_mode == "they_call_me"

    edited = await c.dave.submit_modal(
        opened["mentors.profile"], {"Headline": "Now on Saturdays", PHONE_LABEL: GOOD_PHONE}
    )
    assert "Saved" in edited.text
    dave = await services.mentors.get(c.guild.id, c.dave.id)
    assert dave.headline == "Now on Saturdays" and dave.contact_mode == "they_call_me" and dave.has_phone
    assert dave.windows.startswith("Sat")

    requested = await final_answer(
        await c.alice.submit_modal(opened["mentors.request"], {"What would you like to talk about?": "PM loop"})
    )
    assert "Request sent" in requested.text
    assert any("PM loop" in dm.text for dm in c.carol.dms())

    cancelled = await c.mod.submit_modal(opened["mentors.cancelnote"], {"reason": "I got the job"})
    assert cancelled.ephemeral and "cancel" in cancelled.text.lower()
    assert any("I got the job" in dm.text for dm in c.carol.dms())

    forwarded = await c.helper.submit_modal(
        opened["mentors.thanknote"], {"note": "Your portfolio tips landed me a call"}
    )
    assert "Sent" in forwarded.text
    assert any("Your portfolio tips landed me a call" in dm.text for dm in c.carol.dms())

    asked = await final_answer(
        await c.bob.submit_modal(opened["help.ask"], {"body": "Stuck after final rounds", "wants": "mock interview"})
    )
    assert asked.ephemeral and len(help_threads(c)) == 3
    openings = [MessageView(c.twin, c.twin.state.channel_messages(t.id)[0].id) for t in help_threads(c)]
    assert any("Stuck after final rounds" in opening.text for opening in openings)

    thanked = await c.alice.submit_modal(opened["help.thanknote"], {"thanks": "Thank you for the CV notes"})
    assert "Sent to 1 helper" in thanked.text
    assert "Thank you for the CV notes" in c.helper2.dms()[-1].text

    relayed = await c.helper.submit_modal(opened["help.relay"], {"text": "Try the two-breath pause before answering"})
    assert "replied to the member" in relayed.text
    assert "Try the two-breath pause before answering" in c.dave.dms()[-1].text

    # Every form went through, so no draft is left behind.
    assert await services.forms.export_member(c.bob.id) == []
    assert await services.forms.export_member(c.dave.id) == []


# --- a refused form re-opens filled in -------------------------------------------------------------------------------


async def refused_signup(c: Community) -> MessageView:
    form = await open_signup(c, c.bob)
    refused = await c.bob.submit_modal(form, profile(**{PHONE_LABEL: BAD_PHONE}))
    assert isinstance(refused, MessageView)
    return refused


async def test_refused_phone_at_signup_keeps_headline_and_about_and_reopens_the_form_filled_in(
    community: Community,
) -> None:
    c = community
    refused = await refused_signup(c)
    assert refused.ephemeral and "country code" in refused.text
    assert [b["label"] for b in refused.buttons] == ["Edit my answers"]
    assert await bot(c).services.mentors.get(c.guild.id, c.bob.id) is None

    again = await c.bob.click(refused, "Edit my answers")
    assert isinstance(again, Modal) and again.title == "Become a commute-call mentor"
    assert prefilled(again) == {"headline": HEADLINE, "topics": TOPICS, "about": ABOUT, "phone": BAD_PHONE}

    signed = await c.bob.submit_modal(again, {PHONE_LABEL: GOOD_PHONE})  # only the number is retyped
    assert "Thank you!" in signed.text
    mentor = await bot(c).services.mentors.get(c.guild.id, c.bob.id)
    assert mentor is not None and mentor.headline == HEADLINE and mentor.about == ABOUT and mentor.has_phone
    gone = await c.bob.click(refused, "Edit my answers")
    assert "nothing to edit" in gone.text


async def test_a_refused_form_reopens_filled_in_after_a_restart(community: Community) -> None:
    c = community
    refused = await refused_signup(c)
    await c.restart()
    again = await c.bob.click(refused, "Edit my answers")
    assert isinstance(again, Modal)
    assert prefilled(again)["about"] == ABOUT
    refused_twice = await c.bob.submit_modal(again, {PHONE_LABEL: "12"})
    assert "Edit my answers" in refused_twice.text
    third = await c.bob.click(refused_twice, "Edit my answers")
    assert isinstance(third, Modal) and prefilled(third)["phone"] == "12" and prefilled(third)["headline"] == HEADLINE


async def test_refused_help_request_reopens_with_the_text_kept(community: Community) -> None:
    c = community
    first = await c.alice.slash("ask", channel=c.general, topic="interviews")
    second = await c.alice.slash("ask", channel=c.general, topic="networking")
    assert isinstance(first, Modal) and isinstance(second, Modal)
    await final_answer(await c.alice.submit_modal(first, {"body": "Final rounds keep going nowhere"}))
    # The second form was open before the first was sent: the server's cool-down refuses it at submit.
    refused = await c.alice.submit_modal(second, {"body": "Nobody answers my messages", "wants": "an intro"})
    assert "add anything new in" in refused.text and [b["label"] for b in refused.buttons] == ["Edit my answers"]
    assert len(help_threads(c)) == 1
    again = await c.alice.click(refused, "Edit my answers")
    assert isinstance(again, Modal) and again.custom_id == second.custom_id
    assert prefilled(again) == {"body": "Nobody answers my messages", "wants": "an intro"}
    c.clock.advance(timedelta(hours=1))
    opened = await final_answer(await c.alice.submit_modal(again, {}))  # sent as it was, once the cool-down is over
    assert "Your private thread is open" in opened.text and len(help_threads(c)) == 2


async def test_refused_booking_request_reopens_with_the_topic_kept(community: Community) -> None:
    c = community
    card = await approved_mentor(c, c.bob, contact="i_call_them")
    picker = await c.alice.click(card, "Book a call")
    modal = await c.alice.select(picker, "Pick a time", values=[picker.selects[0]["options"][0]["value"]])
    assert isinstance(modal, Modal)
    member_phone = "Your phone number (only the mentor gets it)"
    topic = "Practising a system design interview"
    refused = await c.alice.submit_modal(
        modal, {"What would you like to talk about?": topic, member_phone: "not a number"}
    )
    assert "Edit my answers" in refused.text
    again = await c.alice.click(refused, "Edit my answers")
    assert isinstance(again, Modal) and prefilled(again) == {"topic": topic, "phone": "not a number"}
    sent = await final_answer(await c.alice.submit_modal(again, {member_phone: "+1 212 555 0142"}))
    assert "Request sent" in sent.text


# --- privacy ---------------------------------------------------------------------------------------------------------


async def test_a_draft_is_sealed_private_to_its_author_and_gone_with_privacy_delete(community: Community) -> None:
    c = community
    refused = await refused_signup(c)
    c.twin.assert_only_visible_to("Edit my answers", allowed=[c.bob])
    # At rest the typed text is encrypted: no column holds it.
    assert scan_database(str(c.database_path), None, (ABOUT, HEADLINE, BAD_PHONE)) == []
    drafts = bot(c).services.forms
    [draft] = await drafts.export_member(c.bob.id)
    assert draft["form"] == "mentors.apply" and draft["typed"]["about"] == ABOUT
    draft_id = int(refused.buttons[0]["custom_id"].rsplit(":", 1)[1])
    assert await drafts.get_by_id(draft_id, c.alice.id) is None  # nobody else can re-open it
    assert (await drafts.get_by_id(draft_id, c.bob.id)) is not None

    export = json.loads((await c.bob.slash("privacy export", channel=c.general)).attachments[0].data)
    assert export["form_drafts"][0]["typed"]["headline"] == HEADLINE

    shown = await c.bob.slash("privacy show", channel=c.general)
    assert "Unsent forms" in shown.text and ABOUT not in shown.text

    prompt = await c.bob.slash("privacy delete", channel=c.general)
    await c.bob.click(prompt, "Delete everything")
    assert scan_database(str(c.database_path), c.bob.id, ()) == []
    gone = await c.bob.click(refused, "Edit my answers")
    assert "nothing to edit" in gone.text


async def test_a_draft_expires_after_a_day(community: Community) -> None:
    c = community
    refused = await refused_signup(c)
    c.clock.advance(timedelta(hours=24, minutes=1))
    gone = await c.bob.click(refused, "Edit my answers")
    assert "more than a day old" in gone.text
    assert any(t.startswith("form_drafts") for t in scan_database(str(c.database_path), c.bob.id, ()))
    await bot(c).services.privacy.purge_expired()
    assert [t for t in scan_database(str(c.database_path), c.bob.id, ()) if t.startswith("form_drafts")] == []


async def test_a_signup_form_older_than_a_day_asks_to_run_the_command_again(community: Community) -> None:
    c = community
    form = await open_signup(c, c.bob)
    c.clock.advance(timedelta(hours=25))
    late = await c.bob.submit_modal(form, profile(**{PHONE_LABEL: GOOD_PHONE}))
    assert "run /mentor signup again" in late.text
    assert await bot(c).services.mentors.get(c.guild.id, c.bob.id) is None


async def test_edit_with_a_malformed_window_is_refused_before_the_form_opens(community: Community) -> None:
    c = community
    await sign_up(c, c.dave, contact="discord_voice")
    refused = await c.dave.slash("mentor edit", channel=c.general, contact="they_call_me", windows="Mon 25:00-26:00")
    assert isinstance(refused, MessageView) and refused.ephemeral, "a form whose options can never be saved"
    assert (await bot(c).services.mentors.get(c.guild.id, c.dave.id)).contact_mode == "discord_voice"


async def test_a_form_sent_while_the_bot_drains_for_a_restart_is_kept_and_sent_after_it(community: Community) -> None:
    c = community
    form = await open_signup(c, c.bob)
    bot(c).draining = True  # the moment shutdown begins: new work is refused
    refused = await c.bob.submit_modal(form, profile(**{PHONE_LABEL: GOOD_PHONE}))
    assert "restarting" in refused.text and [b["label"] for b in refused.buttons] == ["Edit my answers"]
    await c.restart()
    again = await c.bob.click(refused, "Edit my answers")
    assert isinstance(again, Modal) and prefilled(again)["phone"] == GOOD_PHONE
    signed = await c.bob.submit_modal(again, {})
    assert "Thank you!" in signed.text
    assert (await bot(c).services.mentors.get(c.guild.id, c.bob.id)).headline == HEADLINE
