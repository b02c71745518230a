"""/mentor signup|edit|pause|resume|leave, /mentors, /calls, and the booking jobs. Rules live in
services.mentors; the work after each call is in ``_desk``; this reads interactions and hands them on."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from cogs._forms import Form, Values, send_form
from cogs._ui import reply
from cogs.mentors import _forms as forms
from cogs.mentors import _render as render
from cogs.mentors._away import Away
from cogs.mentors._desk import Desk
from cogs.mentors._effects import MentorEffects
from cogs.mentors._moves import Moves
from cogs.mentors._roster import ROSTER_JOB
from cogs.mentors._views import COG_NAME, leave_view
from services.jobs import JobKind
from services.mentors import (
    AFTER_CALL_JOB,
    EXPIRY_JOB,
    REMINDER_JOB,
    VOICE_CREATE_JOB,
    VOICE_DELETE_JOB,
    Mentor,
    MentorError,
    mentor_subject,
    validate_timezone,
)
from services.text import clean_text
from services.timezones import suggest_timezones
from services.windows import parse_windows
from storage.db import from_epoch

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
EXPIRED = (
    "This form is more than a day old, so I no longer have the options you chose with it. Please run {command} again."
)
MINUTE_CHOICES: list[Choice[int]] = [Choice(name=f"{m} minutes", value=m) for m in (10, 15, 20, 30)]
CONTACT: list[Choice[str]] = [Choice(name=name, value=value) for name, value in render.CONTACT_CHOICES]


def _zone(text: str) -> str:
    """A time zone as typed (IANA name or city) to its IANA name; refusal says what to type."""
    return validate_timezone(text).key


class MentorCog(commands.Cog, name=COG_NAME):
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot
        self.mentors = bot.services.mentors
        self.desk = Desk(bot)
        self.effects = MentorEffects(self.desk, bot.effects)
        self.moves = Moves(self.desk, self.effects, bot.effects)
        self.away_desk = Away(self.desk, self.effects, bot.effects)
        self._reconciling: asyncio.Task[None] | None = None
        self.forms = (
            Form(
                "mentors.apply",
                submit=self._submit_signup,
                rebuild=forms.rebuild_signup,
                needs_context=lambda _: True,
                expired=EXPIRED.format(command="/mentor signup"),
            ),
            Form(
                "mentors.profile",
                submit=self._submit_edit,
                rebuild=forms.rebuild_edit,
                needs_context=lambda match: bool(match["options"]),
                expired=EXPIRED.format(command="/mentor edit"),
            ),
            Form("mentors.request", submit=self._submit_request, rebuild=forms.rebuild_request),
            Form("mentors.cancelnote", submit=self._submit_cancel, rebuild=forms.rebuild_cancel),
            Form("mentors.thanknote", submit=self._submit_thanks, rebuild=forms.rebuild_thanks),
        )

    async def cog_load(self) -> None:
        jobs = self.bot.services.jobs
        for kind in (
            JobKind(EXPIRY_JOB, self.desk.on_expiry),
            JobKind(REMINDER_JOB, self.desk.on_reminder),
            JobKind(AFTER_CALL_JOB, self.desk.on_after_call),
            JobKind(VOICE_CREATE_JOB, self.desk.on_voice_create),
            JobKind(VOICE_DELETE_JOB, self.desk.on_voice_delete),
            JobKind(ROSTER_JOB, self.desk.roster.on_job),
            *self.moves.job_kinds(),
        ):
            if kind.name not in jobs.kinds:
                jobs.register(kind)

    async def cog_unload(self) -> None:
        if self._reconciling is not None:
            self._reconciling.cancel()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self._reconciling is None or self._reconciling.done():
            self._reconciling = asyncio.create_task(self.desk.roster.reconcile(), name="porchlight-roster")

    @commands.Cog.listener()
    async def on_app_command_completion(self, interaction: Interaction, command: Any) -> None:
        # An application that waited for the helper queue is posted once the queue is set (or re-checked).
        if interaction.guild_id is not None and command.qualified_name in ("setup channels", "setup check"):
            await self.desk.retry_waiting(interaction.guild_id)

    # --- /mentor -----------------------------------------------------------------------------------------------------

    mentor = app_commands.Group(name="mentor", description="Offer short commute calls to members", guild_only=True)

    @mentor.command(name="signup", description="Offer short calls in weekly windows that suit you")
    @app_commands.describe(
        timezone="Your time zone or a nearby city, e.g. Europe/London or Sydney",
        windows=render.WINDOWS_HELP,
        call_minutes="How long each call is",
        contact="How calls happen: members call you, you call them, or Discord voice",
        weekly_limit="At most this many calls a week (1-20, default 3)",
    )
    @app_commands.choices(call_minutes=MINUTE_CHOICES)
    @app_commands.choices(contact=CONTACT)
    async def signup(
        self,
        interaction: Interaction,
        timezone: str,
        windows: str,
        call_minutes: Choice[int],
        contact: Choice[str],
        weekly_limit: app_commands.Range[int, 1, 20] = 3,
    ) -> None:
        existing = await self.mentors.get(interaction.guild_id or 0, interaction.user.id)
        if existing is not None and existing.status in ("pending_approval", "active", "paused"):
            raise MentorError("You're already signed up as a mentor here. Use /mentor edit to change your profile.")
        zone = _zone(timezone)
        parse_windows(windows, call_minutes=call_minutes.value)  # a bad window is refused before the form
        custom_id = f"mentors:apply:{interaction.id}"
        options = {
            "timezone": zone,
            "windows": windows,
            "call_minutes": call_minutes.value,
            "contact_mode": contact.value,
            "weekly_limit": weekly_limit,
        }
        await self.bot.services.forms.opened(
            interaction.user.id, interaction.guild_id, "mentors.apply", custom_id, options
        )
        await send_form(interaction, forms.signup_modal(custom_id, contact.value))

    @signup.autocomplete("timezone")
    async def signup_timezone(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        return [Choice(name=label, value=value) for label, value in suggest_timezones(current)]

    @mentor.command(name="edit", description="Change your mentor profile (with no options: headline, topics, about)")
    @app_commands.describe(
        timezone="Your time zone or a nearby city",
        windows=render.WINDOWS_HELP,
        call_minutes="How long each call is",
        contact="How calls happen",
        weekly_limit="At most this many calls a week (1-20)",
    )
    @app_commands.choices(call_minutes=MINUTE_CHOICES)
    @app_commands.choices(contact=CONTACT)
    async def edit(
        self,
        interaction: Interaction,
        timezone: str | None = None,
        windows: str | None = None,
        call_minutes: Choice[int] | None = None,
        contact: Choice[str] | None = None,
        weekly_limit: app_commands.Range[int, 1, 20] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        mentor = await self.mentors.get(interaction.guild_id, interaction.user.id)
        if mentor is None or mentor.status in ("left", "declined"):
            raise MentorError("You're not a mentor on this server. Use /mentor signup to offer calls.")
        changes: dict[str, Any] = {
            "timezone": _zone(timezone) if timezone else None,
            "windows": windows,
            "call_minutes": call_minutes.value if call_minutes else None,
            "contact_mode": contact.value if contact else None,
            "weekly_limit": weekly_limit,
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        if windows is not None:  # refused before a form opens, since the form cannot change the windows
            parse_windows(windows, call_minutes=changes.get("call_minutes", mentor.call_minutes))
        needs_number = changes.get("contact_mode") == "they_call_me" and not mentor.has_phone
        if not changes or needs_number:
            await self._open_edit_form(interaction, mentor, changes, ask_phone=needs_number)
            return
        updated = await self.mentors.edit(interaction.guild_id, interaction.user.id, **changes)
        await reply(interaction, "Saved. Your roster card updates within a minute.")
        await self.desk.flush(mentor_subject(updated.guild_id, updated.user_id))

    @mentor.command(name="pause", description="Take a break from calls; calls already booked stay booked")
    @app_commands.describe(until="The date you're back, as YYYY-MM-DD (your time zone); leave out to pause")
    async def pause(self, interaction: Interaction, until: str | None = None) -> None:
        assert interaction.guild_id is not None
        mentor = await self.mentors.get(interaction.guild_id, interaction.user.id)
        back = _back_on(until, mentor.timezone if mentor else "UTC") if until else None
        paused = await self.mentors.pause(interaction.guild_id, interaction.user.id, back)
        await reply(interaction, render.paused(paused))
        await self.desk.flush(mentor_subject(paused.guild_id, paused.user_id))

    @mentor.command(name="away", description="Days you take no calls: your slots on those dates disappear")
    @app_commands.describe(
        from_="First day away, YYYY-MM-DD (your time zone)", to="Last day away, YYYY-MM-DD (included)"
    )
    @app_commands.rename(from_="from")
    async def away(self, interaction: Interaction, from_: str, to: str) -> None:
        assert interaction.guild_id is not None
        result = await self.mentors.set_away(interaction.guild_id, interaction.user.id, from_, to)
        await self.away_desk.set(interaction, result)

    @mentor.command(name="travel", description="Days you're in another time zone: your weekly times follow you")
    @app_commands.describe(
        from_="First day there, YYYY-MM-DD",
        to="Last day there, YYYY-MM-DD (included)",
        timezone="Where you'll be: a time zone or a nearby city, e.g. America/New_York or Tokyo",
    )
    @app_commands.rename(from_="from")
    async def travel(self, interaction: Interaction, from_: str, to: str, timezone: str) -> None:
        assert interaction.guild_id is not None
        result = await self.mentors.set_travel(interaction.guild_id, interaction.user.id, from_, to, timezone)
        await self.away_desk.set(interaction, result)

    @travel.autocomplete("timezone")
    async def travel_timezone(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        return [Choice(name=label, value=value) for label, value in suggest_timezones(current)]

    @mentor.command(name="away-list", description="Your away and travel dates, with Remove")
    async def away_list(self, interaction: Interaction) -> None:
        await self.away_desk.show(interaction)

    @mentor.command(name="resume", description="Be bookable again after a pause")
    async def resume(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        resumed = await self.mentors.resume(interaction.guild_id, interaction.user.id)
        await reply(interaction, render.RESUMED)
        await self.desk.flush(mentor_subject(resumed.guild_id, resumed.user_id))

    @mentor.command(name="leave", description="Stop offering calls: removes your card and your number")
    async def leave(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        mentor = await self.mentors.get(interaction.guild_id, interaction.user.id)
        if mentor is None or mentor.status in ("left", "declined"):
            raise MentorError("You're not a mentor on this server, so there is nothing to leave.")
        upcoming = [
            b
            for b in await self.mentors.upcoming_calls(interaction.user.id, interaction.guild_id)
            if b.mentor_user_id == interaction.user.id
        ]
        await reply(interaction, render.leave_prompt(len(upcoming)), view=leave_view())

    @mentor.command(name="no-shows", description="Moderators: who missed booked calls, and how often (private)")
    async def no_shows(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        config = await self.bot.services.setup.config(interaction.guild_id)
        if not self.desk.is_moderator(interaction, config.moderator_role_id if config else None):
            await reply(interaction, "Only moderators can see no-show counts; they are kept private for them.")
            return
        await reply(interaction, render.no_shows(await self.mentors.no_show_counts(interaction.guild_id)))

    # --- forms: answered by custom id in cogs/forms.py (a refusal keeps what was typed and offers to re-open it) -----

    async def _open_edit_form(
        self, interaction: Interaction, mentor: Mentor, changes: dict[str, Any], *, ask_phone: bool
    ) -> None:
        phone = forms.edit_phone_input(mentor, ask_phone=ask_phone)
        custom_id = f"mentors:profile:{interaction.id}"
        if changes:  # member text (windows) among them: kept as the form's draft, never in the custom id
            custom_id += ":o"
            await self.bot.services.forms.opened(
                interaction.user.id, mentor.guild_id, "mentors.profile", custom_id, {"changes": changes, "phone": phone}
            )
        await send_form(interaction, forms.edit_modal(custom_id, forms.profile_values(mentor), phone))

    async def _submit_signup(
        self, interaction: Interaction, _: re.Match[str], options: dict[str, Any], values: Values
    ) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        mentor = await self.mentors.signup(
            interaction.guild_id,
            interaction.user.id,
            timezone=str(options["timezone"]),
            windows=str(options["windows"]),
            call_minutes=int(options["call_minutes"]),
            contact_mode=str(options["contact_mode"]),
            headline=values.get("headline") or "",
            topics=values.get("topics") or "",
            about=values.get("about") or "",
            phone=values.get("phone"),
            weekly_limit=int(options["weekly_limit"]),
        )
        await self.desk.after_signup(interaction, mentor)

    async def _submit_edit(
        self, interaction: Interaction, _: re.Match[str], options: dict[str, Any], values: Values
    ) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        phone = (values.get("phone") or "").strip() or None
        updated = await self.mentors.edit(
            interaction.guild_id,
            interaction.user.id,
            headline=values.get("headline") or "",
            topics=values.get("topics") or "",
            about=values.get("about") or "",
            phone=phone,
            **dict(options.get("changes") or {}),
        )
        await reply(interaction, "Saved. Your roster card updates within a minute.")
        await self.desk.flush(mentor_subject(updated.guild_id, updated.user_id))

    async def _submit_request(self, interaction: Interaction, match: re.Match[str], _: Any, values: Values) -> None:
        starts_at = from_epoch(int(match["starts_at"]))
        guild_id, mentor_id = int(match["guild_id"]), int(match["mentor_id"])
        topic = values.get("topic") or ""
        await self.desk.request(interaction, guild_id, mentor_id, starts_at, topic, values.get("phone"))

    async def _submit_cancel(self, interaction: Interaction, match: re.Match[str], _: Any, values: Values) -> None:
        await self.desk.cancel(interaction, int(match["booking_id"]), values.get("reason") or "")

    async def _submit_thanks(self, interaction: Interaction, match: re.Match[str], _: Any, values: Values) -> None:
        await self.desk.forward_thanks(interaction, int(match["booking_id"]), values.get("note") or "")

    # --- /mentors, /calls --------------------------------------------------------------------------------------------

    @app_commands.command(name="mentors", description="Mentors you can book for a short call, with their next times")
    @app_commands.guild_only()
    @app_commands.describe(topic="A topic, e.g. interviews or fintech (leave out to see everyone)")
    async def mentors_command(self, interaction: Interaction, topic: str | None = None) -> None:
        await self.desk.show_matching(interaction, topic)

    @app_commands.command(name="calls", description="Your upcoming calls, as mentor or member: cancel or move them")
    @app_commands.guild_only()
    async def calls(self, interaction: Interaction) -> None:
        await self.desk.show_calls(interaction)


def _back_on(text: str, zone: str) -> datetime:
    text = clean_text(text) or ""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise MentorError(
            f"I couldn't read `{text[:20]}` as a date. Use YYYY-MM-DD, e.g. `2026-12-07`, or leave it out."
        ) from None
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(zone))
