"""/privacy show|export|delete, the daily privacy pass (retention, leave reconciliation, purges), the first-run
message and the start-up setup check. Rules live in services.privacy; this does the Discord side.

Hooks for other cogs: the Discord side effects of a deletion or a departure go through ``PrivacyCog.effects``
(:class:`DeletionEffects`). Each has a plain discord.py default; the help and mentors cogs may replace one with
their own, e.g. ``bot.get_cog("PrivacyCog").effects.close_thread = self.close_for_privacy`` in their ``cog_load``.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from cogs._guilds import guild_of
from cogs._presence import Presence
from cogs._setup_check import run_check
from cogs._takedowns import THREAD_CLOSED_NOTE, TakeDowns
from cogs._text import member_text
from cogs._ui import CUSTOM_IDS, PersistentView, reply, routes_errors
from cogs.mentors._views import COG_NAME as MENTOR_COG
from services.privacy import DiscordWork, Summary
from storage.mentors import Booking

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
Button = discord.ui.Button[discord.ui.View]
DAILY_INTERVAL = timedelta(days=1)

WELCOME = (
    "👋 **Porchlight is here.** It gives job seekers private check-ins, private help threads and short calls with "
    "mentors.\n"
    "To get started, someone with Manage Server runs `/setup channels`, then `/setup roles`, then `/setup check` "
    "to see whether anything is missing."
)
CONFIRM_DELETE = (
    "**Delete everything Porchlight keeps about you in this server?**\n"
    "Your check-ins and notes, reminder schedule, mentor profile and phone number, your calls (upcoming ones are "
    "cancelled and the other person is told) and the text of your help requests (open ones are closed). Anonymous "
    "counts stay. What Porchlight posted with your words or name (queue cards, reach-out notices, the opening of "
    "your threads) is removed or replaced by a neutral line; messages you typed yourself, in threads for "
    "instance, stay. This cannot be undone. Use `/privacy export` first if you want a copy."
)


def _ts(value: datetime | str | None, style: str = "f") -> str:
    if value is None:
        return "—"
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"<t:{int(instant.timestamp())}:{style}>"


def summary_embed(summary: Summary) -> discord.Embed:
    embed = discord.Embed(title="What Porchlight keeps about you here", colour=discord.Colour.blurple())
    if summary.empty:
        embed.description = "Nothing about you is stored in this server."
    if summary.checkins:
        embed.add_field(
            name="Check-ins",
            value=f"{summary.checkins}, from {_ts(summary.first_checkin, 'D')} to {_ts(summary.last_checkin, 'D')}",
            inline=False,
        )
    embed.add_field(name="Reminder", value=summary.reminder or "none", inline=False)
    profile = member_text(summary.mentor_profile) if summary.mentor_profile else "none"
    embed.add_field(name="Mentor profile", value=profile, inline=False)
    calls = [f"{_ts(c['starts_at'])} ({c['status']}, as {c['role']})" for c in summary.upcoming_calls[:10]]
    embed.add_field(name="Upcoming calls", value="\n".join(calls) or "none", inline=False)
    requests = [f"#{r['number']} {r['topic']} ({r['status']})" for r in summary.open_help_requests[:10]]
    embed.add_field(
        name="Help requests",
        value=f"{summary.help_requests} in all; open: " + (", ".join(requests) or "none"),
        inline=False,
    )
    if summary.help_claims:
        embed.add_field(name="Requests you helped with", value=str(summary.help_claims), inline=False)
    if summary.form_drafts:
        embed.add_field(
            name="Unsent forms",
            value=f"{summary.form_drafts}, kept for a day so nothing you typed is lost (in any server)",
            inline=False,
        )
    if summary.blocked_until:
        until = summary.blocked_until if summary.blocked_until == "no end date" else _ts(summary.blocked_until)
        embed.add_field(name="Moderator block", value=f"until {until} (kept even if you delete your data)")
    embed.set_footer(text="/privacy export for a full copy (JSON) · /privacy delete to remove it")
    return embed


class DeletionEffects:
    """The Discord side of a deletion or a departure, each step replaceable by the cog that owns the feature."""

    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot
        self.close_thread: Callable[[discord.Guild, int], Awaitable[None]] = self._close_thread
        self.notify_cancelled: Callable[[discord.Guild, Booking, DiscordWork], Awaitable[None]] = self._notify_cancelled
        self.remove_card: Callable[[discord.Guild, int | None, int], Awaitable[None]] = self._remove_card

    async def run(self, work: DiscordWork) -> None:
        """Do every step; one failing (a deleted channel, a missing permission) never stops the others. The
        take-downs are effects: run now, and finished by the effects job after a crash or a Discord error."""
        for subject in work.effects:
            try:
                await self.bot.effects.flush(subject)
            except Exception as error:  # the effects job finishes it
                log.warning("take-down will retry subject=%s error=%s", subject, type(error).__name__)
        guild = await guild_of(self.bot, work.guild_id)
        if guild is None:
            return
        config = await self.bot.services.setup.config(guild.id)
        steps: list[Awaitable[None]] = [self.close_thread(guild, thread) for thread in work.threads_to_close]
        steps += [self.notify_cancelled(guild, booking, work) for booking in work.cancelled_calls]
        queue = config.queue_channel_id if config else None
        steps += [self.remove_card(guild, queue, message) for message in work.queue_cards]
        for step in steps:
            try:
                await step
            except discord.HTTPException as error:
                log.warning("privacy step failed guild=%d status=%s code=%s", guild.id, error.status, error.code)

    async def _close_thread(self, guild: discord.Guild, thread_id: int) -> None:
        thread = guild.get_thread(thread_id)
        if thread is None:
            try:
                fetched = await guild.fetch_channel(thread_id)
            except discord.NotFound:
                return
            if not isinstance(fetched, discord.Thread):
                return
            thread = fetched
        if thread.locked and thread.archived:
            return
        await thread.send(THREAD_CLOSED_NOTE)
        await thread.edit(archived=True, locked=True)

    async def _notify_cancelled(self, guild: discord.Guild, booking: Booking, work: DiscordWork) -> None:
        """The mentors service recorded the other person's DM (the one cancellation path: the same DM and
        METHOD:CANCEL invite as /calls); carry it out now."""
        desk = getattr(self.bot.get_cog(MENTOR_COG), "desk", None)
        if desk is None:
            log.warning("call cancellation not run guild=%d booking=%d: mentors not loaded", guild.id, booking.id)
            return
        await desk.flush_booking(booking)

    async def _remove_card(self, guild: discord.Guild, channel_id: int | None, message_id: int) -> None:
        channel = guild.get_channel(channel_id) if channel_id else None
        if isinstance(channel, discord.TextChannel):
            try:
                await channel.get_partial_message(message_id).delete()
            except discord.NotFound:
                pass


class DeleteButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["privacy.delete"]):
    def __init__(self, guild_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Delete everything", style=discord.ButtonStyle.danger, custom_id=f"privacy:delete:{guild_id}"
            )
        )
        self.guild_id = guild_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: Any) -> DeleteButton:
        return cls(int(match["guild_id"]))

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        cog = interaction.client.get_cog("PrivacyCog")
        assert isinstance(cog, PrivacyCog)
        await interaction.response.defer()
        # Whoever clicks deletes their own data: the prompt is ephemeral, and the id comes from the click.
        work = await cog.privacy.delete(self.guild_id, interaction.user.id)
        await cog.effects.run(work)
        await interaction.edit_original_response(
            content="Done. Everything Porchlight kept about you in this server is deleted"
            + (
                f"; {len(work.cancelled_calls)} upcoming calls were cancelled and the other person told"
                if work.cancelled_calls
                else ""
            )
            + (f"; {work.open_threads} open threads were closed" if work.open_threads else "")
            + ". What Porchlight posted with your words or name is removed; messages you typed yourself stay.",
            view=None,
        )


class KeepButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["privacy.keep"]):
    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(label="Keep my data", style=discord.ButtonStyle.secondary, custom_id="privacy:keep")
        )

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: Any) -> KeepButton:
        return cls()

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await interaction.response.edit_message(content="Nothing was deleted.", view=None)


DYNAMIC_ITEMS = (DeleteButton, KeepButton)


@app_commands.guild_only()
class PrivacyCog(commands.GroupCog, group_name="privacy", group_description="What Porchlight keeps about you"):
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot
        self.privacy = bot.services.privacy
        self.effects = DeletionEffects(bot)
        self.takedowns = TakeDowns(bot, bot.effects)
        self.presence = Presence(bot)
        self._daily_task: asyncio.Task[None] | None = None
        super().__init__()

    async def cog_load(self) -> None:
        # Not a row in the jobs table: the pass is idempotent and catches up by running at every start, and the
        # job table stays for work about one member or one booking. Tests (run_jobs=False) call daily() themselves.
        if self.bot.run_jobs:
            self._daily_task = asyncio.create_task(self._daily_loop(), name="porchlight-privacy-daily")

    async def cog_unload(self) -> None:
        if self._daily_task is not None:
            self._daily_task.cancel()

    async def _daily_loop(self) -> None:
        await self.bot.wait_until_ready()
        while not self.bot.is_closed():
            try:
                await self.daily()
            except Exception as error:
                log.error("daily privacy pass failed error=%s", type(error).__name__)
            await asyncio.sleep(DAILY_INTERVAL.total_seconds())

    # --- commands ------------------------------------------------------------------------------------------------

    @app_commands.command(name="show", description="A summary of everything Porchlight keeps about you here")
    async def show(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        await reply(
            interaction, embed=summary_embed(await self.privacy.summary(interaction.guild_id, interaction.user.id))
        )

    @app_commands.command(name="export", description="Everything Porchlight keeps about you here, as a JSON file")
    async def export(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await self.privacy.export(interaction.guild_id, interaction.user.id)
        raw = json.dumps(data, indent=2, ensure_ascii=False).encode()
        file = discord.File(io.BytesIO(raw), filename=f"porchlight-export-{interaction.guild_id}.json")
        await reply(
            interaction,
            "Here is everything Porchlight keeps about you in this server (format: docs/privacy-export.md).",
            file=file,
        )

    @app_commands.command(name="delete", description="Delete everything Porchlight keeps about you here")
    async def delete(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        view = PersistentView()
        view.add_item(DeleteButton(interaction.guild_id))
        view.add_item(KeepButton())
        await reply(interaction, CONFIRM_DELETE, view=view)

    # --- the daily job -------------------------------------------------------------------------------------------

    async def daily(self) -> None:
        """The daily pass: retention, who left or came back, purges after the grace periods."""
        await self.privacy.purge_expired()
        for guild in list(self.bot.guilds):
            await self.reconcile_members(guild)
        for work in await self.privacy.purge_departed():
            await self.effects.run(work)
        await self.privacy.purge_removed_guilds()

    async def reconcile_members(self, guild: discord.Guild) -> None:
        """No members intent: ask Discord about each member Porchlight holds data on. Unknown Member = gone."""
        for user_id in sorted(await self.privacy.members_to_reconcile(guild.id)):
            self.presence.forget(guild.id, user_id)  # the daily pass always asks afresh
            here = await self.presence.is_member(guild, user_id)
            if here is False:
                await self.member_gone(guild, user_id)
            elif here:
                await self.privacy.member_present(guild.id, user_id)

    async def member_gone(self, guild: discord.Guild, user_id: int) -> None:
        """The one departure handling (daily pass, or a check before a reminder, a voice room, an escalation)."""
        work = await self.privacy.member_left(guild.id, user_id)
        if work is not None:
            await self.effects.run(work)

    async def confirm_members(self, guild_id: int, *user_ids: int) -> bool:
        """See :func:`cogs._presence.confirm_members`."""
        guild = await guild_of(self.bot, guild_id)
        if guild is None:
            return True  # not in that server (any more): nothing to ask; the caller's own checks decide
        everyone_here = True
        for user_id in dict.fromkeys(user_ids):
            if await self.presence.is_member(guild, user_id) is False:
                log.info("member found gone before scheduled work guild=%d user=%d", guild_id, user_id)
                await self.member_gone(guild, user_id)
                everyone_here = False
        return everyone_here

    # --- events --------------------------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        for guild in self.bot.guilds:
            await self.privacy.bot_present(guild.id)
            report = run_check(guild, await self.bot.services.setup.config(guild.id))
            log.info("setup check guild=%d: %s", guild.id, report.summary())

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """First run. Inviting the bot does not tell it who invited it (that needs the audit log), so the short
        getting-started message goes to the system channel when the bot may post there; otherwise nothing."""
        await self.privacy.bot_present(guild.id)
        if not await self.privacy.first_welcome(guild.id):
            return
        channel = guild.system_channel
        if channel is None or not channel.permissions_for(guild.me).send_messages:
            log.info("first run guild=%d: no system channel to post in", guild.id)
            return
        try:
            await channel.send(WELCOME)
        except discord.HTTPException as error:
            log.warning("first run message failed guild=%d status=%s", guild.id, error.status)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.privacy.bot_removed(guild.id)


async def setup(bot: PorchlightBot) -> None:
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    await bot.add_cog(PrivacyCog(bot))


async def teardown(bot: PorchlightBot) -> None:
    bot.remove_dynamic_items(*DYNAMIC_ITEMS)
