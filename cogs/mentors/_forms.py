"""The mentor forms: signup and edit (the profile text a slash option is too small for, and the phone number when
needed), the booking request, cancelling a call and thanking a mentor.

Each is built by a function here, from its custom id's ids and, when re-opened after a refusal, what the member
typed (``values``: input custom id -> text). Their submissions are answered by custom id (``cogs/forms.py``, handlers
in ``_cog.py``); nothing lives in a Modal object, so a form open across a restart still works."""

from __future__ import annotations

import re
from typing import Any, Literal

import discord

from cogs._forms import Values, prefill
from services.forms import FormDraft
from services.mentors import Mentor

Text = discord.ui.TextInput[Any]
PhoneInput = Literal["required", "optional"] | None

HEADLINE_LIMIT, TOPICS_LIMIT, ABOUT_LIMIT, PHONE_LIMIT = 100, 300, 1000, 32
TOPIC_LIMIT, REASON_LIMIT, NOTE_LIMIT = 1000, 500, 1000
PHONE_LABEL = "Phone number (only booked members get it)"
KEEP_PHONE_LABEL = "New phone number (leave empty to keep yours)"
MEMBER_PHONE_LABEL = "Your phone number (only the mentor gets it)"
PHONE_PLACEHOLDER = "with the country code, e.g. +44 20 7946 0958"


def _phone_input(values: Values | None, *, required: bool, label: str = PHONE_LABEL) -> Text:
    return discord.ui.TextInput(
        label=label,
        custom_id="phone",
        placeholder=PHONE_PLACEHOLDER,
        max_length=PHONE_LIMIT,
        required=required,
        default=prefill(values, "phone", PHONE_LIMIT),
    )


def _profile_modal(title: str, custom_id: str, values: Values | None, phone: PhoneInput) -> discord.ui.Modal:
    modal = discord.ui.Modal(title=title, custom_id=custom_id, timeout=None)
    modal.add_item(
        discord.ui.TextInput(
            label="Headline",
            custom_id="headline",
            placeholder="e.g. Eng manager, fintech, 12 years",
            max_length=HEADLINE_LIMIT,
            default=prefill(values, "headline", HEADLINE_LIMIT),
        )
    )
    modal.add_item(
        discord.ui.TextInput(
            label="Topics (comma-separated)",
            custom_id="topics",
            placeholder="e.g. interviews, career change, fintech",
            max_length=TOPICS_LIMIT,
            default=prefill(values, "topics", TOPICS_LIMIT),
        )
    )
    modal.add_item(
        discord.ui.TextInput(
            label="About you (optional)",
            custom_id="about",
            style=discord.TextStyle.paragraph,
            placeholder="A few lines members read before booking.",
            max_length=ABOUT_LIMIT,
            required=False,
            default=prefill(values, "about", ABOUT_LIMIT),
        )
    )
    if phone == "required":
        modal.add_item(_phone_input(values, required=True))
    elif phone == "optional":
        modal.add_item(_phone_input(values, required=False, label=KEEP_PHONE_LABEL))
    return modal


# --- /mentor signup: its slash options are kept as the form's draft (the windows are member text) -------------------


def signup_modal(custom_id: str, contact_mode: str, values: Values | None = None) -> discord.ui.Modal:
    phone: PhoneInput = "required" if contact_mode == "they_call_me" else None
    return _profile_modal("Become a commute-call mentor", custom_id, values, phone)


def rebuild_signup(match: re.Match[str], draft: FormDraft) -> discord.ui.Modal:
    return signup_modal(draft.custom_id, str(draft.context.get("contact_mode", "")), draft.values)


# --- /mentor edit: changed options (if any) are kept as the form's draft ---------------------------------------------


def profile_values(mentor: Mentor) -> Values:
    return {"headline": mentor.headline, "topics": ", ".join(mentor.topics), "about": mentor.about or ""}


def edit_phone_input(mentor: Mentor, *, ask_phone: bool) -> PhoneInput:
    if ask_phone:
        return "required"
    return "optional" if mentor.contact_mode == "they_call_me" else None


def edit_modal(custom_id: str, values: Values, phone: PhoneInput) -> discord.ui.Modal:
    return _profile_modal("Edit your mentor profile", custom_id, values, phone)


def rebuild_edit(match: re.Match[str], draft: FormDraft) -> discord.ui.Modal:
    saved = draft.context.get("phone")
    phone: PhoneInput = saved if saved in ("required", "optional") else None
    if phone is None and "phone" in draft.values:
        phone = "optional"
    return edit_modal(draft.custom_id, draft.values, phone)


# --- booking, cancelling, thanking: everything needed is in the custom id ------------------------------------------


def request_modal(
    guild_id: int, mentor_id: int, starts_at: int, *, needs_phone: bool, values: Values | None = None
) -> discord.ui.Modal:
    modal = discord.ui.Modal(
        title="What would you like to talk about?",
        custom_id=f"mentors:request:{guild_id}:{mentor_id}:{starts_at}",
        timeout=None,
    )
    modal.add_item(
        discord.ui.TextInput(
            label="What would you like to talk about?",
            custom_id="topic",
            style=discord.TextStyle.paragraph,
            placeholder="e.g. I have a final-round interview for a PM role next week and would like to practise.",
            max_length=TOPIC_LIMIT,
            required=False,
            default=prefill(values, "topic", TOPIC_LIMIT),
        )
    )
    if needs_phone:
        modal.add_item(_phone_input(values, required=True, label=MEMBER_PHONE_LABEL))
    return modal


def rebuild_request(match: re.Match[str], draft: FormDraft) -> discord.ui.Modal:
    guild_id, mentor_id, starts_at = int(match["guild_id"]), int(match["mentor_id"]), int(match["starts_at"])
    return request_modal(guild_id, mentor_id, starts_at, needs_phone="phone" in draft.values, values=draft.values)


def cancel_modal(booking_id: int, values: Values | None = None) -> discord.ui.Modal:
    modal = discord.ui.Modal(title="Cancel this call?", custom_id=f"mentors:cancelnote:{booking_id}", timeout=None)
    modal.add_item(
        discord.ui.TextInput(
            label="A word for the other person (optional)",
            custom_id="reason",
            style=discord.TextStyle.paragraph,
            placeholder="e.g. Sorry, I have an interview at that time. Could we find another slot?",
            max_length=REASON_LIMIT,
            required=False,
            default=prefill(values, "reason", REASON_LIMIT),
        )
    )
    return modal


def rebuild_cancel(match: re.Match[str], draft: FormDraft) -> discord.ui.Modal:
    return cancel_modal(int(match["booking_id"]), draft.values)


def thanks_modal(booking_id: int, values: Values | None = None) -> discord.ui.Modal:
    modal = discord.ui.Modal(title="Send a thank-you", custom_id=f"mentors:thanknote:{booking_id}", timeout=None)
    modal.add_item(
        discord.ui.TextInput(
            label="Your note (I'll forward it to your mentor)",
            custom_id="note",
            style=discord.TextStyle.paragraph,
            max_length=NOTE_LIMIT,
            default=prefill(values, "note", NOTE_LIMIT),
        )
    )
    return modal


def rebuild_thanks(match: re.Match[str], draft: FormDraft) -> discord.ui.Modal:
    return thanks_modal(int(match["booking_id"]), draft.values)
