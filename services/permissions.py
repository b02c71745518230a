"""The permission self-check behind /setup check and the start-up log line. Pure: no Discord import, no I/O.

The cog takes a :class:`ServerSnapshot` from discord.py's cache (``channel.permissions_for(guild.me)`` computes the
bot's effective permissions the Discord way: base role permissions, then @everyone, role and member overwrites)
and this module turns it into findings with exact fixes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from storage.guilds import GuildConfig

# Discord permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
MANAGE_ROLES = 1 << 28
MANAGE_THREADS = 1 << 34
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38

NAMES: dict[int, str] = {
    VIEW_CHANNEL: "View Channel",
    SEND_MESSAGES: "Send Messages",
    EMBED_LINKS: "Embed Links",
    READ_MESSAGE_HISTORY: "Read Message History",
    CREATE_PRIVATE_THREADS: "Create Private Threads",
    SEND_MESSAGES_IN_THREADS: "Send Messages in Threads",
    MANAGE_THREADS: "Manage Threads",
    MANAGE_ROLES: "Manage Roles",
    MANAGE_CHANNELS: "Manage Channels",
}

HELP_NEEDS = (
    VIEW_CHANNEL,
    SEND_MESSAGES,
    CREATE_PRIVATE_THREADS,
    SEND_MESSAGES_IN_THREADS,
    MANAGE_THREADS,
    READ_MESSAGE_HISTORY,
)
BOARD_NEEDS = (VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, READ_MESSAGE_HISTORY)


class Level(StrEnum):
    MISSING = "missing"  # a feature cannot work until fixed
    WARNING = "warning"  # works, but not as the server probably wants
    OPTIONAL = "optional"  # an optional feature is off


@dataclass(frozen=True, slots=True)
class ChannelState:
    name: str
    bot_permissions: int  # effective, overwrites included
    everyone_can_view: bool


@dataclass(frozen=True, slots=True)
class RoleState:
    name: str
    position: int
    mentionable: bool = True


@dataclass(frozen=True, slots=True)
class ServerSnapshot:
    bot_name: str
    bot_guild_permissions: int
    bot_top_position: int
    channels: Mapping[int, ChannelState]  # the configured channels that still exist
    roles: Mapping[int, RoleState]  # the configured roles that still exist


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    text: str


@dataclass(frozen=True, slots=True)
class SetupReport:
    findings: list[Finding] = field(default_factory=list)
    checked: int = 0  # channels and roles looked at
    configured: bool = True

    @property
    def missing(self) -> list[Finding]:
        return [f for f in self.findings if f.level is Level.MISSING]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level is not Level.MISSING]

    @property
    def ok(self) -> bool:
        return self.configured and not self.missing

    def summary(self) -> str:
        """One line for the start-up log (channel and role names only; nothing about members)."""
        if not self.configured:
            return "not set up yet (/setup channels, /setup roles)"
        if not self.findings:
            return f"ok ({self.checked} channels and roles checked)"
        return f"{len(self.missing)} missing, {len(self.warnings)} warnings: " + "; ".join(
            f.text for f in self.findings
        )


def _names(bits: list[int]) -> str:
    words = [NAMES[b] for b in bits]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _channel_findings(
    purpose: str, channel_id: int | None, needs: tuple[int, ...], snapshot: ServerSnapshot
) -> list[Finding]:
    if channel_id is None:
        return [Finding(Level.MISSING, f"No {purpose} channel is set. Run `/setup channels`.")]
    channel = snapshot.channels.get(channel_id)
    if channel is None:
        return [
            Finding(
                Level.MISSING,
                f"The {purpose} channel was deleted or {snapshot.bot_name} cannot see it. "
                f"Choose it again with `/setup channels`, or give {snapshot.bot_name} View Channel there.",
            )
        ]
    perms = channel.bot_permissions
    if perms & ADMINISTRATOR:
        return []
    lacking = [bit for bit in needs if not perms & bit]
    if not lacking:
        return []
    return [Finding(Level.MISSING, f"Give {snapshot.bot_name} {_names(lacking)} in #{channel.name}.")]


def check_setup(config: GuildConfig | None, snapshot: ServerSnapshot) -> SetupReport:
    """Everything the bot needs from this server, with the exact fix for each gap."""
    if config is None or (not config.channels_configured and not config.roles_configured):
        return SetupReport(
            [Finding(Level.MISSING, "Nothing is set up yet. Run `/setup channels`, then `/setup roles`.")],
            configured=False,
        )
    findings: list[Finding] = []
    findings += _channel_findings("help", config.help_channel_id, HELP_NEEDS, snapshot)
    findings += _channel_findings("helper queue", config.queue_channel_id, BOARD_NEEDS, snapshot)
    findings += _channel_findings("mentor roster", config.roster_channel_id, BOARD_NEEDS, snapshot)
    queue = snapshot.channels.get(config.queue_channel_id or 0)
    if queue is not None and queue.everyone_can_view:
        findings.append(
            Finding(
                Level.WARNING,
                f"Everyone can see #{queue.name}, the helper queue. Deny View Channel to @everyone there and "
                "allow it for the helper and moderator roles (and Porchlight), so only helpers see requests.",
            )
        )
    for purpose, role_id in (("helper", config.helper_role_id), ("mentor", config.mentor_role_id)):
        if role_id is None:
            findings.append(Finding(Level.MISSING, f"No {purpose} role is set. Run `/setup roles`."))
        elif role_id not in snapshot.roles:
            findings.append(Finding(Level.MISSING, f"The {purpose} role was deleted. Choose one with `/setup roles`."))
    if config.moderator_role_id is not None and config.moderator_role_id not in snapshot.roles:
        findings.append(Finding(Level.WARNING, "The moderator role was deleted. Choose one with `/setup roles`."))
    admin = bool(snapshot.bot_guild_permissions & ADMINISTRATOR)
    # Escalations mention the helper (and later the moderator) role in the queue channel. Discord only pings a role
    # that is mentionable, unless the bot has Mention Everyone, which Porchlight does not ask for.
    can_mention_any = admin or bool(snapshot.bot_guild_permissions & MENTION_EVERYONE)
    for purpose, role_id in (("helper", config.helper_role_id), ("moderator", config.moderator_role_id)):
        role = snapshot.roles.get(role_id or 0)
        if role is not None and not role.mentionable and not can_mention_any:
            findings.append(
                Finding(
                    Level.WARNING,
                    f"@{role.name} can't be mentioned, so requests nobody has taken will not notify the {purpose}s. "
                    f'Turn on "Allow anyone to @mention this role" for @{role.name} in Server Settings > Roles.',
                )
            )
    mentor = snapshot.roles.get(config.mentor_role_id or 0)
    if not admin and not snapshot.bot_guild_permissions & MANAGE_ROLES:
        findings.append(
            Finding(
                Level.OPTIONAL,
                f"Give {snapshot.bot_name} Manage Roles (server-wide) so approved mentors get the mentor role.",
            )
        )
    if mentor is not None and snapshot.bot_top_position <= mentor.position:
        findings.append(
            Finding(
                Level.WARNING,
                f"Move {snapshot.bot_name}'s role above @{mentor.name} in Server Settings > Roles, "
                "so it can give approved mentors that role.",
            )
        )
    if not admin and not snapshot.bot_guild_permissions & MANAGE_CHANNELS:
        findings.append(
            Finding(
                Level.OPTIONAL,
                f"Give {snapshot.bot_name} Manage Channels (server-wide) for Discord-voice calls with mentors.",
            )
        )
    checked = len(snapshot.channels) + len(snapshot.roles)
    return SetupReport(findings, checked=checked)


# --- who can use the moderator commands ------------------------------------------------------------------------------

# Commands (top-level names) the configured moderator role must be able to use: /block, /unblock, /help-queue,
# /pulse and /mentor (for /mentor no-shows). None carries default_member_permissions (decisions.md); only a server
# admin's override in Server Settings > Integrations can take one away from the role.
MODERATOR_COMMANDS = ("block", "unblock", "help-queue", "pulse", "mentor")


@dataclass(frozen=True, slots=True)
class CommandAccess:
    """One of Porchlight's commands as a server sees it: its default and the admins' overrides, keyed by role id
    (the server's id stands for @everyone) or member id; True allows, False denies."""

    name: str
    default_member_permissions: int | None
    overrides: Mapping[int, bool] = field(default_factory=dict)


def role_can_use(
    command: CommandAccess,
    *,
    role_id: int,
    guild_id: int,
    role_permissions: int,
    app_overrides: Mapping[int, bool],
) -> bool:
    """Whether a member holding just this role (and @everyone) can use the command, the way Discord resolves it:
    the command's own overrides (the role, then @everyone), then the overrides for all of the app's commands, then
    ``default_member_permissions`` against the role's permissions (Administrator passes)."""
    for table in (command.overrides, app_overrides):
        if role_id in table:
            return table[role_id]
        if guild_id in table:
            return table[guild_id]
    required = command.default_member_permissions
    if required is None or role_permissions & ADMINISTRATOR:
        return True
    return required != 0 and role_permissions & required == required


def command_access_findings(
    *,
    bot_name: str,
    guild_id: int,
    role_id: int,
    role_name: str,
    role_permissions: int,
    commands: list[CommandAccess],
    app_overrides: Mapping[int, bool],
) -> list[Finding]:
    """A finding, with the exact fix, for each moderator command the moderator role cannot use."""
    findings = []
    for command in commands:
        if command.name not in MODERATOR_COMMANDS:
            continue
        if not role_can_use(
            command, role_id=role_id, guild_id=guild_id, role_permissions=role_permissions, app_overrides=app_overrides
        ):
            findings.append(
                Finding(
                    Level.MISSING,
                    f"@{role_name} (the moderator role) can't use /{command.name}: a command permission hides it. "
                    f"In Server Settings > Integrations > {bot_name} > /{command.name}, choose Add Roles or Members, "
                    f"add @{role_name} and allow it.",
                )
            )
    return findings
