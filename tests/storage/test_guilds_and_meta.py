from __future__ import annotations

from datetime import timedelta

import pytest

from services.clock import ManualClock
from storage import guilds, meta
from storage.db import Database


async def test_unknown_guild_has_no_config(db: Database) -> None:
    assert await guilds.get_config(db.conn, 1) is None


async def test_channels_and_roles_round_trip_and_keep_each_other(db: Database, clock: ManualClock) -> None:
    created = await guilds.set_channels(
        db.conn, guild_id=10, help_channel_id=11, queue_channel_id=12, roster_channel_id=13, now=clock.now()
    )
    assert created.created_at == created.updated_at == clock.now()
    assert created.helper_role_id is None and dict(created.settings) == {}
    later = clock.advance(minutes=5)
    with_roles = await guilds.set_roles(db.conn, guild_id=10, helper_role_id=21, mentor_role_id=22, now=later)
    assert with_roles.moderator_role_id is None
    loaded = await guilds.get_config(db.conn, 10)
    assert loaded == with_roles
    assert (loaded.help_channel_id, loaded.queue_channel_id, loaded.roster_channel_id) == (11, 12, 13)
    assert (loaded.helper_role_id, loaded.mentor_role_id) == (21, 22)
    assert loaded.created_at == created.created_at and loaded.updated_at == later
    assert loaded.channels_configured and loaded.roles_configured


async def test_set_roles_without_moderator_clears_a_previous_moderator_role(db: Database, clock: ManualClock) -> None:
    await guilds.set_roles(
        db.conn, guild_id=10, helper_role_id=21, mentor_role_id=22, moderator_role_id=23, now=clock.now()
    )
    again = await guilds.set_roles(db.conn, guild_id=10, helper_role_id=21, mentor_role_id=22, now=clock.now())
    assert again.moderator_role_id is None
    assert not again.channels_configured


async def test_settings_merge_keeps_other_keys_and_none_removes_a_key(db: Database, clock: ManualClock) -> None:
    first = await guilds.update_settings(
        db.conn, guild_id=10, changes={"followup_days": 3, "max_open_requests": 2}, now=clock.now()
    )
    assert first.setting("followup_days") == 3
    merged = await guilds.update_settings(
        db.conn, guild_id=10, changes={"followup_days": 5, "max_open_requests": None}, now=clock.now()
    )
    assert dict(merged.settings) == {"followup_days": 5}
    assert merged.setting("max_open_requests", 1) == 1
    with pytest.raises(TypeError):
        merged.settings["followup_days"] = 9  # type: ignore[index]
    channels = await guilds.set_channels(
        db.conn, guild_id=10, help_channel_id=1, queue_channel_id=2, roster_channel_id=3, now=clock.now()
    )
    assert dict(channels.settings) == {"followup_days": 5}


async def test_settings_refuse_values_json_cannot_hold(db: Database, clock: ManualClock) -> None:
    with pytest.raises(TypeError):
        await guilds.update_settings(db.conn, guild_id=10, changes={"when": timedelta(days=1)}, now=clock.now())
    assert await guilds.get_config(db.conn, 10) is None


async def test_delete_config_forgets_the_guild(db: Database, clock: ManualClock) -> None:
    await guilds.update_settings(db.conn, guild_id=10, changes={"a": 1}, now=clock.now())
    assert await guilds.delete_config(db.conn, 10) is True
    assert await guilds.get_config(db.conn, 10) is None
    assert await guilds.delete_config(db.conn, 10) is False


async def test_meta_values_are_stored_and_overwritten(db: Database) -> None:
    assert await meta.get_meta(db.conn, "commands_hash") is None
    await meta.set_meta(db.conn, "commands_hash", "abc")
    await meta.set_meta(db.conn, "commands_hash", "def")
    assert await meta.get_meta(db.conn, "commands_hash") == "def"
    assert await meta.delete_meta(db.conn, "commands_hash") is True
    assert await meta.get_meta(db.conn, "commands_hash") is None
