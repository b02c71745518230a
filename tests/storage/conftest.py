"""Storage tests run on a real SQLite file in a temp dir, migrated with the real migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.clock import ManualClock
from storage.db import Database
from storage.migrate import migrate

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "porchlight.sqlite3"


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(db_path)
    await migrate(database)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def second_db(db: Database, db_path: Path) -> AsyncIterator[Database]:
    """Another connection to the same file, as a second process would have."""
    database = await Database.open(db_path)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)
