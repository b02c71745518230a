"""Per-server configuration: which channels and roles Porchlight uses, and the feature settings an admin tunes
(``services.settings_catalog``), every change audited."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from services import settings_catalog as catalog
from services.clock import Clock
from services.errors import InvalidSetup
from services.settings_catalog import Setting, Value
from storage import guilds
from storage.db import Database
from storage.guilds import GuildConfig, SettingChange

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RoleChoice:
    """What the service needs to know about a role picked in /setup roles."""

    id: int
    is_default: bool  # @everyone
    managed: bool  # a bot's or integration's own role: nobody can be given it


@dataclass(frozen=True, slots=True)
class SettingUpdate:
    """What ``/setup set`` or ``/setup reset`` did (or, unconfirmed, would do)."""

    setting: Setting
    before: Value  # the value in effect before
    after: Value  # the value in effect now
    changed: bool  # False: it already was that value (nothing written, nothing audited)
    needs_confirmation: bool = False  # a privacy-weakening change not yet confirmed: nothing written

    @property
    def weakens_privacy(self) -> bool:
        return (
            self.changed
            and self.setting.weakens_privacy_when is not None
            and (self.after == self.setting.weakens_privacy_when)
        )


@dataclass(frozen=True, slots=True)
class SettingsOverview:
    config: GuildConfig | None
    changes: list[SettingChange]  # newest first

    def value(self, setting: Setting) -> Value:
        return catalog.current(self.config, setting.name)

    def is_set(self, setting: Setting) -> bool:
        return catalog.is_set(self.config, setting.name)


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

    # -- feature settings ----------------------------------------------------------------------------------------

    async def settings(self, guild_id: int, *, changes: int = 8) -> SettingsOverview:
        conn = self._db.conn
        return SettingsOverview(
            await guilds.get_config(conn, guild_id), await guilds.recent_setting_changes(conn, guild_id, changes)
        )

    async def set_setting(
        self, guild_id: int, name: str, text: str, *, by: int, confirmed: bool = False
    ) -> SettingUpdate:
        """Validate ``text`` for setting ``name`` and store it, audited. A change that weakens privacy is only
        stored when ``confirmed``; otherwise the answer asks for confirmation and nothing changes."""
        setting = catalog.get(name)
        value = catalog.parse(setting, text)
        return await self._write(guild_id, setting, value, by=by, confirmed=confirmed)

    async def reset_setting(self, guild_id: int, name: str, *, by: int, confirmed: bool = False) -> SettingUpdate:
        """Back to the default (the key is removed, so a future change of default applies)."""
        return await self._write(guild_id, catalog.get(name), None, by=by, confirmed=confirmed)

    async def _write(
        self, guild_id: int, setting: Setting, value: Value | None, *, by: int, confirmed: bool
    ) -> SettingUpdate:
        async with self._db.transaction() as conn:
            config = await guilds.get_config(conn, guild_id)
            before = catalog.current(config, setting.name)
            was_set = catalog.is_set(config, setting.name)
            after = setting.default if value is None else value
            update = SettingUpdate(setting, before, after, changed=before != after)
            if not update.changed:
                return update
            if update.weakens_privacy and not confirmed:
                return SettingUpdate(setting, before, after, changed=True, needs_confirmation=True)
            now = self._clock.now()
            await guilds.update_settings(conn, guild_id=guild_id, changes={setting.name: value}, now=now)
            await guilds.record_setting_change(
                conn,
                guild_id=guild_id,
                name=setting.name,
                old_value=before if was_set else None,
                new_value=value,
                changed_by=by,
                now=now,
            )
        log.info("setting changed guild=%d name=%s by=%d", guild_id, setting.name, by)
        return update
