"""The twin's model of Discord: users, guilds, roles, channels, threads, messages and interactions.

Everything lives in memory. Serialisers (``*_payload``) return the full Discord objects that discord.py parses.
Permission computation follows Discord's documented algorithm; visibility rules follow what a person sees in the
client (private threads, ephemerals, DMs).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
import discord.utils

log = logging.getLogger(__name__)

P = discord.Permissions
ALL_PERMISSIONS = P.all().value
ADMINISTRATOR = P(administrator=True).value
VIEW_CHANNEL = P(view_channel=True).value
SEND_MESSAGES = P(send_messages=True).value
SEND_MESSAGES_IN_THREADS = P(send_messages_in_threads=True).value
EMBED_LINKS = P(embed_links=True).value
ATTACH_FILES = P(attach_files=True).value
MENTION_EVERYONE = P(mention_everyone=True).value
SEND_TTS = P(send_tts_messages=True).value
MANAGE_THREADS = P(manage_threads=True).value
MANAGE_MESSAGES = P(manage_messages=True).value
MANAGE_CHANNELS = P(manage_channels=True).value
MANAGE_ROLES = P(manage_roles=True).value
READ_MESSAGE_HISTORY = P(read_message_history=True).value
CREATE_PUBLIC_THREADS = P(create_public_threads=True).value
CREATE_PRIVATE_THREADS = P(create_private_threads=True).value

GUILD_TEXT, DM, GUILD_VOICE, GUILD_CATEGORY = 0, 1, 2, 4
PUBLIC_THREAD, PRIVATE_THREAD = 11, 12
THREAD_TYPES = (PUBLIC_THREAD, PRIVATE_THREAD)

EPHEMERAL = 1 << 6
LOADING = 1 << 7

INTERACTION_TTL_SECONDS = 15 * 60
RESPONSE_WINDOW_SECONDS = 3.0
# Discord: with ``enforce_nonce`` a nonce is unique per author "in the past few minutes"; the twin says five.
NONCE_WINDOW_SECONDS = 5 * 60


def now() -> datetime:
    """The current aware UTC time."""
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """Discord's ISO-8601 timestamp format."""
    return moment.isoformat() if moment is not None else None


