"""Persistent check-in buttons: DynamicItems whose state is the custom id (templates in ``cogs._ui.CUSTOM_IDS``)
plus the database, so they keep working after a restart. Every callback answers errors through ``routes_errors``."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from cogs._guilds import guild_of
from cogs._ui import CUSTOM_IDS, PersistentView, reply, routes_errors
from cogs.checkins import _render as render
from cogs.checkins._reach import ReachOutButton
from services.checkins import CheckinOutcome, ReplyKind, Source, Status

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
Button = discord.ui.Button[discord.ui.View]


def _bot(interaction: Interaction) -> PorchlightBot:
    return interaction.client  # type: ignore[no-any-return]


# --- "How is it going?" in DMs -----------------------------------------------------------------------------------


class StatusButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["checkin.status"]):
    """One status in a follow-up or reminder DM. DMs carry no guild, so the guild id is in the custom id."""

    def __init__(self, guild_id: int, status: Status, source: Source, *, chosen: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=status.label,
                style=discord.ButtonStyle.success if chosen else discord.ButtonStyle.secondary,
                custom_id=f"checkin:status:{guild_id}:{status.value}:{source.value}",
            )
        )
        self.guild_id = guild_id
        self.status = status
        self.source = source

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["guild_id"]), Status(match["status"]), Source(match["source"] or Source.FOLLOWUP))

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        assert interaction.message is not None
        bot = _bot(interaction)
        outcome = await bot.services.checkins.record(
            self.guild_id,
            interaction.user.id,
            self.status,
            source=self.source,
            dedupe_key=f"{interaction.message.id}:{interaction.user.id}",
        )
        guild = await guild_of(bot, self.guild_id)
        view = answered_view(self.guild_id, self.source, outcome)
        await interaction.response.edit_message(
            content=render.recorded(outcome, guild.name if guild else "your server"), view=view
        )


def status_view(guild_id: int, source: Source) -> discord.ui.View:
    view = PersistentView()
    for status in Status:
        view.add_item(StatusButton(guild_id, status, source))
    return view


def answered_view(guild_id: int, source: Source, outcome: CheckinOutcome) -> discord.ui.View:
    """The DM after a press: the status buttons disabled (the recorded one highlighted), then the offer if any."""
    view = PersistentView()
    for status in Status:
        button = StatusButton(guild_id, status, source, chosen=status is outcome.status)
        button.item.disabled = True
        view.add_item(button)
    for item in offer_items(outcome.reply, guild_id=guild_id):
        item.item.row = 1
        view.add_item(item)
    return view


# --- the offer after Stuck / In a rut -----------------------------------------------------------------------------


async def open_help_request(interaction: Interaction, topic: str | None, guild_id: int | None = None) -> None:
    """Where "Ask for help privately" leads: /ask's form (limits checked first), marked as coming from a check-in.
    ``guild_id`` says which server a button in a DM belongs to."""
    from cogs.help._views import desk_of  # the help cog imports nothing from check-ins; this keeps it that way

    await desk_of(interaction).open_form(interaction, topic, "checkin", guild_id=guild_id)


async def show_mentors(interaction: Interaction, guild_id: int | None = None) -> None:
    """Where "Find a commute call" leads: the mentors who can be booked, with their next free times. From a DM
    (``guild_id`` carried by the button) it points at the server's roster, where every card has a Book button."""
    from cogs.mentors._views import desk  # the mentors cog imports nothing from check-ins; this keeps it that way

    if interaction.guild_id is None and guild_id is not None:
        config = await _bot(interaction).services.setup.config(guild_id)
        await reply(interaction, render.mentors_on_roster(config.roster_channel_id if config else None))
        return
    await desk(interaction).show_matching(interaction, None)


class AskButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["checkin.ask"]):
    """Opens the help form. In a DM (a follow-up or reminder) the custom id carries the server's id."""

    def __init__(self, topic: str | None, *, lead: bool = False, guild_id: int | None = None) -> None:
        suffix = f":{guild_id}" if guild_id is not None else ""
        super().__init__(
            discord.ui.Button(
                label="Ask for help privately",
                style=discord.ButtonStyle.primary if lead else discord.ButtonStyle.secondary,
                custom_id=f"checkin:ask:{topic or 'none'}{suffix}",
            )
        )
        self.topic = topic
        self.guild_id = guild_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        topic = match["topic"]
        guild_id = int(match["guild_id"]) if match["guild_id"] else None
        return cls(None if topic == "none" else topic, guild_id=guild_id)

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await open_help_request(interaction, self.topic, self.guild_id)


class MentorsButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["checkin.mentors"]):
    def __init__(self, guild_id: int | None = None) -> None:
        suffix = f":{guild_id}" if guild_id is not None else ""
        super().__init__(discord.ui.Button(label="Find a commute call", custom_id=f"checkin:mentors{suffix}"))
        self.guild_id = guild_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["guild_id"]) if match["guild_id"] else None)

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await show_mentors(interaction, self.guild_id)


class DismissButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["checkin.dismiss"]):
    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="Not now", custom_id="checkin:dismiss"))

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls()

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await interaction.response.edit_message(content=render.DISMISSED, embed=None, view=None)


def offer_items(kind: ReplyKind, *, guild_id: int | None = None) -> list[discord.ui.DynamicItem[Button]]:
    """Stuck / In a rut: ask, a call, not now. The second time in a row the help button leads, in primary style.
    ``guild_id`` is for offers in a DM, where the interaction carries no server."""
    if kind not in (ReplyKind.OFFER_HELP, ReplyKind.OFFER_HELP_AGAIN):
        return []
    # The topic is "none" until a service can suggest one from the check-in; the help form then asks.
    return [
        AskButton(None, lead=kind is ReplyKind.OFFER_HELP_AGAIN, guild_id=guild_id),
        MentorsButton(guild_id),
        DismissButton(),
    ]


def offer_view(kind: ReplyKind) -> discord.ui.View | None:
    items = offer_items(kind)
    if not items:
        return None
    return PersistentView(*items)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    StatusButton,
    AskButton,
    MentorsButton,
    DismissButton,
    ReachOutButton,
)
