"""Two real Porchlight processes (``python bot.py``), each holding one of two shards, on one database: each answers
the commands of its own servers, and only the one holding shard 0 syncs the slash commands.

Where the processes keep their data is the ``database_env`` fixture (environment settings); the SQLite file is the
default, and a PostgreSQL run adds its URL there.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bot_process import BotProcess
from tests.conftest import postgres_env, require_postgres
from tests.e2e.sharded import ShardedWorld, sharded_world
from tests.e2e.test_checkins import checkin

NUM_SHARDS = 2


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The database both processes share, as settings in their environment: a SQLite file, or a fresh PostgreSQL
    schema (required under CI=true)."""
    if request.param == "sqlite":
        yield {"PORCHLIGHT_DATABASE_PATH": str(tmp_path / "porchlight.db")}
        return
    require_postgres()
    async with postgres_env("procs") as env:
        yield env


def shard_process(
    world: ShardedWorld, shard_ids: tuple[int, ...], database_env: dict[str, str], folder: Path
) -> BotProcess:
    """``python bot.py`` holding ``shard_ids`` of ``world.num_shards``; ``async with`` it to run it."""
    c = world.communities[0]
    return BotProcess.on_shards(
        world.twin, c.app, c.database_path, shard_ids, world.num_shards, folder=folder, env=database_env
    )


def recorded_in(process: BotProcess) -> set[int]:
    """The servers whose check-ins this process recorded (from its log: ids only, never what members wrote)."""
    return {int(g) for g in re.findall(r"checkin recorded checkin_id=\d+ guild_id=(\d+)", process.log())}


def command_puts(world: ShardedWorld) -> int:
    return sum(1 for r in world.twin.requests if r.method == "PUT" and r.path.endswith("/commands"))


async def test_two_processes_each_answer_their_own_servers_and_only_shard_0s_syncs(
    tmp_path: Path, database_env: dict[str, str]
) -> None:
    async with sharded_world(tmp_path / "porchlight.db", num_shards=NUM_SHARDS) as world:
        async with shard_process(world, (1,), database_env, tmp_path) as second:
            assert command_puts(world) == 0  # started and connected without syncing
            assert "commands are synced by the process holding shard 0" in second.log()
            async with shard_process(world, (0,), database_env, tmp_path) as first:
                assert command_puts(world) == 1
                assert "commands synced scope=global" in first.log()
                for c in world.communities:
                    await c.configure()
                    answer = await checkin(c, c.alice, "Stuck", note="a note that stays out of logs")
                    assert answer.ephemeral and "Nobody else sees this check-in" in answer.text, answer.text
                assert recorded_in(first) == {c.guild.id for c in world.on_shard(0)}
                assert recorded_in(second) == {c.guild.id for c in world.on_shard(1)}
                assert len(world.on_shard(0)) == len(world.on_shard(1)) == 2
                assert command_puts(world) == 1
            for process in (first, second):
                assert "a note that stays out of logs" not in process.log()
                assert world.communities[0].app.token not in process.log()


async def test_one_process_holding_both_shards_is_started_once_both_identified_and_answers_everywhere(
    tmp_path: Path, database_env: dict[str, str]
) -> None:
    async with sharded_world(tmp_path / "porchlight.db", num_shards=NUM_SHARDS) as world:
        async with shard_process(world, (0, 1), database_env, tmp_path) as both:
            assert both.shards == 2
            sessions = world.twin.gateway.sessions_of(world.communities[0].app)
            assert sorted(s.shard_id for s in sessions) == [0, 1]
            for c in world.communities:
                await c.configure()
                await checkin(c, c.alice, "Stuck")
            assert recorded_in(both) == {c.guild.id for c in world.communities}
