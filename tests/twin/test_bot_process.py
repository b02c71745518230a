"""The real bot as a process against the twin: start, SIGKILL, restart on the same database, SIGTERM."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from demo.community import Community, build_world
from services.clock import ManualClock
from tests.bot_process import BotProcess, BotProcessExited
from twin.testing import running_twin


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Community]:
    async with running_twin() as twin:
        yield build_world(twin, ManualClock(datetime.now(UTC)), tmp_path / "porchlight.db")


async def test_a_killed_bot_restarts_on_the_same_database_and_answers_commands(world: Community) -> None:
    c = world
    async with BotProcess(c.twin, c.app, c.database_path) as bot:
        await c.configure()
        await c.alice.slash("checkin", channel=c.general, status="stuck", note="before the crash")
        assert await bot.kill() == -9
        assert not bot.running
        await bot.restart()
        history = await c.alice.slash("checkin-history", channel=c.general)
        assert "before the crash" in history.text
        assert bot.starts == 2
    assert not bot.running
    assert len(c.twin.gateway.sessions_of(c.app)) == 2  # each start identified anew with the same token


async def test_a_kill_between_discords_work_and_the_response_leaves_the_work_done(world: Community) -> None:
    c = world
    async with BotProcess(c.twin, c.app, c.database_path) as bot:
        await c.configure()
        killed = asyncio.Event()

        async def crash(_: object) -> None:
            await bot.kill()
            killed.set()

        # /checkin stores, then answers in one response: kill the bot once Discord has that answer.
        c.twin.faults.on_done("POST", "/interactions/*/callback", crash)
        answer = await c.alice.slash("checkin", channel=c.general, status="stuck", note="answered, then killed")
        assert answer.ephemeral  # Discord showed alice the answer; the bot never got Discord's response
        await asyncio.wait_for(killed.wait(), 5)
        assert bot.returncode == -9
        await bot.restart()
        assert "answered, then killed" in (await c.alice.slash("checkin-history", channel=c.general)).text


async def test_terminate_drains_and_exits_cleanly(world: Community) -> None:
    c = world
    async with BotProcess(c.twin, c.app, c.database_path) as bot:
        assert await bot.terminate() == 0
    assert "shut down cleanly" in bot.log()
    assert c.app.token not in bot.log()


async def test_a_bot_that_cannot_log_in_fails_start_with_its_log(world: Community, tmp_path: Path) -> None:
    c = world
    stranger = c.twin.create_application("Stranger")
    c.twin.state.apps.pop(stranger.id)  # the token is no longer known: GET /users/@me answers 401
    bot = BotProcess(c.twin, stranger, tmp_path / "other.db", start_within=20)
    with pytest.raises(BotProcessExited) as caught:
        await bot.start()
    await bot.close()
    assert bot.returncode not in (None, 0)
    assert "--- start 1" in str(caught.value)


async def test_extra_environment_reaches_the_process(world: Community) -> None:
    c = world
    async with BotProcess(c.twin, c.app, c.database_path, env={"PORCHLIGHT_LOG_LEVEL": "DEBUG"}) as bot:
        assert bot.environment()["PORCHLIGHT_LOG_LEVEL"] == "DEBUG"
        await bot.terminate()
    assert "DEBUG" in bot.log()
