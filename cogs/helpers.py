"""/helper topics, on-call, off and me: helpers choose what they take, go on call for a few hours (new requests on
their topics DM them), and see their own load. Everything here is ephemeral; only the helper sees it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from cogs._ui import CUSTOM_IDS, PersistentView, is_staff, reply, routes_errors
from services.help_requests import TOPICS
from services.helper_duty import HelperCard

if TYPE_CHECKING:
    from bot import PorchlightBot

Interaction = discord.Interaction[Any]
Select = discord.ui.Select[discord.ui.View]

HELPERS_ONLY = "`/helper` is for this server's helpers. Ask a moderator for the helper role if you'd like to help."


def _ts(instant: datetime, style: str) -> str:
    return f"<t:{int(instant.timestamp())}:{style}>"


def _topics(topics: tuple[str, ...] | list[str]) -> str:
    return ", ".join(TOPICS[t] for t in topics if t in TOPICS) if topics else "every topic"


async def _is_helper(interaction: Interaction) -> bool:
    bot: Any = interaction.client
    config = await bot.services.setup.config(interaction.guild_id or 0)
    return is_staff(interaction, [config.helper_role_id if config else None], "manage_threads")


class TopicsSelect(discord.ui.DynamicItem[Select], template=CUSTOM_IDS["helper.topics"]):
    """The request topics a helper takes (none selected: every topic)."""

    def __init__(self, chosen: tuple[str, ...] = ()) -> None:
        options = [
            discord.SelectOption(label=label, value=value, default=value in chosen) for value, label in TOPICS.items()
        ]
        super().__init__(
            discord.ui.Select(
                custom_id="helper:topics",
                placeholder="The topics you'd like to help with (none: all)",
                min_values=0,
                max_values=len(options),
                options=options,
            )
        )

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls()

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        if interaction.guild_id is None or not await _is_helper(interaction):
            await reply(interaction, HELPERS_ONLY)
            return
        data: Any = interaction.data or {}
        bot: Any = interaction.client
        duty = await bot.services.helper_duty.set_topics(
            interaction.guild_id, interaction.user.id, list(data["values"])
        )
        await interaction.response.edit_message(
            content=f"Saved: you take **{_topics(duty.topics)}**. While you're on call (`/helper on-call`), new "
            "requests on these topics DM you.",
            view=None,
        )


def helper_card(card: HelperCard, guild_id: int, queue_channel_id: int | None) -> discord.Embed:
    embed = discord.Embed(title="You as a helper", colour=discord.Colour.green())
    claims = "\n".join(f"#{r.number} {TOPICS.get(r.topic, r.topic)} — <#{r.thread_id}>" for r in card.active)
    embed.add_field(name=f"Requests you're helping with ({len(card.active)})", value=claims or "none", inline=False)
    embed.add_field(name="Topics", value=_topics(card.topics), inline=True)
    on_call = f"until {_ts(card.on_call_until, 'f')}" if card.on_call_until else "off call"
    embed.add_field(name="On call", value=on_call, inline=True)
    embed.add_field(name="People you helped this month", value=str(card.helped_this_month), inline=True)
    embed.set_footer(text="Only you can see this.")
    return embed


class HelperCog(commands.Cog, name="Helpers"):
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot
        self.duty = bot.services.helper_duty

    helper = app_commands.Group(
        name="helper", description="Your topics, on-call hours and load as a helper", guild_only=True
    )

    async def interaction_check(self, interaction: Interaction) -> bool:
        if not await _is_helper(interaction):
            await reply(interaction, HELPERS_ONLY)
            return False
        return True

    @helper.command(name="topics", description="Choose the request topics you'd like to help with")
    async def topics(self, interaction: Interaction) -> None:
        duty = await self.duty.card(interaction.guild_id or 0, interaction.user.id)
        view = PersistentView()
        view.add_item(TopicsSelect(duty.topics))
        await reply(interaction, f"You take **{_topics(duty.topics)}** now. Pick the ones you'd like:", view=view)

    @helper.command(name="on-call", description="Get a DM for new requests on your topics for a few hours")
    @app_commands.describe(hours="How long (1 to 12 hours); it ends by itself")
    async def on_call(self, interaction: Interaction, hours: app_commands.Range[int, 1, 12]) -> None:
        duty = await self.duty.go_on_call(interaction.guild_id or 0, interaction.user.id, hours)
        assert duty.on_call_until is not None
        await reply(
            interaction,
            f"You're on call until {_ts(duty.on_call_until, 't')} ({_ts(duty.on_call_until, 'R')}) for "
            f"**{_topics(duty.topics)}**. A new request DMs at most two on-call helpers, the least recently helped "
            "first. `/helper off` ends it sooner.",
        )

    @helper.command(name="off", description="Stop on-call DMs now")
    async def off(self, interaction: Interaction) -> None:
        was = await self.duty.go_off(interaction.guild_id or 0, interaction.user.id)
        await reply(interaction, "You're off call. Thank you for your time." if was else "You weren't on call.")

    @helper.command(name="me", description="Your claims, topics, on-call hours and how many you helped this month")
    async def me(self, interaction: Interaction) -> None:
        guild_id = interaction.guild_id or 0
        card = await self.duty.card(guild_id, interaction.user.id)
        config = await self.bot.services.setup.config(guild_id)
        await reply(interaction, embed=helper_card(card, guild_id, config.queue_channel_id if config else None))


async def setup(bot: PorchlightBot) -> None:
    bot.add_dynamic_items(TopicsSelect)
    await bot.add_cog(HelperCog(bot))


async def teardown(bot: PorchlightBot) -> None:
    bot.remove_dynamic_items(TopicsSelect)
