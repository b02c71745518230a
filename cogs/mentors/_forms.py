"""The signup and edit forms: the profile text a slash option is too small for, and the phone number when needed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import discord

from cogs._ui import answer_error, reply
from cogs.mentors._views import desk
from services.mentors import Mentor

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
Text = discord.ui.TextInput[Any]


@dataclass(frozen=True, slots=True)
class Signup:
    timezone: str
    windows: str
    call_minutes: int
    contact_mode: str
    weekly_limit: int


def _phone_input(required: bool, label: str = "Phone number (only booked members get it)") -> Text:
    return discord.ui.TextInput(
        label=label,
        placeholder="with the country code, e.g. +44 20 7946 0958",
        max_length=32,
        required=required,
    )


def _profile_inputs(mentor: Mentor | None) -> tuple[Text, Text, Text]:
    headline: Text = discord.ui.TextInput(
        label="Headline",
        placeholder="e.g. Eng manager, fintech, 12 years",
        max_length=100,
        default=mentor.headline if mentor else None,
    )
    topics: Text = discord.ui.TextInput(
        label="Topics (comma-separated)",
        placeholder="e.g. interviews, career change, fintech",
        max_length=300,
        default=", ".join(mentor.topics) if mentor else None,
    )
    about: Text = discord.ui.TextInput(
        label="About you (optional)",
        style=discord.TextStyle.paragraph,
        placeholder="A few lines members read before booking.",
        max_length=1000,
        required=False,
        default=(mentor.about or None) if mentor else None,
    )
    return headline, topics, about


class SignupForm(discord.ui.Modal, title="Become a commute-call mentor"):
    def __init__(self, signup: Signup) -> None:
        super().__init__(custom_id="mentors:form:signup", timeout=900)
        self.signup = signup
        self.headline, self.topics, self.about = _profile_inputs(None)
        for item in (self.headline, self.topics, self.about):
            self.add_item(item)
        self.phone: Text | None = None
        if signup.contact_mode == "they_call_me":
            self.phone = _phone_input(required=True)
            self.add_item(self.phone)

    async def on_submit(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        s = self.signup
        mentor = await desk(interaction).mentors.signup(
            interaction.guild_id,
            interaction.user.id,
            timezone=s.timezone,
            windows=s.windows,
            call_minutes=s.call_minutes,
            contact_mode=s.contact_mode,
            headline=self.headline.value,
            topics=self.topics.value,
            about=self.about.value,
            phone=self.phone.value if self.phone is not None else None,
            weekly_limit=s.weekly_limit,
        )
        await desk(interaction).after_signup(interaction, mentor)

    async def on_error(self, interaction: Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await answer_error(interaction, error)


class EditForm(discord.ui.Modal, title="Edit your mentor profile"):
    def __init__(self, mentor: Mentor, changes: dict[str, Any], *, ask_phone: bool) -> None:
        super().__init__(custom_id="mentors:form:edit", timeout=900)
        self.changes = changes
        self.headline, self.topics, self.about = _profile_inputs(mentor)
        for item in (self.headline, self.topics, self.about):
            self.add_item(item)
        self.phone: Text | None = None
        if ask_phone or mentor.contact_mode == "they_call_me":
            keep = "New phone number (leave empty to keep yours)"
            self.phone = _phone_input(ask_phone) if ask_phone else _phone_input(False, keep)
            self.add_item(self.phone)

    async def on_submit(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        phone = self.phone.value.strip() if self.phone is not None and self.phone.value else None
        updated = await desk(interaction).mentors.edit(
            interaction.guild_id,
            interaction.user.id,
            headline=self.headline.value,
            topics=self.topics.value,
            about=self.about.value,
            phone=phone,
            **self.changes,
        )
        await reply(interaction, "Saved. Your roster card updates within a minute.")
        await desk(interaction).roster.refresh(updated.guild_id, updated.user_id)

    async def on_error(self, interaction: Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await answer_error(interaction, error)
