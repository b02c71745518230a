"""/block and /unblock for moderators, and the gate every slash command passes: blocks and per-server limits.

How other cogs use it: the gate covers the write commands in :data:`GATED` (``/checkin``: check-ins per hour;
``/ask``: block, help requests per day; the others: changes per hour) before they run. It reserves the use in the
same transaction as the check (one short write; the gate waits for it at most a second, see :meth:`ModerationCog.gate`),
and the tree's undo gives it back when the command fails, so concurrent or quick successive commands can never slip
past a limit. Buttons and modals
do not pass the tree's gate, so the help and mentors cogs call the service themselves where a request or booking is
made::

    async with bot.services.safety.counting(guild_id, user_id, Action.BOOKING_REQUEST):  # Blocked / RateLimited
        ...  # make the booking; an exception gives the use back

Both errors are PorchlightErrors, so ``answer_error`` shows them ephemerally as written. ``is_blocked(guild_id,
user_id)`` is there for a yes/no (e.g. to hide a "Book" button).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from cogs._ui import PorchlightTree, StaffOnly, is_staff, reply
from services.errors import PorchlightError
from services.safety import Action, Use

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]

USE = "porchlight.safety.use"  # interaction.extras key: the reservation (a future Use) the gate made for this command
GATE_WAIT = 1.0  # seconds the gate (and the give-back) waits for its write before letting the interaction go on


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a background write's outcome as seen (a refusal may arrive after the command went ahead; a failed
    release is logged by the tree when it waited for it, and counts conservatively when it did not)."""
    if not future.cancelled():
        future.exception()


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
        self._background: set[asyncio.Future[Any]] = set()  # strong references to slow writes until they finish

    async def cog_load(self) -> None:
        if isinstance(self.bot.tree, PorchlightTree):
            self.bot.tree.gates.append(self.gate)
            self.bot.tree.undos.append(self.give_back)

    async def cog_unload(self) -> None:
        if isinstance(self.bot.tree, PorchlightTree):
            if self.gate in self.bot.tree.gates:
                self.bot.tree.gates.remove(self.gate)
            if self.give_back in self.bot.tree.undos:
                self.bot.tree.undos.remove(self.give_back)

    async def gate(self, interaction: Interaction) -> str | None:
        """Check and count in one short transaction (the use is reserved before the command runs); the tree calls
        :meth:`give_back` if the command then fails.

        The gate runs before the command can answer or defer, so it waits at most :data:`GATE_WAIT` for the write:
        when another process holds SQLite's write lock that long, the command goes ahead (missing Discord's
        3-second window would fail it for certain) and the reservation finishes in the background, still counting
        the use; only a refusal that arrives that late is not shown."""
        if interaction.type is not discord.InteractionType.application_command or interaction.guild_id is None:
            return None
        action = GATED.get(_command_name(interaction))
        if action is None:
            return None
        reserving = asyncio.ensure_future(self.safety.reserve(interaction.guild_id, interaction.user.id, action))
        reserving.add_done_callback(_retrieve)
        interaction.extras[USE] = reserving
        try:
            await asyncio.wait_for(asyncio.shield(reserving), GATE_WAIT)
        except TimeoutError:
            self._keep(reserving)
            log.warning("gate reservation still waiting on the database interaction=%s", interaction.id)
        except PorchlightError as refusal:
            del interaction.extras[USE]  # refused: nothing was counted
            return refusal.message
        except Exception as error:  # never lock members out because the gate broke
            del interaction.extras[USE]
            log.warning("gate failed interaction=%s error=%s", interaction.id, type(error).__name__)
        return None

    async def give_back(self, interaction: Interaction) -> None:
        """The command the gate let through failed (raised): its use no longer counts. Waits at most
        :data:`GATE_WAIT` (the member's error message is still to be sent); the release finishes in the background."""
        reserving = interaction.extras.pop(USE, None)
        if reserving is None:
            return
        releasing = asyncio.ensure_future(self._release(reserving))
        releasing.add_done_callback(_retrieve)
        self._keep(releasing)
        try:
            await asyncio.wait_for(asyncio.shield(releasing), GATE_WAIT)
        except TimeoutError:
            log.warning("gate release still waiting on the database interaction=%s", interaction.id)

    def _keep(self, future: asyncio.Future[Any]) -> None:
        self._background.add(future)
        future.add_done_callback(self._background.discard)

    async def _release(self, reserving: asyncio.Future[Use]) -> None:
        try:
            use = await reserving
        except Exception:
            return  # refused or failed: nothing was counted
        await self.safety.release(use)

    @commands.Cog.listener()
    async def on_app_command_completion(self, interaction: Interaction, command: Any) -> None:
        if interaction.guild_id is None:
            return
        guild_id, user_id = interaction.guild_id, interaction.user.id
        try:
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
