"""Streaks counted by stepping back one index seek per week agree with counting over the whole history."""

from __future__ import annotations

import asyncio
import bisect
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from services.checkins import count_streak, streak_weeks

NOW = datetime(2026, 11, 4, 15, 30, tzinfo=UTC)  # a Wednesday; daylight saving ended in Europe and America lately
ZONES = [ZoneInfo(name) for name in ("UTC", "Europe/Berlin", "America/New_York", "Pacific/Auckland", "Asia/Kolkata")]


@settings(max_examples=300, deadline=None)
@given(
    hours_ago=st.lists(st.integers(0, 24 * 7 * 12), max_size=30),
    tz=st.sampled_from(ZONES),
    now_shift=st.integers(0, 24 * 7),
)
def test_stepping_back_week_by_week_counts_the_same_streak_as_the_whole_history(
    hours_ago: list[int], tz: ZoneInfo, now_shift: int
) -> None:
    now = NOW + timedelta(hours=now_shift)
    instants = sorted(now - timedelta(hours=h, minutes=h % 60) for h in hours_ago)
    asked: list[datetime] = []

    async def latest_before(instant: datetime) -> datetime | None:
        asked.append(instant)
        index = bisect.bisect_left(instants, instant)
        return instants[index - 1] if index else None

    expected = streak_weeks(instants, now, tz)
    assert asyncio.run(count_streak(latest_before, now, tz)) == expected
    assert len(asked) <= expected + 1  # one seek per week of the streak, and one to find where it ends
