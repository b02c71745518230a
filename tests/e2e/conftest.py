"""End-to-end fixtures: the real Porchlight bot, connected over HTTP and websocket to the local Discord twin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from demo.community import Community
from demo.community import community as start_community
from twin.testing import assert_no_violations


@pytest.fixture
async def community(tmp_path: Path) -> AsyncIterator[Community]:
    """A configured server (/setup done) with Porchlight running; fails the test on any twin violation."""
    async with start_community(tmp_path / "porchlight.db") as world:
        yield world
    assert_no_violations(world.twin)


@pytest.fixture
async def unconfigured(tmp_path: Path) -> AsyncIterator[Community]:
    """The same server before any /setup."""
    async with start_community(tmp_path / "porchlight.db", configure=False) as world:
        yield world
    assert_no_violations(world.twin)
