"""What /setup settings, /setup set and /setup reset show, and the confirmation a privacy-weakening change needs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord.ui import Button

from cogs._text import member_text
from cogs._ui import CUSTOM_IDS, PersistentView, reply, routes_errors
from services import settings_catalog as catalog
from services.settings_catalog import Group
from services.setup import SettingsOverview, SettingUpdate
from storage.help_relays import Reveal

if TYPE_CHECKING:
    from bot import PorchlightBot

    Interaction = discord.Interaction[PorchlightBot]

log = logging.getLogger(__name__)


def overview_embeds(
    overview: SettingsOverview, reveals: Sequence[tuple[int | None, Reveal]] = ()
) -> list[discord.Embed]:
    """One embed per group (an embed holds 25 fields and 6,000 characters), the audit list last: setting changes,
    then moderators' reveals of anonymous askers (``reveals``: request number and the reveal)."""
    embeds: list[discord.Embed] = []
    for group in Group:
        embed = discord.Embed(title=f"Settings · {group.value}", colour=discord.Colour.gold())
        lines = []
        for setting in (s for s in catalog.CATALOG if s.group is group):
            value = catalog.show(setting, overview.value(setting))
            marker = "" if overview.is_set(setting) else " (default)"
            default = "" if not overview.is_set(setting) else f" · default {catalog.show(setting, setting.default)}"
            lines.append(f"**`{setting.name}`**: {value}{marker}{default} · {setting.range_text}\n{setting.help}")
        embed.description = "\n".join(lines)
        embeds.append(embed)
    audit = discord.Embed(title="Recent changes", colour=discord.Colour.light_grey())
    audit.description = "\n".join(change_line(c) for c in overview.changes) or "No setting has been changed yet."
    if reveals:
        audit.add_field(
            name="Anonymous askers revealed by moderators",
            value="\n".join(reveal_line(number, reveal) for number, reveal in reveals[:10])[:1024],
            inline=False,
        )
    audit.set_footer(text="/setup set name value to change one · /setup reset name for its default")
    embeds.append(audit)
    return embeds


def reveal_line(number: int | None, reveal: Reveal) -> str:
    who = f"<@{reveal.moderator_id}>" if reveal.moderator_id else "a former moderator"
    request = f"request #{number}" if number is not None else "a request since deleted"
    return f"<t:{int(reveal.revealed_at.timestamp())}:f> {who}: {request} — {member_text(reveal.reason)}"


def change_line(change: Any) -> str:
    setting = catalog.BY_NAME.get(change.name)
    show = (lambda v: "default" if v is None else catalog.show(setting, v)) if setting else str
    who = f"<@{change.changed_by}>" if change.changed_by else "a former member"
    when = f"<t:{int(change.changed_at.timestamp())}:f>"
    return f"{when} {who}: `{change.name}` {show(change.old_value)} → {show(change.new_value)}"


def update_text(update: SettingUpdate, *, reset: bool = False) -> str:
    setting = update.setting
    before, after = catalog.show(setting, update.before), catalog.show(setting, update.after)
    if not update.changed:
        return f"`{setting.name}` is already {after}{' (the default)' if reset else ''}. Nothing changed."
    when = setting.when or "applies at once"
    verb = "is back to its default" if reset else "is now"
    return f"`{setting.name}` {verb}: **{before} → {after}**. This {when}; no restart needed."


CONFIRM_TEXT = (
    "Turning on `{name}` names the asker on every card in the helper queue (posted or updated from now on), for "
    "everyone who can see that channel. Today the queue shows only the topic and time, and askers rely on that. "
    "The helper queue will be told about the change. Turn it on?"
)


class ConfirmSetting(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["setup.confirm"]):
    """Confirms a privacy-weakening change (the value is in the id: ids and fixed words only)."""

    def __init__(self, name: str, value: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Yes, turn it on", style=discord.ButtonStyle.danger, custom_id=f"setup:confirm:{name}:{value}"
            )
        )
        self.name, self.value = name, value

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: Any) -> ConfirmSetting:
        return cls(match["name"], match["value"])

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        if not interaction.permissions.manage_guild:
            await reply(interaction, "Only someone with Manage Server can change Porchlight's settings.")
            return
        setup = interaction.client.services.setup
        update = await setup.set_setting(
            interaction.guild_id, self.name, self.value, by=interaction.user.id, confirmed=True
        )
        if update.changed:  # the queue is told before the admin hears it is done
            await announce(interaction, update)
        await interaction.response.edit_message(content=update_text(update), view=None)


class CancelSetting(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["setup.cancel"]):
    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="Cancel", custom_id="setup:cancel"))

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: Any) -> CancelSetting:
        return cls()

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await interaction.response.edit_message(content="Nothing changed.", view=None)


def confirm_view(update: SettingUpdate) -> discord.ui.View:
    view = PersistentView()
    view.add_item(ConfirmSetting(update.setting.name, "on"))
    view.add_item(CancelSetting())
    return view


async def announce(interaction: Interaction, update: SettingUpdate) -> None:
    """Tell the helper queue that askers' names now show there (who changed it, and how to undo it)."""
    config = await interaction.client.services.setup.config(interaction.guild_id or 0)
    guild = interaction.guild
    channel = guild.get_channel(config.queue_channel_id) if guild and config and config.queue_channel_id else None
    if not isinstance(channel, discord.TextChannel):
        return
    try:
        await channel.send(
            f"Heads up: {interaction.user.mention} turned on `{update.setting.name}`. Queue cards now show who asked. "
            "Please keep what you see here to this channel. (`/setup reset` turns it off.)",
            allowed_mentions=discord.AllowedMentions.none(),
        )
    except discord.HTTPException as error:
        log.warning("settings announcement refused guild=%s status=%s", interaction.guild_id, error.status)


DYNAMIC_ITEMS = (ConfirmSetting, CancelSetting)
