"""share_with_helpers: the nameless notice in the helper queue, and "I'll reach out" opening a private thread.

Only the helper who takes it learns who the member is, inside a private thread (type 12, not invitable) that the
bot creates under the configured help channel, with exactly the member and that helper added. No role is ever
mentioned there (that would add every holder of the role)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from cogs._threads import MissingThreadPermissions, open_private_thread
from cogs._ui import CUSTOM_IDS, reply, routes_errors
from cogs.checkins import _render as render
from services.checkins import CheckinOutcome
from services.errors import NotConfigured, PorchlightError
from services.reach_outs import ReachOutClaim
from storage.guilds import GuildConfig

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
Button = discord.ui.Button[discord.ui.View]

HELPERS_ONLY = "Only members with this server's helper role can take a reach-out. Thanks for wanting to help, though."
TAKEN_BY_OTHER = "Another helper already took this one — thanks for offering. Nothing else needs doing."
NO_HELP_CHANNEL = (
    "I can't open the private thread: this server has no help channel set up. A moderator can set one with "
    "`/setup channels`. The reach-out stays open, so any helper can take it once that is done."
)


class ReachOutButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["checkin.reach"]):
    def __init__(self, checkin_id: int, *, taken: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label="Taken" if taken else "I'll reach out",
                style=discord.ButtonStyle.secondary if taken else discord.ButtonStyle.primary,
                custom_id=f"checkin:reach:{checkin_id}",
                disabled=taken,
            )
        )
        self.checkin_id = checkin_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["checkin_id"]))

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await take_reach_out(interaction, self.checkin_id)


def reach_out_view(checkin_id: int, *, taken: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ReachOutButton(checkin_id, taken=taken))
    return view


async def post_notice(guild: discord.Guild, config: GuildConfig | None, outcome: CheckinOutcome) -> str:
    """Post the nameless notice in the helper queue; return the line that tells the member what happened."""
    if config is None or config.queue_channel_id is None:
        return render.QUEUE_NOT_SET
    queue = guild.get_channel(config.queue_channel_id)
    if not isinstance(queue, discord.TextChannel):
        return render.QUEUE_UNREACHABLE
    note = outcome.checkin.note  # the member wrote it and chose share_with_helpers
    try:
        await queue.send(render.reach_out_notice(note), view=reach_out_view(outcome.checkin.id))
    except discord.HTTPException as error:
        log.warning(
            "reach-out notice failed guild=%d checkin_id=%d status=%s", guild.id, outcome.checkin.id, error.status
        )
        return render.QUEUE_UNREACHABLE
    log.info("reach-out notice posted guild=%d checkin_id=%d", guild.id, outcome.checkin.id)
    return render.share_line(note_shared=note is not None)


async def take_reach_out(interaction: Interaction, checkin_id: int) -> None:
    bot: PorchlightBot = interaction.client
    guild, helper = interaction.guild, interaction.user
    assert guild is not None and isinstance(helper, discord.Member) and interaction.message is not None
    config = await bot.services.setup.config(guild.id)
    if config is None or config.helper_role_id is None or helper.get_role(config.helper_role_id) is None:
        await reply(interaction, HELPERS_ONLY)
        return
    claim = await bot.services.reach_outs.take(guild.id, checkin_id, helper.id)
    if not claim.created:
        await reply(interaction, _already_taken(claim, helper.id))
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        thread = await _open_thread(guild, config, claim, helper)
    except BaseException:
        await bot.services.reach_outs.release(checkin_id, helper.id)
        raise
    await bot.services.reach_outs.attach_thread(checkin_id, thread.id)
    await interaction.message.edit(
        content=render.reach_out_taken(helper.id), view=reach_out_view(checkin_id, taken=True)
    )
    await reply(interaction, f"Thank you. The private thread is open: {thread.mention} — the member has been added.")


def _already_taken(claim: ReachOutClaim, helper_id: int) -> str:
    if claim.reach_out.helper_id != helper_id:
        return TAKEN_BY_OTHER
    if claim.reach_out.thread_id is not None:
        return f"You already took this one: <#{claim.reach_out.thread_id}>."
    return "You already took this one; the private thread is being opened."


async def _open_thread(
    guild: discord.Guild, config: GuildConfig, claim: ReachOutClaim, helper: discord.Member
) -> discord.Thread:
    parent = guild.get_channel(config.help_channel_id) if config.help_channel_id else None
    if not isinstance(parent, discord.TextChannel):
        raise NotConfigured(NO_HELP_CHANNEL)
    checkin = claim.checkin
    try:
        thread = await open_private_thread(parent, f"reach-out-{checkin.id}", members=(checkin.user_id, helper.id))
    except MissingThreadPermissions as error:
        raise PorchlightError(_missing_permissions(parent, error.missing)) from None
    except discord.NotFound:
        raise PorchlightError(
            "I couldn't add the member to the private thread — they may have left the server. "
            "Nothing was posted anywhere."
        ) from None
    note = checkin.note if checkin.share_with_helpers else None
    await thread.send(render.reach_out_opening(checkin.user_id, helper.id, note))
    log.info("reach-out thread opened guild=%d checkin_id=%d thread=%d", guild.id, checkin.id, thread.id)
    return thread


def _missing_permissions(parent: discord.TextChannel, missing: list[str]) -> str:
    return (
        f"I couldn't open the private thread: I'm missing {', '.join(missing)} in {parent.mention}. "
        "A moderator can fix that; the reach-out stays open, so any helper can take it then."
    )
