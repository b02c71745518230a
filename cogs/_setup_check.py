"""/setup check and the start-up check: read the bot's effective permissions from discord.py's cache and hand them
to the pure check in services.permissions."""

from __future__ import annotations

import discord

from services.permissions import ChannelState, Level, RoleState, ServerSnapshot, SetupReport, check_setup
from storage.guilds import GuildConfig

ICONS = {Level.MISSING: "❌", Level.WARNING: "⚠️", Level.OPTIONAL: "➖"}


def snapshot(guild: discord.Guild, config: GuildConfig | None) -> ServerSnapshot:
    """The bot's effective permissions in each configured channel (role permissions, then @everyone, role and
    member overwrites, as ``permissions_for`` computes them) and the configured roles' positions."""
    me = guild.me
    channels: dict[int, ChannelState] = {}
    roles: dict[int, RoleState] = {}
    if config is not None:
        for channel_id in (config.help_channel_id, config.queue_channel_id, config.roster_channel_id):
            channel = guild.get_channel(channel_id) if channel_id else None
            if channel is not None and channel_id is not None:
                channels[channel_id] = ChannelState(
                    name=channel.name,
                    bot_permissions=channel.permissions_for(me).value,
                    everyone_can_view=channel.permissions_for(guild.default_role).view_channel,
                )
        for role_id in (config.helper_role_id, config.mentor_role_id, config.moderator_role_id):
            role = guild.get_role(role_id) if role_id else None
            if role is not None and role_id is not None:
                roles[role_id] = RoleState(name=role.name, position=role.position, mentionable=role.mentionable)
    return ServerSnapshot(
        bot_name=me.display_name,
        bot_guild_permissions=me.guild_permissions.value,
        bot_top_position=me.top_role.position,
        channels=channels,
        roles=roles,
    )


def run_check(guild: discord.Guild, config: GuildConfig | None) -> SetupReport:
    return check_setup(config, snapshot(guild, config))


def report_embed(report: SetupReport) -> discord.Embed:
    if report.ok and not report.findings:
        return discord.Embed(
            title="Porchlight setup check: all good",
            description=f"Checked {report.checked} channels and roles. Everything Porchlight needs is in place.",
            colour=discord.Colour.green(),
        )
    embed = discord.Embed(
        title="Porchlight setup check: " + ("needs fixing" if report.missing else "works, with notes"),
        colour=discord.Colour.red() if report.missing else discord.Colour.gold(),
    )
    lines = [f"{ICONS[finding.level]} {finding.text}" for finding in report.findings]
    embed.description = "\n".join(lines)[:4000]
    embed.set_footer(text="Run /setup check again after fixing. ❌ needed · ⚠️ advised · ➖ optional feature")
    return embed
