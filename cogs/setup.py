"""/setup: per-server channels and roles. Manage Server only, answered ephemerally."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs import _settings
from cogs._setup_check import command_access, report_embed, run_check
from cogs._ui import reply
from services import settings_catalog as catalog
from services.permissions import SetupReport
from services.setup import RoleChoice
from storage.guilds import GuildConfig

if TYPE_CHECKING:
    from bot import PorchlightBot


def _role_choice(role: discord.Role) -> RoleChoice:
    return RoleChoice(id=role.id, is_default=role.is_default(), managed=role.managed)


def _channel(channel_id: int | None) -> str:
    return f"<#{channel_id}>" if channel_id else "not set"


def _role(role_id: int | None) -> str:
    return f"<@&{role_id}>" if role_id else "not set"


def config_embed(config: GuildConfig | None) -> discord.Embed:
    embed = discord.Embed(title="Porchlight setup", colour=discord.Colour.gold())
    if config is None:
        embed.description = "Nothing is set up yet. Start with `/setup channels`, then `/setup roles`."
        return embed
    embed.add_field(
        name="Channels",
        value=(
            f"Help threads open under: {_channel(config.help_channel_id)}\n"
            f"Helper queue (helpers only): {_channel(config.queue_channel_id)}\n"
            f"Mentor roster: {_channel(config.roster_channel_id)}"
        ),
        inline=False,
    )
    embed.add_field(
        name="Roles",
        value=(
            f"Helpers: {_role(config.helper_role_id)}\n"
            f"Mentors: {_role(config.mentor_role_id)}\n"
            f"Moderators: {_role(config.moderator_role_id)}"
        ),
        inline=False,
    )
    missing = [
        name
        for name, value in (
            ("/setup channels", config.help_channel_id),
            ("/setup roles", config.helper_role_id),
        )
        if value is None
    ]
    if missing:
        embed.set_footer(text="Still to do: " + ", ".join(missing))
    return embed


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SetupCog(commands.GroupCog, group_name="setup", group_description="Configure Porchlight for this server"):
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot
        self.setup = bot.services.setup
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[PorchlightBot]) -> bool:
        # default_permissions only hides the command; server admins can override it, so check here too.
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    @app_commands.command(name="channels", description="Where help threads, the helper queue and the roster live")
    @app_commands.describe(
        help="Private help threads open under this channel (members must be able to see it)",
        queue="Helpers-only channel where open requests are listed",
        roster="Channel that lists mentors and their free call slots",
    )
    async def channels(
        self,
        interaction: discord.Interaction[PorchlightBot],
        help: discord.TextChannel,
        queue: discord.TextChannel,
        roster: discord.TextChannel,
    ) -> None:
        assert interaction.guild_id is not None
        config = await self.setup.set_channels(
            interaction.guild_id, help_channel_id=help.id, queue_channel_id=queue.id, roster_channel_id=roster.id
        )
        await reply(interaction, "Saved. Here is the setup now:", embed=config_embed(config))

    @app_commands.command(name="roles", description="Choose the helper, mentor and moderator roles")
    @app_commands.describe(
        helper="Members who answer private help requests",
        mentor="Volunteers who offer short calls",
        moderator="Staff who can close any request and see anonymous counts (optional)",
    )
    async def roles(
        self,
        interaction: discord.Interaction[PorchlightBot],
        helper: discord.Role,
        mentor: discord.Role,
        moderator: discord.Role | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        config = await self.setup.set_roles(
            interaction.guild_id,
            helper=_role_choice(helper),
            mentor=_role_choice(mentor),
            moderator=_role_choice(moderator) if moderator else None,
        )
        await reply(interaction, "Saved. Here is the setup now:", embed=config_embed(config))

    @app_commands.command(name="show", description="Show Porchlight's setup for this server")
    async def show(self, interaction: discord.Interaction[PorchlightBot]) -> None:
        assert interaction.guild_id is not None
        await reply(interaction, embed=config_embed(await self.setup.config(interaction.guild_id)))

    @app_commands.command(name="check", description="Check Porchlight's permissions in the configured channels")
    async def check(self, interaction: discord.Interaction[PorchlightBot]) -> None:
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)  # reading command permissions takes requests
        config = await self.setup.config(interaction.guild.id)
        report = run_check(interaction.guild, config)
        extra = await command_access(self.bot, interaction.guild, config)
        if extra:
            report = SetupReport(report.findings + extra, checked=report.checked, configured=report.configured)
        await reply(interaction, embed=report_embed(report))

    @app_commands.command(name="settings", description="Every Porchlight setting: value, default, range, meaning")
    async def settings(self, interaction: discord.Interaction[PorchlightBot]) -> None:
        assert interaction.guild_id is not None
        requests = self.bot.services.help_requests
        reveals = [
            (request.number if (request := await requests.get(r.request_id)) else None, r)
            for r in await requests.reveals(interaction.guild_id)
        ]
        overview = await self.setup.settings(interaction.guild_id)
        await reply(interaction, embeds=_settings.overview_embeds(overview, reveals))

    @app_commands.command(name="set", description="Change one Porchlight setting")
    @app_commands.describe(name="The setting (see /setup settings)", value="The new value, e.g. 7 or on")
    async def set_(self, interaction: discord.Interaction[PorchlightBot], name: str, value: str) -> None:
        assert interaction.guild_id is not None
        update = await self.setup.set_setting(interaction.guild_id, name, value, by=interaction.user.id)
        if update.needs_confirmation:
            text = _settings.CONFIRM_TEXT.format(name=update.setting.name)
            await reply(interaction, text, view=_settings.confirm_view(update))
            return
        if update.weakens_privacy:  # only reached when confirmation is not needed; kept for a future switch
            await _settings.announce(interaction, update)
        await reply(interaction, _settings.update_text(update))

    @app_commands.command(name="reset", description="Put one Porchlight setting back to its default")
    @app_commands.describe(name="The setting (see /setup settings)")
    async def reset(self, interaction: discord.Interaction[PorchlightBot], name: str) -> None:
        assert interaction.guild_id is not None
        update = await self.setup.reset_setting(interaction.guild_id, name, by=interaction.user.id)
        await reply(interaction, _settings.update_text(update, reset=True))

    @set_.autocomplete("name")
    @reset.autocomplete("name")
    async def _names(
        self, interaction: discord.Interaction[PorchlightBot], current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        matches = [s for s in catalog.CATALOG if typed in s.name or typed in s.help.lower()]
        return [app_commands.Choice(name=f"{s.name} ({s.range_text})"[:100], value=s.name) for s in matches[:25]]


async def setup(bot: PorchlightBot) -> None:
    bot.add_dynamic_items(*_settings.DYNAMIC_ITEMS)
    await bot.add_cog(SetupCog(bot))
