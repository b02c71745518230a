"""The store: all of the twin's data in memory, its event listeners, lookups, creation, and Discord's permission and
visibility rules over it."""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from twin.state._apps import Application, User
from twin.state._constants import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    ATTACH_FILES,
    DM,
    EMBED_LINKS,
    GUILD_TEXT,
    MANAGE_THREADS,
    MENTION_EVERYONE,
    NONCE_WINDOW_SECONDS,
    PRIVATE_THREAD,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_TTS,
    VIEW_CHANNEL,
    P,
)
from twin.state._guilds import Channel, Guild, Member, Overwrite, Role, ThreadMember
from twin.state._messages import Interaction, Message
from twin.state._time import Snowflakes

log = logging.getLogger(__name__)


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
