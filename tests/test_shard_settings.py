"""Shard settings: PORCHLIGHT_SHARD_COUNT / PORCHLIGHT_SHARD_IDS / PORCHLIGHT_SYNC_COMMANDS, validated with errors that
name the setting, and the bot class they start (unset: exactly the unsharded bot as before)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import discord
import pytest
from pydantic import ValidationError

from bot import PorchlightBot, ShardedPorchlightBot, create_bot
from settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def settings_from(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(f"PORCHLIGHT_{name.upper()}", value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("env", "share"),
    [
        ({}, 50),
        ({"discord_global_limit": "200"}, 200),
        ({"shard_count": "2"}, 50),  # one process holding both shards
        ({"shard_count": "2", "shard_ids": "1"}, 25),
        ({"shard_count": "4", "shard_ids": "0,2,3"}, 37),  # 37 + 12 for the other process: under 50
        ({"shard_count": "4", "shard_ids": "1"}, 12),
        ({"shard_count": "64", "shard_ids": "5"}, 2),  # never below 2 a second
    ],
)
def test_each_process_paces_itself_under_its_shards_share_of_the_bots_global_limit(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], share: int
) -> None:
    """Discord's global limit is per bot: processes holding every shard once never exceed it together."""
    assert settings_from(monkeypatch, **env).global_limit_share == share


@pytest.mark.parametrize(
    ("env", "worker"),
    [
        ({}, "bot"),
        ({"worker_name": "east"}, "east"),
        ({"shard_count": "4", "shard_ids": "3,1"}, "shards-1-3"),
        ({"shard_count": "2"}, "shards-0-1"),
        ({"shard_count": "2", "shard_ids": "1", "worker_name": "b"}, "b"),
    ],
)
def test_sharded_processes_on_the_default_worker_name_get_one_each(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], worker: str
) -> None:
    """A start frees the claims of its own name's previous run: two live processes must never share a name."""
    assert settings_from(monkeypatch, **env).worker == worker


@pytest.mark.parametrize(
    ("env", "sharded", "held", "syncs"),
    [
        ({}, False, (0,), True),
        ({"shard_count": "2"}, True, (0, 1), True),
        ({"shard_count": "2", "shard_ids": "1"}, True, (1,), False),
        ({"shard_count": "4", "shard_ids": "3, 0"}, True, (0, 3), True),
        ({"shard_count": "2", "shard_ids": "[1]"}, True, (1,), False),
        ({"shard_count": "2", "shard_ids": "1", "sync_commands": "true"}, True, (1,), True),
        ({"shard_count": "2", "shard_ids": "0", "sync_commands": "false"}, True, (0,), False),
        ({"sync_commands": "false"}, False, (0,), False),
    ],
)
def test_shard_settings_say_which_shards_this_process_holds_and_whether_it_syncs(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], sharded: bool, held: tuple[int, ...], syncs: bool
) -> None:
    settings = settings_from(monkeypatch, **env)
    assert (settings.sharded, settings.held_shards, settings.syncs_commands) == (sharded, held, syncs)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"shard_count": "2", "shard_ids": "2"}, "PORCHLIGHT_SHARD_IDS has 2, but with PORCHLIGHT_SHARD_COUNT=2"),
        ({"shard_count": "2", "shard_ids": "0,5,7"}, "has 5, 7, but with PORCHLIGHT_SHARD_COUNT=2 shards are numbered"),
        ({"shard_ids": "0"}, "PORCHLIGHT_SHARD_IDS needs PORCHLIGHT_SHARD_COUNT"),
        ({"shard_count": "2", "shard_ids": "zero"}, "whole numbers separated by commas, e.g. 0,1"),
        ({"shard_count": "2", "shard_ids": "-1"}, "whole numbers separated by commas"),
        ({"shard_count": "2", "shard_ids": "1,1"}, "names a shard twice"),
        ({"shard_count": "0"}, "greater than or equal to 1"),
    ],
)
def test_invalid_shard_settings_are_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        settings_from(monkeypatch, **env)
    assert says in str(refused.value)


def test_the_bot_exits_2_with_one_readable_line_for_invalid_shard_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORCHLIGHT_")}
    env.update(PORCHLIGHT_TOKEN="not-a-real-token", PORCHLIGHT_SHARD_COUNT="2", PORCHLIGHT_SHARD_IDS="1,2")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "pydantic" not in result.stderr
    assert "PORCHLIGHT_SHARD_IDS has 2, but with PORCHLIGHT_SHARD_COUNT=2 shards are numbered 0 to 1" in result.stderr
    assert "not-a-real-token" not in result.stderr


async def test_unsharded_settings_start_the_plain_bot_and_shard_settings_an_autosharded_one(tmp_path: Path) -> None:
    plain = await create_bot(Settings(_env_file=None, database_path=tmp_path / "p.db"))  # type: ignore[call-arg]
    try:
        assert type(plain) is PorchlightBot and not isinstance(plain, discord.AutoShardedClient)
        assert plain.shard_count is None and plain.shard_id is None
        assert plain.pacer.interval == 1 / (50 - 3)  # the whole global limit, less the burst
    finally:
        await plain.close()
    settings = Settings(_env_file=None, database_path=tmp_path / "p.db", shard_count=4, shard_ids=(3, 1))  # type: ignore[call-arg]
    sharded = await create_bot(settings)
    try:
        assert isinstance(sharded, ShardedPorchlightBot) and isinstance(sharded, discord.AutoShardedClient)
        assert sharded.shard_count == 4 and sharded.shard_ids == [1, 3]
        assert sharded.settings.syncs_commands is False
        assert sharded.pacer.interval == 1 / (25 - 3)  # two of four shards: half the bot's global limit
    finally:  # never started: discord.py's AutoShardedClient.close() needs a started client, so close what we opened
        await sharded.db.close()
