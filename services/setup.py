"""Per-server configuration: which channels and roles Porchlight uses."""

from __future__ import annotations

from dataclasses import dataclass

from services.clock import Clock
from services.errors import InvalidSetup
from storage import guilds
from storage.db import Database
from storage.guilds import GuildConfig


@dataclass(frozen=True, slots=True)
class RoleChoice:
    """What the service needs to know about a role picked in /setup roles."""

    id: int
    is_default: bool  # @everyone
    managed: bool  # a bot's or integration's own role: nobody can be given it


class SetupService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def config(self, guild_id: int) -> GuildConfig | None:
        return await guilds.get_config(self._db.conn, guild_id)

    async def set_channels(
        self, guild_id: int, *, help_channel_id: int, queue_channel_id: int, roster_channel_id: int
    ) -> GuildConfig:
        if queue_channel_id in (help_channel_id, roster_channel_id):
            raise InvalidSetup(
                "The helper queue must be its own channel that only helpers and moderators can see: members "
                "need to see the help channel and the roster, and the queue lists every open request. "
                "Pick a separate, helpers-only channel for `queue`."
            )
        async with self._db.transaction() as conn:
            return await guilds.set_channels(
                conn,
                guild_id=guild_id,
                help_channel_id=help_channel_id,
                queue_channel_id=queue_channel_id,
                roster_channel_id=roster_channel_id,
                now=self._clock.now(),
            )

    async def set_roles(
        self, guild_id: int, *, helper: RoleChoice, mentor: RoleChoice, moderator: RoleChoice | None
    ) -> GuildConfig:
        for label, role in (("helper", helper), ("mentor", mentor), ("moderator", moderator)):
            if role is None:
                continue
            if role.is_default:
                raise InvalidSetup(
                    f"@everyone can't be the {label} role: it would let every member see private requests. "
                    f"Create a role such as `{label.capitalize()}s` and pick that."
                )
            if role.managed:
                raise InvalidSetup(
                    f"That role belongs to a bot or integration, so nobody can be given it. "
                    f"Pick an ordinary role for `{label}`."
                )
        if helper.id == mentor.id:
            raise InvalidSetup(
                "Helpers and mentors do different things (helpers answer private requests, mentors offer calls "
                "and appear on the roster). Pick two different roles."
            )
        async with self._db.transaction() as conn:
            return await guilds.set_roles(
                conn,
                guild_id=guild_id,
                helper_role_id=helper.id,
                mentor_role_id=mentor.id,
                moderator_role_id=moderator.id if moderator else None,
                now=self._clock.now(),
            )
