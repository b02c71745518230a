"""/setup check and the start-up check: read the bot's effective permissions from discord.py's cache and hand them
to the pure check in services.permissions."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from services.permissions import (
    ChannelState,
    CommandAccess,
    Finding,
    Level,
    RoleState,
    ServerSnapshot,
    SetupReport,
    check_setup,
    command_access_findings,
)
from storage.guilds import GuildConfig

log = logging.getLogger(__name__)

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


async def command_access(bot: commands.Bot, guild: discord.Guild, config: GuildConfig | None) -> list[Finding]:
    """Whether the configured moderator role can use every moderator command, read from Discord's command
    permissions (what admins set in Server Settings > Integrations): the registered commands, global and for this
    server, and the overrides of this server. Three requests, so /setup check only (not the start-up line)."""
    role = guild.get_role(config.moderator_role_id) if config and config.moderator_role_id else None
    if role is None or bot.application_id is None:
        return []
    try:
        registered = await bot.tree.fetch_commands() + await bot.tree.fetch_commands(guild=guild)
        raw = await bot.http.get_guild_application_command_permissions(bot.application_id, guild.id)
    except discord.HTTPException as error:
        log.warning("command permissions not read guild=%d status=%s", guild.id, error.status)
        return [Finding(Level.WARNING, "I couldn't read this server's command permissions; try again in a minute.")]
    overrides = {
        int(entry["id"]): {int(p["id"]): bool(p["permission"]) for p in entry["permissions"] if p["type"] in (1, 2)}
        for entry in raw
    }
    commands = [
        CommandAccess(
            name=command.name,
            default_member_permissions=(
                None if command.default_member_permissions is None else command.default_member_permissions.value
            ),
            overrides=overrides.get(command.id, {}),
        )
        for command in registered
    ]
    return command_access_findings(
        bot_name=guild.me.display_name,
        guild_id=guild.id,
        role_id=role.id,
        role_name=role.name,
        role_permissions=role.permissions.value | guild.default_role.permissions.value,
        commands=commands,
        app_overrides=overrides.get(bot.application_id, {}),
    )


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