class Snowflakes:
    """Real, time-based, strictly increasing snowflakes."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        self._last = max(discord.utils.time_snowflake(now()), self._last + 1)
        return self._last

    def next_on_shard(self, shard_id: int, num_shards: int) -> int:
        """The next snowflake whose ``(id >> 22) % num_shards`` is ``shard_id`` (a guild id routed to that shard)."""
        candidate = self.next()
        while (candidate >> 22) % num_shards != shard_id:
            candidate += 1 << 22  # one millisecond later
        self._last = candidate
        return candidate


@dataclass(eq=False)
class User:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass(eq=False)
class Command:
    id: int
    application_id: int
    data: dict[str, Any]
    guild_id: int | None = None
    version: int = 1

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def type(self) -> int:
        return int(self.data.get("type", 1))

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            "integration_types": [0],
            "contexts": None,
            **self.data,
            "id": str(self.id),
            "application_id": str(self.application_id),
            "version": str(self.version),
            "type": self.type,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data


@dataclass(eq=False)
class Application:
    id: int
    name: str
    token: str
    bot: User
    owner: User
    commands: dict[int, Command] = field(default_factory=dict)
    privileged_intents: int = 0  # gateway intents enabled in the developer portal (members 1<<1, presences 1<<8,
    # message content 1<<15)

    @property
    def flags(self) -> int:
        """Application flags for the enabled privileged intents (the "limited" variants of unverified apps)."""
        flags = 0
        for intent, flag in ((1 << 1, 1 << 15), (1 << 8, 1 << 13), (1 << 15, 1 << 19)):
            if self.privileged_intents & intent:
                flags |= flag
        return flags

    def command_list(self, guild_id: int | None) -> list[Command]:
        return [c for c in self.commands.values() if c.guild_id == guild_id]

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self.owner.payload(),
            "team": None,
            "flags": self.flags,
            "bot": self.bot.payload(),
            "rpc_origins": [],
        }


@dataclass(eq=False)
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    mentionable: bool = False
    bot_id: int | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass(eq=False)
class Member:
    guild_id: int
    user: User
    roles: list[int] = field(default_factory=list)
    joined_at: datetime = field(default_factory=now)
    nick: str | None = None
    dms_open: bool = True  # the member's "allow direct messages from server members" for this guild

    @property
    def id(self) -> int:
        return self.user.id

    def payload(self) -> dict[str, Any]:
        return {
            "user": self.user.payload(),
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.roles],
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class ThreadMember:
    user_id: int
    joined_at: datetime = field(default_factory=now)

    def payload(self, thread_id: int) -> dict[str, Any]:
        return {
            "id": str(thread_id),
            "user_id": str(self.user_id),
            "join_timestamp": iso(self.joined_at),
            "flags": 0,
        }


@dataclass(eq=False)
class Channel:
    id: int
    type: int
    name: str = ""
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 4320
    archive_timestamp: datetime = field(default_factory=now)
    recipients: list[User] = field(default_factory=list)
    members: dict[int, ThreadMember] = field(default_factory=dict)
    message_count: int = 0
    total_message_sent: int = 0
    last_message_id: int | None = None
    created_at: datetime = field(default_factory=now)

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def payload(self) -> dict[str, Any]:
        """The full channel object for this channel's type."""
        base: dict[str, Any] = {"id": str(self.id), "type": self.type, "flags": 0}
        last = str(self.last_message_id) if self.last_message_id else None
        if self.type == DM:
            return {**base, "last_message_id": last, "recipients": [u.payload() for u in self.recipients]}
        base.update(guild_id=str(self.guild_id), name=self.name)
        if self.is_thread:
            return {
                **base,
                "parent_id": str(self.parent_id),
                "owner_id": str(self.owner_id),
                "last_message_id": last,
                "rate_limit_per_user": 0,
                "message_count": self.message_count,
                "member_count": min(len(self.members), 50),
                "total_message_sent": self.total_message_sent,
                "thread_metadata": {
                    "archived": self.archived,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": iso(self.archive_timestamp),
                    "locked": self.locked,
                    "invitable": self.invitable,
                    "create_timestamp": iso(self.created_at),
                },
                "applied_tags": [],
            }
        base.update(
            position=self.position,
            permission_overwrites=[o.payload() for o in self.overwrites],
            parent_id=str(self.parent_id) if self.parent_id else None,
            nsfw=False,
        )
        if self.type == GUILD_TEXT:
            base.update(topic=self.topic, last_message_id=last, rate_limit_per_user=0)
        elif self.type == GUILD_VOICE:
            base.update(bitrate=64000, user_limit=0, rtc_region=None, last_message_id=last, rate_limit_per_user=0)
        return base


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None

    def payload(self, base_url: str) -> dict[str, Any]:
        url = f"{base_url}/attachments/{self.id}/{self.filename}"
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": url,
            "proxy_url": url,
            "content_type": self.content_type,
        }
        if self.description is not None:
            data["description"] = self.description
        return data


