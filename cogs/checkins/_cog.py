"""/checkin, /checkin-history, /reminders, /pulse, and the follow-up and reminder DMs. Rules live in the services;
this reads interactions, calls them and renders what they return. Everything personal is ephemeral or a DM."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from cogs._dm import send_dm
from cogs._guilds import guild_of
from cogs._ui import is_staff, reply, soon
from cogs.checkins import _render as render
from cogs.checkins._effects import ReachEffects
from cogs.checkins._reach import post_notice
from cogs.checkins._views import offer_view, status_view
from services import charts
from services.checkins import FOLLOWUP_JOB, Source, Status
from services.jobs import JobKind, PermanentJobError
from services.reminders import REMINDER_JOB, WEEKDAY_NAMES, Cadence
from services.timezones import suggest_timezones
from storage.jobs import Job

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
# A follow-up is still worth sending a few days late (after downtime); a fortnight late it would only confuse.
FOLLOWUP_MAX_LATENESS = timedelta(days=7)

STATUS_CHOICES = [Choice(name=status.label, value=status.value) for status in Status]
CADENCE_CHOICES = [
    Choice(name="every day", value=Cadence.DAILY.value),
    Choice(name="weekdays (Monday to Friday)", value=Cadence.WEEKDAYS.value),
    Choice(name="once a week (choose the day)", value=Cadence.WEEKLY.value),
]
DAY_CHOICES = [Choice(name=name, value=index) for index, name in enumerate(WEEKDAY_NAMES)]


class CheckinCog(commands.Cog):
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot
        self.checkins = bot.services.checkins
        self.reminders = bot.services.reminders
        self.effects = ReachEffects(bot, bot.effects)

    async def cog_load(self) -> None:
        jobs = self.bot.services.jobs
        for kind in (
            JobKind(FOLLOWUP_JOB, self.send_followup, max_lateness=FOLLOWUP_MAX_LATENESS),
            JobKind(REMINDER_JOB, self.send_reminder, max_lateness=None),  # a late reminder is caught up once
        ):
            if kind.name not in jobs.kinds:
                jobs.register(kind)
        await self.reminders.rearm()

    # --- commands ------------------------------------------------------------------------------------------------

    @app_commands.command(name="checkin", description="Say privately how your job search is going")
    @app_commands.guild_only()
    @app_commands.choices(status=STATUS_CHOICES)
    @app_commands.describe(
        status="How it is going, honestly — nobody else sees this",
        note="Anything you want to remember (at most 1000 characters); only you see it unless you share it",
        share_with_helpers="Stuck or in a rut: let helpers know you'd welcome a reach-out (no name; your note "
        "is shown to them if you wrote one)",
    )
    async def checkin(
        self,
        interaction: Interaction,
        status: Choice[str],
        note: str | None = None,
        share_with_helpers: bool = False,
    ) -> None:
        assert interaction.guild is not None
        if share_with_helpers:  # the helpers' notice is posted before the answer, which says how that went
            await interaction.response.defer(ephemeral=True, thinking=True)
        # Recording alone takes milliseconds: answered in one response (deferred only if the database is slow).
        outcome = await soon(
            interaction,
            self.checkins.record(interaction.guild.id, interaction.user.id, status.value, note, share_with_helpers),
        )
        share_line = ""
        if outcome.share_with_helpers:
            share_line = await post_notice(self.bot, interaction.guild, outcome)
        mentor_ready = self.bot.tree.get_command("mentor") is not None
        text = render.checkin_reply(
            outcome, share_asked=share_with_helpers, share_line=share_line, mentor_ready=mentor_ready
        )
        view = offer_view(outcome.reply)
        await reply(interaction, text, **({"view": view} if view else {}))

    @app_commands.command(name="checkin-history", description="Your own check-ins over time, with a trend")
    @app_commands.guild_only()
    async def checkin_history(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        history = await self.checkins.history(interaction.guild_id, interaction.user.id)
        embed = render.history_embed(history)
        if len(history.checkins) < 2:  # one point is not a trend
            await reply(interaction, embed=embed)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)  # drawing takes a moment; off the loop
        points = [(c.created_at, Status(c.status)) for c in reversed(history.checkins)]
        png = await asyncio.to_thread(charts.trend_png, points)
        embed.set_image(url=f"attachment://{render.TREND_FILE}")
        chart = discord.File(io.BytesIO(png), filename=render.TREND_FILE, description=render.TREND_ALT)
        await reply(interaction, embed=embed, file=chart)

    @app_commands.command(name="pulse", description="Anonymous check-in counts, this week against last (helpers)")
    @app_commands.guild_only()
    async def pulse(self, interaction: Interaction) -> None:
        assert interaction.guild is not None and isinstance(interaction.user, discord.Member)
        config = await self.bot.services.setup.config(interaction.guild.id)
        role_ids = [r for r in (config.helper_role_id, config.moderator_role_id) if r] if config else []
        if not is_staff(interaction, role_ids, "manage_guild"):
            names = [role.name for role in map(interaction.guild.get_role, role_ids) if role is not None]
            await reply(interaction, render.pulse_refused(names))
            return
        await reply(interaction, embed=render.pulse_embed(await self.checkins.pulse(interaction.guild.id)))

    reminders_group = app_commands.Group(
        name="reminders", description="Check-in reminders by DM at your local time", guild_only=True
    )

    @reminders_group.command(name="checkin", description="Get a DM reminder to check in, at your local time")
    @app_commands.describe(
        every="How often",
        time="Your local time, as HH:MM on a 24-hour clock (e.g. 07:30 or 19:05)",
        timezone="Your time zone or a nearby city, e.g. Europe/Berlin or Sydney",
        day="For weekly reminders: which day",
    )
    @app_commands.choices(every=CADENCE_CHOICES)
    @app_commands.choices(day=DAY_CHOICES)
    async def reminders_checkin(
        self,
        interaction: Interaction,
        every: Choice[str],
        time: str,
        timezone: str,
        day: Choice[int] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        view = await self.reminders.set(
            interaction.guild_id, interaction.user.id, every.value, time, timezone, day.value if day else None
        )
        await reply(interaction, render.reminders_set(view))

    @reminders_checkin.autocomplete("timezone")
    async def timezone_autocomplete(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        return [Choice(name=label, value=value) for label, value in suggest_timezones(current)]

    @reminders_group.command(name="show", description="Your check-in reminders here, and when the next one comes")
    async def reminders_show(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        view = await self.reminders.show(interaction.guild_id, interaction.user.id)
        await reply(interaction, render.reminders_shown(view))

    @reminders_group.command(name="off", description="Stop your check-in reminders here")
    async def reminders_off(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        turned_off = await self.reminders.off(interaction.guild_id, interaction.user.id)
        await reply(interaction, render.reminders_off(turned_off))

    # --- jobs ----------------------------------------------------------------------------------------------------

    async def send_followup(self, job: Job) -> None:
        """``checkin.followup``: ask by DM how it is going, with the four status buttons."""
        checkin = await self.checkins.followup_target(int(job.payload["checkin_id"]))
        guild = await guild_of(self.bot, checkin.guild_id) if checkin else None
        if checkin is None or guild is None:
            return  # the member deleted their data, or Porchlight left the server
        prompt = render.followup_prompt(guild.name, Status(checkin.status))
        await self._dm(checkin.user_id, prompt, status_view(guild.id, Source.FOLLOWUP))

    async def send_reminder(self, job: Job) -> None:
        """``checkin.reminder``: the DM at the member's local time, unless a follow-up due within the hour asks
        instead; then always schedule the next one."""
        assert job.guild_id is not None and job.user_id is not None
        try:
            guild = await guild_of(self.bot, job.guild_id)
            if guild is not None and not await self.reminders.gives_way(job):
                await self._dm(job.user_id, render.reminder_prompt(guild.name), status_view(guild.id, Source.REMINDER))
        finally:
            await self.reminders.on_reminder_sent(job)

    async def _dm(self, user_id: int, content: str, view: discord.ui.View) -> None:
        """Send a DM; a closed DM (50007) is recorded, never retried and never replaced by a public post."""
        try:
            await send_dm(self.bot, user_id, content, view=view)
        except discord.HTTPException as error:
            if error.status in (400, 403, 404):  # refused for good (another 403, an unknown user): retrying won't help
                raise PermanentJobError(f"DM refused status={error.status} code={error.code}") from None
            raise
