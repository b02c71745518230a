"""A minimal, bare discord.py bot used to test the twin itself (no privileged intents)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

PRIVATE_THREAD_TEXT = "private words for the thread"


class ClaimView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Claim", custom_id="demo:claim", style=discord.ButtonStyle.primary)
    async def claim(self, interaction: discord.Interaction, button: discord.ui.Button[ClaimView]) -> None:
        await interaction.response.edit_message(content=f"claimed by {interaction.user.name}", view=None)


class TopicModal(discord.ui.Modal, title="Ask for help"):
    topic: discord.ui.TextInput[TopicModal] = discord.ui.TextInput(
        label="Topic", custom_id="form:topic", max_length=100
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"topic={self.topic.value}", ephemeral=True)


class BareBot(commands.Bot):
    """Registers a handful of global commands that exercise each kind of interaction response."""

    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.seen_messages: list[int] = []
        self.help_thread: discord.Thread | None = None

    async def setup_hook(self) -> None:
        self.add_view(ClaimView())
        tree = self.tree

        @tree.command(name="ping", description="Answer privately")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong secret-123", ephemeral=True)

        @tree.command(name="slow", description="Defer, then follow up")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.followup.send("slow done", ephemeral=True)

        @tree.command(name="board", description="Post a claimable board")
        async def board(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("open request", view=ClaimView())

        @tree.command(name="form", description="Open a form")
        async def form(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(TopicModal())

        @tree.command(name="helpme", description="Open a private help thread")
        @app_commands.describe(topic="What it is about")
        async def helpme(interaction: discord.Interaction, topic: str) -> None:
            channel = interaction.channel
            assert isinstance(channel, discord.TextChannel)
            thread = await channel.create_thread(
                name=f"help {topic}", type=discord.ChannelType.private_thread, invitable=False
            )
            await thread.add_user(interaction.user)
            await thread.send(PRIVATE_THREAD_TEXT)
            self.help_thread = thread
            await interaction.response.send_message(f"thread {thread.id}", ephemeral=True)

        await tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        self.seen_messages.append(message.id)
