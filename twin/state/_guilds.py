"""A guild and what it holds: roles, members, channels and threads (with their permission overwrites and thread
members)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from twin.state._apps import User
from twin.state._constants import DM, GUILD_TEXT, GUILD_VOICE, THREAD_TYPES
from twin.state._time import iso, now


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
