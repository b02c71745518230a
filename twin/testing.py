"""Fixtures for tests that drive a real discord.py bot against the twin.

``running_twin()`` starts a twin and, on exit, fails if any request was a violation (an unmodelled route, a body
Discord's spec rejects, a late interaction answer). ``running_bot(twin, bot, token)`` starts ``bot.start(token)``
as a task against the twin and returns once ``on_ready`` fired; on exit it closes the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import discord

from discord_endpoints import point_discord_at
from twin.server import Twin

log = logging.getLogger(__name__)

READY_TIMEOUT = 10.0


class TwinViolation(AssertionError):
    """The bot did something Discord would reject, and the twin recorded it."""


def assert_no_violations(twin: Twin) -> None:
    """Raise if the twin recorded anything Discord would have rejected."""
    if twin.violations:
        raise TwinViolation("the twin recorded violations:\n  " + "\n  ".join(twin.violations))


def assert_no_discord_errors(records: list[logging.LogRecord]) -> None:
    """Raise if discord.py logged an error (it logs, rather than raises, parser and handler exceptions)."""
    errors = [r for r in records if r.name.startswith("discord") and r.levelno >= logging.ERROR]
    if errors:
        raise AssertionError("discord.py logged errors:\n  " + "\n  ".join(r.getMessage() for r in errors))


@contextlib.asynccontextmanager
async def running_twin(*, check_violations: bool = True, **options: Any) -> AsyncIterator[Twin]:
    """A started ``Twin(**options)``; fails on exit when violations were recorded (unless ``check_violations``)."""
    twin = Twin(**options)
    await twin.start()
    try:
        yield twin
    finally:
        await twin.close()
    if check_violations:
        assert_no_violations(twin)


@contextlib.asynccontextmanager
async def running_bot(
    twin: Twin, bot: discord.Client, token: str, *, within: float = READY_TIMEOUT
) -> AsyncIterator[discord.Client]:
    """Run ``bot`` against ``twin`` until the block ends; returns once the bot is ready (event-driven)."""
    point_discord_at(twin.api_base, twin.gateway_url)
    task = asyncio.create_task(bot.start(token), name="twin-bot")
    ready = asyncio.create_task(bot.wait_until_ready())
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
            raise AssertionError("the bot stopped before it was ready")
        if ready not in done:
            raise AssertionError(f"the bot was not ready within {within} s")
        yield bot
    finally:
        ready.cancel()
        await bot.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_for_gateway(twin: Twin, app: object, within: float = READY_TIMEOUT) -> None:
    """Wait until the application's gateway connection is (re)established."""
    from twin.state import Application

    assert isinstance(app, Application)
    event = twin.gateway.connected.setdefault(app.id, asyncio.Event())
    await asyncio.wait_for(event.wait(), within)
