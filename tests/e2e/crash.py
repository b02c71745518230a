"""What the crash-point tests share: the real bot process on a twin (the ``world`` fixture), killing it with SIGKILL
right after Discord did a given request (``crash_after``), and waiting for the restarted process to finish what the
killed one left (``settle``). Used by ``test_crash_points.py`` (help requests) and ``test_crash_points_reach.py``
(check-in notices and reach-outs).

A boundary is "Discord did the work, the bot has not heard back": the twin's ``on_done`` hook kills the process after
the request's work and before its response is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from demo.community import DEFAULT_START, Community, build_world
from services.clock import ManualClock
from tests.bot_process import BotProcess
from twin.faults import Handled
from twin.server import Twin
from twin.testing import assert_no_violations

SETTLE_WITHIN = 20.0


@dataclass
class World:
    c: Community
    bot: BotProcess


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    twin = Twin()
    await twin.start()
    c = build_world(twin, ManualClock(DEFAULT_START), tmp_path / "porchlight.db")
    bot = BotProcess(twin, c.app, c.database_path)
    try:
        await bot.start()
        await c.configure()
        yield World(c, bot)
    finally:
        await bot.close()
        await twin.close()
    assert_no_violations(twin)


def kill_at(w: World, method: str, pattern: str, nth: int = 1) -> Awaitable[None]:
    """Arm the kill now: the bot is SIGKILLed right after Discord did the ``nth`` request matching ``method
    pattern``. Await the result to wait for it."""
    killed = asyncio.Event()
    seen = 0

    async def kill(handled: Handled) -> None:
        nonlocal seen
        seen += 1
        if seen == nth:
            await w.bot.kill()
            killed.set()

    async def wait() -> None:
        try:
            await asyncio.wait_for(killed.wait(), SETTLE_WITHIN)
        except TimeoutError:
            raise AssertionError(f"the bot never made {method} {pattern} (#{nth})") from None

    w.c.twin.faults.on_done(method, pattern, kill, times=nth)
    return wait()


async def crash_after(
    w: World, method: str, pattern: str, action: Callable[[], Awaitable[Any]], *, nth: int = 1
) -> Any:
    """Run ``action`` (a member's click or command), SIGKILL the bot right after Discord did the ``nth`` request
    matching ``method pattern``, then restart it. Returns the member's answer, or None when it never came."""
    killed = kill_at(w, method, pattern, nth)
    task = asyncio.ensure_future(action())
    await killed
    answer = None
    if task.done() and not task.cancelled() and task.exception() is None:
        answer = task.result()  # the answer itself was the boundary: the member got it
    else:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
    await w.bot.start()
    return answer


async def settle(check: Callable[[], bool], what: str, *, quiet: World | None = None) -> None:
    """Wait for the restarted bot to finish what the killed one left (it runs pending effects at start-up). With
    ``quiet``, also until that world's database holds no pending effect: ``check`` alone can hold before the new
    process has even resumed, and a duplicate it would post then comes after the settling."""
    if quiet is not None:
        world, inner = quiet, check

        def check() -> bool:
            return effects_pending(world) == 0 and inner()

    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_WITHIN
    while not check():
        assert loop.time() < deadline, f"the restarted bot did not finish: {what}"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # and nothing more comes after it
    assert check(), f"something changed after settling: {what}"


def effects_pending(w: World) -> int:
    """How many effects the database still holds as pending: 0 once the restarted bot finished what the killed one
    left (a settled check can hold before the new process has even resumed, so tests wait for this too)."""
    conn = sqlite3.connect(w.bot.database_path)
    try:
        return int(conn.execute("SELECT count(*) FROM effects WHERE status = 'pending'").fetchone()[0])
    finally:
        conn.close()
