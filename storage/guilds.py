"""Per-server configuration: the channels and roles Porchlight uses, and a JSON object of feature settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from storage.db import fetch_one, from_epoch, to_epoch
from storage.sql import Conn, Row


@dataclass(frozen=True, slots=True)
class GuildConfig:
    guild_id: int
    help_channel_id: int | None
    queue_channel_id: int | None
    roster_channel_id: int | None
    helper_role_id: int | None
    mentor_role_id: int | None
    moderator_role_id: int | None
    settings: Mapping[str, Any]  # read-only view of the JSON object
    created_at: datetime
    updated_at: datetime

    def setting(self, name: str, default: Any = None) -> Any:
        """A feature setting, or ``default`` when the server has not set it."""
        return self.settings.get(name, default)

    @property
    def channels_configured(self) -> bool:
        return None not in (self.help_channel_id, self.queue_channel_id, self.roster_channel_id)

    @property
    def roles_configured(self) -> bool:
        return self.helper_role_id is not None and self.mentor_role_id is not None


def _config(row: Row) -> GuildConfig:
    return GuildConfig(
        guild_id=row["guild_id"],
        help_channel_id=row["help_channel_id"],
        queue_channel_id=row["queue_channel_id"],
        roster_channel_id=row["roster_channel_id"],
        helper_role_id=row["helper_role_id"],
        mentor_role_id=row["mentor_role_id"],
        moderator_role_id=row["moderator_role_id"],
        settings=MappingProxyType(json.loads(row["settings"])),
        created_at=from_epoch(row["created_at"]),
        updated_at=from_epoch(row["updated_at"]),
    )


async def _one(conn: Conn, sql: str, params: tuple[object, ...]) -> GuildConfig:
    async with conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    if row is None:  # pragma: no cover - an upsert with RETURNING always returns its row
        raise RuntimeError("guild_config upsert returned no row")
    return _config(row)


async def get_config(conn: Conn, guild_id: int) -> GuildConfig | None:
    row = await fetch_one(conn, "SELECT * FROM guild_config WHERE guild_id = ?", (guild_id,))
    return None if row is None else _config(row)


async def set_channels(
    conn: Conn,
    *,
    guild_id: int,
    help_channel_id: int,
    queue_channel_id: int,
    roster_channel_id: int,
    now: datetime,
) -> GuildConfig:
    """Create or update the server's channels; roles and settings are left as they are."""
    at = to_epoch(now)
    return await _one(
        conn,
        """
        INSERT INTO guild_config
            (guild_id, help_channel_id, queue_channel_id, roster_channel_id, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (guild_id) DO UPDATE SET
            help_channel_id = excluded.help_channel_id,
            queue_channel_id = excluded.queue_channel_id,
            roster_channel_id = excluded.roster_channel_id,
            updated_at = excluded.updated_at
        RETURNING *
        """,
        (guild_id, help_channel_id, queue_channel_id, roster_channel_id, at, at),
    )


async def set_roles(
    conn: Conn,
    *,
    guild_id: int,
    helper_role_id: int,
    mentor_role_id: int,
    moderator_role_id: int | None = None,
    now: datetime,
) -> GuildConfig:
    """Create or update the server's roles. All three are replaced: no moderator role given means none."""
    at = to_epoch(now)
    return await _one(
        conn,
        """
        INSERT INTO guild_config
            (guild_id, helper_role_id, mentor_role_id, moderator_role_id, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (guild_id) DO UPDATE SET
            helper_role_id = excluded.helper_role_id,
            mentor_role_id = excluded.mentor_role_id,
            moderator_role_id = excluded.moderator_role_id,
            updated_at = excluded.updated_at
        RETURNING *
        """,
        (guild_id, helper_role_id, mentor_role_id, moderator_role_id, at, at),
    )


async def update_settings(conn: Conn, *, guild_id: int, changes: Mapping[str, object], now: datetime) -> GuildConfig:
    """Merge ``changes`` into the server's settings in one statement (JSON merge patch, RFC 7396).

    Keys not named are kept; a value of ``None`` removes the key, so the feature's default applies again;
    nested objects merge key by key.
    """
    patch = json.dumps(dict(changes))  # TypeError for values JSON cannot hold
    at = to_epoch(now)
    return await _one(
        conn,
        """
        INSERT INTO guild_config (guild_id, settings, created_at, updated_at)
        VALUES (?, json_patch('{}', ?), ?, ?)
        ON CONFLICT (guild_id) DO UPDATE SET
            settings = json_patch(guild_config.settings, ?),
            updated_at = excluded.updated_at
        RETURNING *
        """,
        (guild_id, patch, at, at, patch),
    )


async def delete_config(conn: Conn, guild_id: int) -> bool:
    """Forget a server's configuration (e.g. when the bot leaves it). True when there was one."""
    cur = await conn.execute("DELETE FROM guild_config WHERE guild_id = ?", (guild_id,))
    return cur.rowcount > 0


# -- the audit of setting changes ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettingChange:
    id: int
    guild_id: int
    name: str
    old_value: object  # None: the default applied
    new_value: object
    changed_by: int | None  # None once that admin deleted their data
    changed_at: datetime


def _change(row: Row) -> SettingChange:
    return SettingChange(
        id=row["id"],
        guild_id=row["guild_id"],
        name=row["name"],
        old_value=None if row["old_value"] is None else json.loads(row["old_value"]),
        new_value=None if row["new_value"] is None else json.loads(row["new_value"]),
        changed_by=row["changed_by"],
        changed_at=from_epoch(row["changed_at"]),
    )


async def record_setting_change(
    conn: Conn,
    *,
    guild_id: int,
    name: str,
    old_value: object,
    new_value: object,
    changed_by: int,
    now: datetime,
) -> SettingChange:
    async with conn.execute(
        """
        INSERT INTO settings_changes (guild_id, name, old_value, new_value, changed_by, changed_at)
        VALUES (?, ?, ?, ?, ?, ?) RETURNING *
        """,
        (
            guild_id,
            name,
            None if old_value is None else json.dumps(old_value),
            None if new_value is None else json.dumps(new_value),
            changed_by,
            to_epoch(now),
        ),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return _change(row)


async def recent_setting_changes(conn: Conn, guild_id: int, limit: int = 10) -> list[SettingChange]:
    async with conn.execute(
        "SELECT * FROM settings_changes WHERE guild_id = ? ORDER BY changed_at DESC, id DESC LIMIT ?",
        (guild_id, limit),
    ) as cur:
        return [_change(row) for row in await cur.fetchall()]


async def setting_changes_by(conn: Conn, guild_id: int, user_id: int) -> list[SettingChange]:
    """The changes this member made here (their /privacy export)."""
    async with conn.execute(
        "SELECT * FROM settings_changes WHERE changed_by = ? AND guild_id = ? ORDER BY changed_at, id",
        (user_id, guild_id),
    ) as cur:
        return [_change(row) for row in await cur.fetchall()]
