"""Storage tests run on a real SQLite file in a temp dir, migrated with the real migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.clock import ManualClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)
