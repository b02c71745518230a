"""Users and applications: a user's object, an application (its bot user, owner and privileged intents) and its
application commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