@dataclass(eq=False)
class Message:
    id: int
    channel_id: int
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    guild_id: int | None = None
    mentions: list[User] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    ephemeral_for: int | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_id: int | None = None
    created_at: datetime = field(default_factory=now)
    edited_at: datetime | None = None
    pinned: bool = False
    tts: bool = False
    deleted: bool = False
    member: Member | None = None
    interaction_meta: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    nonce: int | str | None = None  # echoed only in the create response and MESSAGE_CREATE, as Discord does
    # Not part of Discord's message object: the ``allowed_mentions`` of each request that set content (the create,
    # then every edit), so tests can check that a sender never leaves mentions to Discord's default (parse all).
    allowed_mentions_sent: list[dict[str, Any] | None] = field(default_factory=list)

    def payload(self, base_url: str = "") -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": iso(self.created_at),
            "edited_timestamp": iso(self.edited_at),
            "tts": self.tts,
            "mention_everyone": self.mention_everyone,
            "mentions": [u.payload() for u in self.mentions],
            "mention_roles": [str(r) for r in self.mention_roles],
            "attachments": [a.payload(base_url) for a in self.attachments],
            "embeds": self.embeds,
            "pinned": self.pinned,
            "type": self.type,
            "flags": self.flags,
            "components": self.components,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
            if self.member is not None:
                member = self.member.payload()
                member.pop("user")
                data["member"] = member
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.interaction_meta is not None:
            data["interaction_metadata"] = self.interaction_meta
        if self.message_reference is not None:
            data["message_reference"] = self.message_reference
        return data


@dataclass(eq=False)
class Interaction:
    """One interaction sent to an application, and what the application answered."""

    id: int
    token: str
    application_id: int
    type: int
    user_id: int
    channel_id: int
    guild_id: int | None
    payload: dict[str, Any]
    source_message_id: int | None = None
    created_at: datetime = field(default_factory=now)
    response_type: int | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    responded: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    activity: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def name(self) -> str:
        data = self.payload.get("data", {})
        return str(data.get("name") or data.get("custom_id") or self.type)

    def age(self) -> float:
        return (now() - self.created_at).total_seconds()


@dataclass(eq=False)
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    system_channel_id: int | None = None  # where Discord posts join messages; a bot may post there too

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def text_channels(self) -> list[Channel]:
        return [c for c in self.channels.values() if not c.is_thread]

    def threads(self) -> list[Channel]:
        return [c for c in self.channels.values() if c.is_thread]

    def payload(self) -> dict[str, Any]:
        """The guild object (REST shape, without channels and members)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(self.system_channel_id) if self.system_channel_id else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None,
        }


Listener = Callable[[str, dict[str, Any], "Scope"], None]


@dataclass(frozen=True)
class Scope:
    """Who may receive a gateway event: the twin's gateway filters sessions with it."""

    intent: int = 0
    guild_id: int | None = None
    channel_id: int | None = None
    application_id: int | None = None
    user_ids: tuple[int, ...] = ()


