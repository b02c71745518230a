"""/block and /unblock for moderators, and the gate every slash command passes: blocks and per-server limits.

How other cogs use it: the gate covers ``/checkin`` (check-ins per hour) and ``/ask`` (block, help requests per
day) before they run. Buttons and modals do not pass the tree's gate, so the help and mentors cogs call the service
themselves where a request or booking is made::

    await bot.services.safety.check(guild_id, user_id, Action.BOOKING_REQUEST)  # raises Blocked / RateLimited
    ...  # make the booking
    await bot.services.safety.record(guild_id, user_id, Action.BOOKING_REQUEST)

Both errors are PorchlightErrors, so ``answer_error`` shows them ephemerally as written. ``is_blocked(guild_id,
user_id)`` is there for a yes/no (e.g. to hide a "Book" button).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from cogs._ui import PorchlightTree, StaffOnly, is_staff, reply
from services.errors import PorchlightError
from services.safety import Action

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]

# Slash commands the gate counts, by top-level name.
# Write commands and what they count as. Leaving (/mentor leave) and deleting data (/privacy delete) are never
# limited; read-only commands (show, history, queue) are not counted.
GATED: dict[str, Action] = {
    "checkin": Action.CHECKIN,
    "ask": Action.HELP_REQUEST,
    "reminders checkin": Action.CHANGE,
    "reminders off": Action.CHANGE,
    "mentor signup": Action.CHANGE,
    "mentor edit": Action.CHANGE,
    "mentor pause": Action.CHANGE,
    "mentor resume": Action.CHANGE,
    "close": Action.CHANGE,
}


def _command_name(interaction: Interaction) -> str:
    """The full command name ("reminders checkin"), from the interaction's options: no tree lookup needed."""
    data: Any = interaction.data or {}
    parts = [str(data.get("name", ""))]
    options = data.get("options") or []
    while options and options[0].get("type") in (1, 2):  # subcommand group, subcommand
        parts.append(str(options[0]["name"]))
        options = options[0].get("options") or []
    return " ".join(parts)


def _until(block_until: Any) -> str:
    return f"until <t:{int(block_until.timestamp())}:f>" if block_until else "until you unblock them"


class ModerationCog(commands.Cog):
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot
        self.safety = bot.services.safety

    async def cog_load(self) -> None:
        if isinstance(self.bot.tree, PorchlightTree):
            self.bot.tree.gates.append(self.gate)

    async def cog_unload(self) -> None:
        if isinstance(self.bot.tree, PorchlightTree) and self.gate in self.bot.tree.gates:
            self.bot.tree.gates.remove(self.gate)

    async def gate(self, interaction: Interaction) -> str | None:
        """Reads only: it runs before the command can defer, so it must never wait on the write lock. The write
        (counting the use) happens in on_app_command_completion, after the command answered."""
        if interaction.type is not discord.InteractionType.application_command or interaction.guild_id is None:
            return None
        action = GATED.get(_command_name(interaction))
        if action is None:
            return None
        try:
            await self.safety.check(interaction.guild_id, interaction.user.id, action)
        except PorchlightError as refusal:
            return refusal.message
        except Exception as error:  # never lock members out because the gate broke
            log.warning("gate failed interaction=%s error=%s", interaction.id, type(error).__name__)
        return None

    @commands.Cog.listener()
    async def on_app_command_completion(self, interaction: Interaction, command: Any) -> None:
        if interaction.guild_id is None:
            return
        guild_id, user_id = interaction.guild_id, interaction.user.id
        try:
            action = GATED.get(_command_name(interaction))
            if action is not None:
                await self.safety.record(guild_id, user_id, action)
            if await self.bot.services.privacy.is_departed(guild_id, user_id):
                await self.bot.services.privacy.member_present(guild_id, user_id)  # back before the purge
        except Exception as error:
            log.warning("command bookkeeping failed interaction=%s error=%s", interaction.id, type(error).__name__)

    async def _is_moderator(self, interaction: Interaction) -> bool:
        config = await self.bot.services.setup.config(interaction.guild_id or 0)
        return is_staff(interaction, [config.moderator_role_id if config else None], "manage_guild", "manage_messages")

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        # No default_member_permissions on these commands: the configured moderator role can use them out of the
        # box, whatever Discord permissions it holds; everyone else is refused here.
        if not await self._is_moderator(interaction):
            raise StaffOnly(
                "`/block` and `/unblock` are for this server's moderators (the moderator role set in `/setup roles`)."
            )
        return True

    @app_commands.command(name="block", description="Stop a member from opening help requests or booking calls")
    @app_commands.guild_only()
    @app_commands.describe(
        member="Who to block",
        days="How many days (leave empty: until you unblock them)",
        reason="Shown to them when they try (at most 200 characters)",
    )
    async def block(
        self,
        interaction: Interaction,
        member: discord.Member,
        days: app_commands.Range[int, 1, 365] | None = None,
        reason: str | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        if member.bot:
            await reply(interaction, "Bots can't open requests or book calls, so there is nothing to block.")
            return
        block = await self.safety.block(
            interaction.guild_id, member.id, by=interaction.user.id, days=days, reason=reason
        )
        await reply(
            interaction,
            f"{member.mention} can't open help requests or book calls {_until(block.until)}. "
            "They can still check in and use /privacy. They'll see why when they try. Undo with `/unblock`.",
        )

    @app_commands.command(name="unblock", description="Let a blocked member open requests and book calls again")
    @app_commands.guild_only()
    async def unblock(self, interaction: Interaction, member: discord.Member) -> None:
        assert interaction.guild_id is not None
        removed = await self.safety.unblock(interaction.guild_id, member.id)
        text = (
            f"{member.mention} can open requests and book calls again."
            if removed
            else f"{member.mention} wasn't blocked."
        )
        await reply(interaction, text)


async def setup(bot: PorchlightBot) -> None:
    await bot.add_cog(ModerationCog(bot))
