"""/ask, /close, /help-queue, the help jobs, and the gateway events that keep help requests in line with Discord.
Thin: each handler reads the interaction or event and hands it to the desk (``_desk.py``)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands, tasks

from cogs._forms import Form, Values
from cogs.help._anon_effects import AnonymousEffects
from cogs.help._desk import HelpDesk
from cogs.help._effects import HelpEffects
from cogs.help._views import rebuild_ask, rebuild_relay, rebuild_thanks
from services.help_requests import ESCALATE_JOB, IDLE_JOB, NOTE_LIMIT, RELAY_LIMIT, REVEAL_REASON_LIMIT, TOPICS
from services.jobs import JobKind

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
TOPIC_CHOICES = [Choice(name=label, value=value) for value, label in TOPICS.items()]


class HelpCog(commands.Cog, name="Help"):
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot
        self.desk = HelpDesk(bot)
        self.effects = HelpEffects(self.desk, bot.effects)
        self.anonymous_effects = AnonymousEffects(self.desk, self.effects, bot.effects)
        self.forms = (
            Form("help.ask", submit=self._submit_ask, rebuild=rebuild_ask),
            Form("help.thanknote", submit=self._submit_thanks, rebuild=rebuild_thanks),
            Form("help.relay", submit=self._submit_relay, rebuild=rebuild_relay),
        )

    async def cog_load(self) -> None:
        jobs = self.bot.services.jobs
        for kind in (
            JobKind(ESCALATE_JOB, self.desk.run_escalation, max_lateness=None),  # late is still worth asking again
            JobKind(IDLE_JOB, self.desk.run_idle_check, max_lateness=None),
        ):
            if kind.name not in jobs.kinds:
                jobs.register(kind)
        await self.bot.services.help_requests.rearm_jobs()
        self.reconciliation.start()

    async def cog_unload(self) -> None:
        self.reconciliation.cancel()

    # --- commands ------------------------------------------------------------------------------------------------

    @app_commands.command(name="ask", description="Ask for help privately: a thread only you and helpers can see")
    @app_commands.guild_only()
    @app_commands.choices(topic=TOPIC_CHOICES)
    @app_commands.describe(
        topic="What it's about (helpers see the topic, not your name)",
        anonymous="Don't show my name to helpers: you're not in the thread, and replies come by DM",
    )
    async def ask(self, interaction: Interaction, topic: Choice[str], anonymous: bool = False) -> None:
        await self.desk.open_form(interaction, topic.value, "ask", anonymous=anonymous)

    @app_commands.command(name="reply", description="Reply to the anonymous member of this help thread (by DM)")
    @app_commands.guild_only()
    @app_commands.describe(text="Sent to the member by DM, with the request number and your display name")
    async def reply(self, interaction: Interaction, text: app_commands.Range[str, 1, RELAY_LIMIT]) -> None:
        await self.desk.anon.reply_command(interaction, text)

    @app_commands.command(name="reveal", description="Moderators: look up who asked this anonymous request (audited)")
    @app_commands.guild_only()
    @app_commands.describe(reason="Why (kept in the audit list and sent to the member)")
    async def reveal(self, interaction: Interaction, reason: app_commands.Range[str, 1, REVEAL_REASON_LIMIT]) -> None:
        await self.desk.anon.reveal_to_moderator(interaction, reason)

    @app_commands.command(name="close", description="Close this help thread (the member, a helper in it, or staff)")
    @app_commands.guild_only()
    @app_commands.describe(note="A closing note for the thread (optional)")
    async def close(self, interaction: Interaction, note: app_commands.Range[str, 1, NOTE_LIMIT] | None = None) -> None:
        await self.desk.close_by_member(interaction, None, note)

    @app_commands.command(name="help-queue", description="Open help requests, oldest first (helpers, moderators)")
    @app_commands.guild_only()
    async def help_queue(self, interaction: Interaction) -> None:
        await self.desk.queue_list(interaction)

    # --- forms: answered by custom id in cogs/forms.py, so a double submit or a restart still finds the handler ------

    async def _submit_ask(self, interaction: Interaction, match: re.Match[str], _: Any, values: Values) -> None:
        await self.desk.submit_ask(interaction, match.groupdict(), values)

    async def _submit_thanks(self, interaction: Interaction, match: re.Match[str], _: Any, values: Values) -> None:
        await self.desk.send_thanks(interaction, int(match["request_id"]), values.get("thanks"))

    async def _submit_relay(self, interaction: Interaction, match: re.Match[str], _: Any, values: Values) -> None:
        key = f"relay:{match['request_id']}:{match['nonce']}"  # the same form submitted twice is one reply
        await self.desk.anon.relay_from_helper(interaction, int(match["request_id"]), values.get("text"), key)

    # --- gateway events --------------------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Activity in a help thread restarts its idle timer (MESSAGE_CREATE; no message content needed). A DM is
        an anonymous asker writing to their helpers (DM content comes without the message-content intent)."""
        if message.author.bot:
            return
        if message.guild is None and isinstance(message.channel, discord.DMChannel):
            await self.desk.anon.on_dm(message)
            return
        if not isinstance(message.channel, discord.Thread):
            return
        if message.channel.type is discord.ChannelType.private_thread:
            await self.bot.services.help_requests.record_activity(message.channel.id)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self.desk.thread_deleted(payload.thread_id)

    @commands.Cog.listener()
    async def on_raw_thread_update(self, payload: discord.RawThreadUpdateEvent) -> None:
        metadata: Any = payload.data.get("thread_metadata") or {}
        if metadata.get("archived"):
            await self.desk.thread_archived(payload.thread_id, metadata)

    @commands.Cog.listener()
    async def on_guild_channel_update(self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel) -> None:
        """The help channel's permissions may have been fixed: open the threads that were waiting."""
        config = await self.desk.config(after.guild.id)
        if config is not None and after.id == config.help_channel_id:
            await self.desk.retry_pending(after.guild)

    @commands.Cog.listener()
    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        if after.guild.me is not None and after in after.guild.me.roles:
            await self.desk.retry_pending(after.guild)

    @commands.Cog.listener()
    async def on_app_command_completion(self, interaction: Interaction, command: Any) -> None:
        # After the setup changes, or an admin re-checks it, requests waiting for a permission are tried again.
        if interaction.guild is not None and command.qualified_name in ("setup channels", "setup roles", "setup check"):
            await self.desk.retry_pending(interaction.guild)

    # --- reconciliation: at start-up, then hourly ---------------------------------------------------------------------

    @tasks.loop(hours=1)
    async def reconciliation(self) -> None:
        await self.desk.reconcile()

    @reconciliation.before_loop
    async def _before_reconciliation(self) -> None:
        await self.bot.wait_until_ready()
