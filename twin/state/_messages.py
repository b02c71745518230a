"""Messages (with their attachments) and interactions, and what an application answered to each interaction."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from twin.state._apps import User
from twin.state._guilds import Member
from twin.state._time import iso, now


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
