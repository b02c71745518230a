"""Streaks counted by asking about weeks in chunks agree with counting over the whole history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from services.checkins import STREAK_CHUNK, count_streak, streak_weeks

NOW = datetime(2026, 11, 4, 15, 30, tzinfo=UTC)  # a Wednesday; daylight saving ended in Europe and America lately
ZONES = [ZoneInfo(name) for name in ("UTC", "Europe/Berlin", "America/New_York", "Pacific/Auckland", "Asia/Kolkata")]


@settings(max_examples=400, deadline=None)
@given(
    hours_ago=st.lists(st.integers(0, 24 * 7 * 40), max_size=60)
    | st.builds(lambda n, gap: [gap + 24 * 7 * i for i in range(n)], st.integers(0, 40), st.integers(0, 24 * 8)),
    tz=st.sampled_from(ZONES),
    now_shift=st.integers(0, 24 * 7),
)
def test_stepping_back_week_by_week_counts_the_same_streak_as_the_whole_history(
    hours_ago: list[int], tz: ZoneInfo, now_shift: int
) -> None:
    now = NOW + timedelta(hours=now_shift)
    instants = sorted(now - timedelta(hours=h, minutes=h % 60) for h in hours_ago)
    asked: list[int] = []

    async def weeks_in_a_row(weeks: list[tuple[datetime, datetime]]) -> int:
        asked.append(len(weeks))
        run = 0
        for start, end in weeks:
            if not any(start <= instant < end for instant in instants):
                break
            run += 1
        return run

    expected = streak_weeks(instants, now, tz)
    assert asyncio.run(count_streak(weeks_in_a_row, now, tz)) == expected
    assert len(asked) <= expected // STREAK_CHUNK + 2  # a statement per 16 weeks of streak, and one to start
