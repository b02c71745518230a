"""Fixtures shared by every test package: a real, migrated SQLite file (never a mocked database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from storage.migrate import migrate


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "porchlight.sqlite3"


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    """A migrated database on a real file in the test's temporary directory."""
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