class State:
    """All of the twin's data, with Discord's permission and visibility rules."""

    def __init__(self) -> None:
        self.ids = Snowflakes()
        self.users: dict[int, User] = {}
        self.apps: dict[int, Application] = {}
        self.guilds: dict[int, Guild] = {}
        self.dms: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.interactions: dict[int, Interaction] = {}
        self.listeners: list[Listener] = []
        self.role_mention_adds: list[tuple[int, int, int]] = []
        self.command_overrides: dict[tuple[int, int], dict[int, bool]] = {}
        self._positions = itertools.count(1)
        self.clock: Callable[[], float] = time.monotonic  # seconds; only windows (nonces) read it
        # (author id, nonce as text) -> (message id, clock time it was created)
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}

    # ------------------------------------------------------------------ events

    def emit(self, event: str, data: dict[str, Any], scope: Scope) -> None:
        for listener in list(self.listeners):
            listener(event, data, scope)

    # ------------------------------------------------------------------ lookup

    def channel(self, channel_id: int) -> Channel | None:
        if channel_id in self.dms:
            return self.dms[channel_id]
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        return None

    def all_channels(self) -> Iterator[Channel]:
        yield from self.dms.values()
        for guild in self.guilds.values():
            yield from guild.channels.values()

    def app_by_token(self, token: str) -> Application | None:
        return next((a for a in self.apps.values() if a.token == token), None)

    def member(self, guild_id: int | None, user_id: int) -> Member | None:
        guild = self.guilds.get(guild_id or 0)
        return guild.members.get(user_id) if guild else None

    def channel_messages(self, channel_id: int) -> list[Message]:
        return sorted(
            (m for m in self.messages.values() if m.channel_id == channel_id and not m.deleted),
            key=lambda m: m.id,
        )

    # ------------------------------------------------------------------ permissions

    def base_permissions(self, guild: Guild, member: Member) -> int:
        """Guild-level permissions: @everyone | member roles; owner and administrators get everything."""
        if member.id == guild.owner_id:
            return ALL_PERMISSIONS
        perms = guild.everyone.permissions
        for role_id in member.roles:
            role = guild.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        return perms

    def permissions(self, user_id: int, channel: Channel) -> int:
        """Discord's permission algorithm for a user in a channel (threads use their parent's overwrites)."""
        if channel.type == DM:
            if any(u.id == user_id for u in channel.recipients):
                return VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY
            return 0
        guild = self.guilds[channel.guild_id or 0]
        member = guild.members.get(user_id)
        if member is None:
            return 0
        base = self.base_permissions(guild, member)
        if base == ALL_PERMISSIONS:
            return ALL_PERMISSIONS
        target = guild.channels.get(channel.parent_id or 0) if channel.is_thread else channel
        perms = base
        if target is not None:
            perms = _apply_overwrites(perms, target.overwrites, guild.id, member)
        if not perms & VIEW_CHANNEL:
            return 0
        if not perms & SEND_MESSAGES and not channel.is_thread:
            perms &= ~(SEND_TTS | MENTION_EVERYONE | EMBED_LINKS | ATTACH_FILES)
        return perms

    def guild_permissions(self, guild: Guild, user_id: int) -> int:
        member = guild.members.get(user_id)
        return self.base_permissions(guild, member) if member else 0

    def top_role_position(self, guild: Guild, user_id: int) -> int:
        member = guild.members.get(user_id)
        if member is None:
            return -1
        return max((guild.roles[r].position for r in member.roles if r in guild.roles), default=0)

    # ------------------------------------------------------------------ visibility

    def can_view(self, user_id: int, channel: Channel) -> bool:
        """Whether a user sees a channel in their client."""
        if channel.type == DM:
            return any(u.id == user_id for u in channel.recipients)
        if not self.permissions(user_id, channel) & VIEW_CHANNEL:
            return False
        if channel.type == PRIVATE_THREAD:
            return user_id in channel.members or bool(self.permissions(user_id, channel) & MANAGE_THREADS)
        return True

    def can_see_message(self, user_id: int, message: Message) -> bool:
        if message.deleted:
            return False
        if message.ephemeral_for is not None:
            return message.ephemeral_for == user_id
        channel = self.channel(message.channel_id)
        return channel is not None and self.can_view(user_id, channel)

    # ------------------------------------------------------------------ creation

    def create_user(self, username: str, *, bot: bool = False) -> User:
        user = User(id=self.ids.next(), username=username, bot=bot)
        self.users[user.id] = user
        return user

    def create_application(self, name: str, token: str | None = None) -> Application:
        owner = self.create_user(f"{name.lower()}-owner")
        bot = self.create_user(name, bot=True)
        app = Application(id=bot.id, name=name, token=token or secrets.token_urlsafe(24), bot=bot, owner=owner)
        self.apps[app.id] = app
        return app

    def create_guild(self, name: str, owner: User, shard: tuple[int, int] | None = None) -> Guild:
        guild_id = self.ids.next_on_shard(*shard) if shard is not None else self.ids.next()
        guild = Guild(id=guild_id, name=name, owner_id=owner.id)
        guild.roles[guild.id] = Role(
            id=guild.id, guild_id=guild.id, name="@everyone", permissions=_DEFAULT_EVERYONE, position=0
        )
        guild.members[owner.id] = Member(guild_id=guild.id, user=owner)
        self.guilds[guild.id] = guild
        return guild

    def create_role(self, guild: Guild, name: str, permissions: int = 0, *, position: int | None = None) -> Role:
        if position is None:
            position = max((r.position for r in guild.roles.values()), default=0) + 1
        role = Role(id=self.ids.next(), guild_id=guild.id, name=name, permissions=permissions, position=position)
        guild.roles[role.id] = role
        return role

    def create_channel(
        self,
        guild: Guild,
        name: str,
        type: int = GUILD_TEXT,
        *,
        parent_id: int | None = None,
        overwrites: list[Overwrite] | None = None,
        topic: str | None = None,
    ) -> Channel:
        channel = Channel(
            id=self.ids.next(),
            type=type,
            name=name,
            guild_id=guild.id,
            position=next(self._positions),
            parent_id=parent_id,
            overwrites=list(overwrites or []),
            topic=topic,
        )
        guild.channels[channel.id] = channel
        return channel

    def create_thread(
        self,
        parent: Channel,
        name: str,
        *,
        type: int,
        owner_id: int,
        invitable: bool = True,
        auto_archive_duration: int = 4320,
        thread_id: int | None = None,
    ) -> Channel:
        guild = self.guilds[parent.guild_id or 0]
        thread = Channel(
            id=thread_id or self.ids.next(),
            type=type,
            name=name,
            guild_id=guild.id,
            parent_id=parent.id,
            owner_id=owner_id,
            invitable=invitable if type == PRIVATE_THREAD else True,
            auto_archive_duration=auto_archive_duration,
        )
        thread.members[owner_id] = ThreadMember(owner_id)
        guild.channels[thread.id] = thread
        return thread

    def dm_channel(self, a: User, b: User) -> Channel:
        """The DM channel between two users, created on first use."""
        for channel in self.dms.values():
            ids = {u.id for u in channel.recipients}
            if ids == {a.id, b.id}:
                return channel
        channel = Channel(id=self.ids.next(), type=DM, recipients=[a, b])
        self.dms[channel.id] = channel
        return channel

    def can_dm(self, bot: User, user: User) -> bool:
        """A bot may DM a user who shares a guild with it whose privacy setting allows DMs from members."""
        for guild in self.guilds.values():
            member = guild.members.get(user.id)
            if member is not None and bot.id in guild.members and member.dms_open:
                return True
        return False

    def dm_between(self, a: int, b: int) -> Channel | None:
        return next((c for c in self.dms.values() if {u.id for u in c.recipients} == {a, b}), None)

    def message_for_nonce(self, author_id: int, nonce: int | str) -> Message | None:
        """The author's message created with ``nonce`` within ``NONCE_WINDOW_SECONDS``, deleted or not."""
        key = (author_id, str(nonce))
        found = self._nonces.get(key)
        if found is None:
            return None
        message_id, created = found
        if self.clock() - created > NONCE_WINDOW_SECONDS:
            del self._nonces[key]
            return None
        return self.messages.get(message_id)

    def add_message(self, message: Message) -> Message:
        self.messages[message.id] = message
        if message.nonce is not None:
            self._nonces[(message.author.id, str(message.nonce))] = (message.id, self.clock())
        channel = self.channel(message.channel_id)
        if channel is not None and message.ephemeral_for is None:
            channel.last_message_id = message.id
            if channel.is_thread:
                channel.message_count += 1
                channel.total_message_sent += 1
        return message


_DEFAULT_EVERYONE = P(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    create_private_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
    use_application_commands=True,
    connect=True,
    speak=True,
    change_nickname=True,
    create_instant_invite=True,
).value


def _apply_overwrites(perms: int, overwrites: list[Overwrite], guild_id: int, member: Member) -> int:
    everyone = next((o for o in overwrites if o.id == guild_id), None)
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for ow in overwrites:
        if ow.type == 0 and ow.id in member.roles:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    own = next((o for o in overwrites if o.type == 1 and o.id == member.id), None)
    if own is not None:
        perms = (perms & ~own.deny) | own.allow
    return perms
