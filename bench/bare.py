"""The baseline: a bare discord.py bot that does the minimum for each benchmarked interaction.

Every answer is a constant ephemeral message (or the next form or picker of a flow, with constant contents):

- ``/setup show`` and ``/checkin status`` answer at once;
- ``/ask topic`` opens a form (the same input ids as Porchlight's), whose submission is answered at once;
- a booking: the "Book a call" button on a card the bot posts (``post_card``) answers with a time select, the select
  opens a form ("What would you like to talk about?"), and the submission is answered at once.

It imports nothing of Porchlight's, so its process holds only discord.py (the memory baseline).
``python -m bench.bare`` runs it as its own process against the twin named by ``BARE_TOKEN``, ``BARE_API_BASE``
and ``BARE_GATEWAY_URL``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import discord
from discord import app_commands

STATUSES = ("on_track", "stuck", "rut", "hired")
TOPICS = ("resume", "interviews", "networking", "applications", "offers", "career-change", "motivation", "other")
BOOK = "bare:book"
SLOT = "bare:slot"
TALK = "What would you like to talk about?"


def _ask_form() -> discord.ui.Modal:
    modal = discord.ui.Modal(title="Ask for help privately", custom_id="bare:ask", timeout=None)
    modal.add_item(discord.ui.TextInput(label="What's going on?", custom_id="body", style=discord.TextStyle.paragraph))
    modal.add_item(discord.ui.TextInput(label="What would help most?", custom_id="wants", required=False))
    return modal


def _talk_form() -> discord.ui.Modal:
    modal = discord.ui.Modal(title=TALK, custom_id="bare:request", timeout=None)
    modal.add_item(discord.ui.TextInput(label=TALK, custom_id="topic", required=False))
    return modal


class BareBot(discord.Client):
    def __init__(self, **options: Any) -> None:
        options.setdefault("guild_ready_timeout", 0.05)
        super().__init__(intents=discord.Intents.none(), **options)
        self.tree = app_commands.CommandTree(self)
        setup = app_commands.Group(name="setup", description="Baseline")

        @setup.command(name="show", description="Answer with a constant")
        async def show(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("ok", ephemeral=True)

        @app_commands.command(name="checkin", description="Answer with a constant")
        @app_commands.choices(status=[app_commands.Choice(name=s, value=s) for s in STATUSES])
        async def checkin(interaction: discord.Interaction, status: app_commands.Choice[str]) -> None:
            await interaction.response.send_message("ok", ephemeral=True)

        @app_commands.command(name="ask", description="Open a form")
        @app_commands.choices(topic=[app_commands.Choice(name=t, value=t) for t in TOPICS])
        async def ask(interaction: discord.Interaction, topic: app_commands.Choice[str]) -> None:
            await interaction.response.send_modal(_ask_form())

        self.tree.add_command(setup)
        self.tree.add_command(checkin)
        self.tree.add_command(ask)

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """The booking flow and the form submissions, by custom id (no view state: the minimum)."""
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = data.get("custom_id")
        if custom_id == BOOK:
            options = [discord.SelectOption(label=f"slot {i}", value=str(1_800_000_000 + i * 1800)) for i in range(25)]
            view = discord.ui.View(timeout=None)
            view.add_item(discord.ui.Select(custom_id=SLOT, placeholder="Pick a time", options=options))
            await interaction.response.send_message("Pick a time", view=view, ephemeral=True)
        elif custom_id == SLOT:
            await interaction.response.send_modal(_talk_form())
        elif custom_id in ("bare:ask", "bare:request"):
            await interaction.response.send_message("ok", ephemeral=True)

    async def post_card(self, channel_id: int) -> int:
        """Post the booking card with its button; returns the message id."""
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="Book a call", custom_id=BOOK))
        message = await self.get_partial_messageable(channel_id).send("A mentor", view=view)
        return message.id


async def _main() -> None:
    from discord_endpoints import point_discord_at

    point_discord_at(os.environ["BARE_API_BASE"], os.environ["BARE_GATEWAY_URL"])
    bot = BareBot(guild_ready_timeout=float(os.environ.get("BARE_GUILD_READY_TIMEOUT", "2.0")))
    card_channel = os.environ.get("BARE_CARD_CHANNEL")
    if card_channel:

        @bot.event
        async def on_ready() -> None:
            await bot.post_card(int(card_channel))

    async with bot:
        await bot.start(os.environ["BARE_TOKEN"])


if __name__ == "__main__":
    if os.environ.get("BARE_LOOP") == "uvloop":  # ``bench.interactions --bare-loop uvloop``: Porchlight's loop
        import uvloop

        uvloop.run(_main())
    else:
        asyncio.run(_main())
