"""share_with_helpers: the nameless notice in the helper queue, and "I'll reach out" opening a private thread.

Only the helper who takes it learns who the member is, inside a private thread (type 12, not invitable) that the
bot creates under the configured help channel, with exactly the member and that helper added. No role is ever
mentioned there (that would add every holder of the role)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from cogs._threads import missing_thread_permissions
from cogs._ui import CUSTOM_IDS, PersistentView, reply, routes_errors
from cogs.checkins import _render as render
from services.checkins import CheckinOutcome
from services.errors import NotConfigured, PorchlightError
from services.reach_outs import ReachEffect, ReachOutClaim, reach_subject, share_subject

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
# Why a thread could not be opened: the failed effect's error (``cogs/checkins/_effects.py``), read by the answer.
NO_PARENT = "no help channel"
NO_PERMISSION = "missing permissions"
MEMBER_GONE = "member gone"
OPENING_SOON = (
    "Thank you — it's yours. Discord is slow to open the private thread right now; I'll DM you the link as soon "
    "as it is open, with the member added."
)
MEMBER_LEFT = (
    "I couldn't add the member to the private thread — they may have left the server. Nothing was posted anywhere."
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
    view = PersistentView()
    view.add_item(ReachOutButton(checkin_id, taken=taken))
    return view


async def post_notice(bot: PorchlightBot, guild: discord.Guild, outcome: CheckinOutcome) -> str:
    """Carry out the notice recorded with the check-in (``services.reach_outs``); return the line that tells the
    member what happened."""
    config = await bot.services.setup.config(guild.id)
    subject = share_subject(outcome.checkin.id)
    flush = await bot.effects.flush(subject)
    effect = await bot.services.outbox.latest(subject, ReachEffect.NOTICE)
    if effect is None or effect.status == "done":
        return render.share_line(note_shared=outcome.checkin.note is not None)
    if config is None or config.queue_channel_id is None:
        return render.QUEUE_NOT_SET
    if effect.status == "pending" and flush.pending and not flush.blocked:
        return render.share_line(note_shared=outcome.checkin.note is not None) + render.SHARE_PENDING
    log.warning("reach-out notice not posted guild=%d checkin_id=%d", guild.id, outcome.checkin.id)
    return render.QUEUE_UNREACHABLE


async def take_reach_out(interaction: Interaction, checkin_id: int) -> None:
    bot: PorchlightBot = interaction.client
    guild, helper = interaction.guild, interaction.user
    assert guild is not None and isinstance(helper, discord.Member) and interaction.message is not None
    config = await bot.services.setup.config(guild.id)
    if config is None or config.helper_role_id is None or helper.get_role(config.helper_role_id) is None:
        await reply(interaction, HELPERS_ONLY)
        return
    parent = guild.get_channel(config.help_channel_id) if config.help_channel_id else None
    if not isinstance(parent, discord.TextChannel):
        raise NotConfigured(NO_HELP_CHANNEL)
    missing = missing_thread_permissions(parent)
    if missing:
        raise PorchlightError(_missing_permissions(parent, missing))
    notice = (interaction.message.channel.id, interaction.message.id)
    claim = await bot.services.reach_outs.take(guild.id, checkin_id, helper.id, notice=notice)
    if not claim.created:
        await reply(interaction, _already_taken(claim, helper.id))
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    subject = reach_subject(checkin_id)
    await bot.effects.flush(subject)
    reach = await bot.services.reach_outs.get(checkin_id)
    if reach is not None and reach.helper_id == helper.id and reach.thread_id is not None:
        # The answer tells them, so the fallback DM is dropped first: a crash between the two leaves the helper
        # without a confirmation (they are in the thread), never with two.
        await bot.services.reach_outs.helper_told(checkin_id)
        await reply(
            interaction, f"Thank you. The private thread is open: <#{reach.thread_id}> — the member has been added."
        )
        return
    if reach is not None and reach.helper_id == helper.id:  # Discord is slow or failing: the effects job goes on
        await bot.services.outbox.hasten(subject, ReachEffect.TELL_HELPER)
        await reply(interaction, OPENING_SOON)
        return
    failed = await bot.services.outbox.latest(subject, ReachEffect.THREAD)
    error = (failed.last_error or "") if failed else ""
    if NO_PERMISSION in error:
        raise PorchlightError(_missing_permissions(parent, missing_thread_permissions(parent) or ["Manage Threads"]))
    if NO_PARENT in error:
        raise NotConfigured(NO_HELP_CHANNEL)
    raise PorchlightError(MEMBER_LEFT)


def _already_taken(claim: ReachOutClaim, helper_id: int) -> str:
    if claim.reach_out.helper_id != helper_id:
        return TAKEN_BY_OTHER
    if claim.reach_out.thread_id is not None:
        return f"You already took this one: <#{claim.reach_out.thread_id}>."
    return "You already took this one; the private thread is being opened."


def _missing_permissions(parent: discord.TextChannel, missing: list[str]) -> str:
    return (
        f"I couldn't open the private thread: I'm missing {', '.join(missing)} in {parent.mention}. "
        "A moderator can fix that; the reach-out stays open, so any helper can take it then."
    )
