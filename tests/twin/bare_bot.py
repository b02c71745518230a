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

    details: discord.ui.Label[TopicModal] = discord.ui.Label(
        text="What would help",
        component=discord.ui.TextInput(custom_id="form:details", style=discord.TextStyle.paragraph, required=False),
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert isinstance(self.details.component, discord.ui.TextInput)
        details = self.details.component.value
        await interaction.response.send_message(f"topic={self.topic.value} details={details}", ephemeral=True)


class PickView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.select(
        custom_id="demo:pick",
        placeholder="Pick a time zone",
        options=[discord.SelectOption(label="Berlin", value="Europe/Berlin"),
                 discord.SelectOption(label="Lagos", value="Africa/Lagos")],
    )  # fmt: skip
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[PickView]) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content=f"picked {select.values[0]}", view=None)


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

        @tree.command(name="edit-later", description="Defer, then edit the original")
        async def edit_later(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.edit_original_response(content="edited original")

        @tree.command(name="picker", description="Post a select")
        async def picker(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("choose", view=PickView(), ephemeral=True)

        @tree.command(name="late", description="Answer too late")
        async def late(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("too late")

        setup = app_commands.Group(
            name="setup", description="Configure", default_permissions=discord.Permissions(manage_guild=True)
        )

        @setup.command(name="channels", description="Pick channels")
        async def setup_channels(
            interaction: discord.Interaction,
            help: discord.TextChannel,
            role: discord.Role,
            who: discord.Member,
            count: int = 1,
        ) -> None:
            await interaction.response.send_message(
                f"help={help.name} role={role.name} who={who.name} count={count}", ephemeral=True
            )

        tree.add_command(setup)

        @tree.command(name="tz", description="Pick a time zone")
        async def tz(interaction: discord.Interaction, timezone: str) -> None:
            await interaction.response.send_message(f"tz={timezone}", ephemeral=True)

        @tz.autocomplete("timezone")
        async def tz_complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            zones = ["Europe/Berlin", "Europe/Bern", "Africa/Lagos"]
            return [app_commands.Choice(name=z, value=z) for z in zones if current.lower() in z.lower()]

        await tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py's default waits 5 s before re-identifying (a Discord rate limit); the twin has none."""
        return None

    async def on_message(self, message: discord.Message) -> None:
        self.seen_messages.append(message.id)
