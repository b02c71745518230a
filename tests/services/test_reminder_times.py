"""parse_local_time and next_occurrence: pure functions, pinned to the 2026 and 2027 daylight-saving switches."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.reminders import BadTime, MissingWeekday, next_occurrence, parse_local_time, parse_weekday

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SYDNEY = ZoneInfo("Australia/Sydney")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7:30", time(7, 30)),
        ("07:30", time(7, 30)),
        ("7:30am", time(7, 30)),
        ("7:30 AM", time(7, 30)),
        ("7:30 p.m.", time(19, 30)),
        ("7pm", time(19, 0)),
        ("12am", time(0, 0)),
        ("12:15pm", time(12, 15)),
        ("19:05", time(19, 5)),
        ("19.05", time(19, 5)),
        ("0:00", time(0, 0)),
        ("23:59", time(23, 59)),
        (" 08:00 ", time(8, 0)),
    ],
)
def test_parse_local_time_reads_common_ways_of_writing_a_time(text: str, expected: time) -> None:
    assert parse_local_time(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "nothing"),
        ("breakfast", "couldn't read"),
        ("7", "needs minutes or am/pm"),
        ("24:00", "0 to 23"),
        ("25:10", "0 to 23"),
        ("7:60", "0–59"),
        ("13:00pm", "1 to 12"),
        ("0am", "1 to 12"),
        ("7:5", "couldn't read"),
        ("7:30:15", "couldn't read"),
    ],
)
def test_parse_local_time_refuses_with_what_to_type_instead(text: str, says: str) -> None:
    with pytest.raises(BadTime) as caught:
        parse_local_time(text)
    message = str(caught.value)
    assert says in message
    assert "like 07:30 or 19:05" in message


def test_parse_weekday_reads_names_and_indexes() -> None:
    assert parse_weekday("Monday") == 0
    assert parse_weekday("thu") == 3
    assert parse_weekday(6) == 6
    assert parse_weekday(None) is None


def _chain(cadence: str, at: time, tz: ZoneInfo, start: datetime, count: int, weekday: int | None = None) -> list:
    out = []
    after = start
    for _ in range(count):
        after = next_occurrence(cadence, at, tz, weekday, after)
        out.append(after)
    return out


# (zone, local date of the switch, UTC offset in hours before, after)
SWITCHES = [
    (NEW_YORK, date(2026, 3, 8), -5, -4),
    (NEW_YORK, date(2026, 11, 1), -4, -5),
    (NEW_YORK, date(2027, 3, 14), -5, -4),
    (NEW_YORK, date(2027, 11, 7), -4, -5),
    (BERLIN, date(2026, 3, 29), 1, 2),
    (BERLIN, date(2026, 10, 25), 2, 1),
    (BERLIN, date(2027, 3, 28), 1, 2),
    (BERLIN, date(2027, 10, 31), 2, 1),
    (SYDNEY, date(2026, 4, 5), 11, 10),
    (SYDNEY, date(2026, 10, 4), 10, 11),
    (SYDNEY, date(2027, 4, 4), 11, 10),
    (SYDNEY, date(2027, 10, 3), 10, 11),
]


@pytest.mark.parametrize(("tz", "switch", "before", "after"), SWITCHES, ids=lambda v: str(v))
def test_daily_reminder_keeps_local_wall_time_across_dst_switch(
    tz: ZoneInfo, switch: date, before: int, after: int
) -> None:
    start = datetime.combine(switch - timedelta(days=2), time(12, 0), tz)
    fired = _chain("daily", time(7, 30), tz, start, 4)
    local = [f.astimezone(tz) for f in fired]
    assert [d.date() for d in local] == [switch - timedelta(days=1) + timedelta(days=i) for i in range(4)]
    assert all((d.hour, d.minute) == (7, 30) for d in local)
    assert all(f.tzinfo is UTC for f in fired)
    assert local[0].utcoffset() == timedelta(hours=before)
    assert local[1].utcoffset() == timedelta(hours=after)
    # Not 24 hours apart across the switch: the UTC instant moves by the change in offset.
    assert fired[1] - fired[0] == timedelta(hours=24 - (after - before))


@pytest.mark.parametrize(
    ("tz", "day", "expected_local"),
    [
        (NEW_YORK, date(2026, 3, 8), time(3, 0)),
        (NEW_YORK, date(2027, 3, 14), time(3, 0)),
        (BERLIN, date(2026, 3, 29), time(3, 0)),
        (SYDNEY, date(2026, 10, 4), time(3, 0)),
    ],
)
def test_reminder_in_the_spring_forward_gap_fires_at_the_end_of_the_gap(
    tz: ZoneInfo, day: date, expected_local: time
) -> None:
    start = datetime.combine(day, time(0, 0), tz)
    first, second = _chain("daily", time(2, 30), tz, start, 2)
    assert first.astimezone(tz).date() == day
    assert first.astimezone(tz).time() == expected_local
    # The next day 02:30 exists again and is used as is.
    assert second.astimezone(tz).date() == day + timedelta(days=1)
    assert second.astimezone(tz).time() == time(2, 30)


@pytest.mark.parametrize(
    ("tz", "day", "wall"),
    [(NEW_YORK, date(2026, 11, 1), time(1, 30)), (BERLIN, date(2026, 10, 25), time(2, 30))],
)
def test_reminder_at_an_ambiguous_time_fires_once_at_the_first_occurrence(tz: ZoneInfo, day: date, wall: time) -> None:
    start = datetime.combine(day, time(0, 0), tz)
    first, second = _chain("daily", wall, tz, start, 2)
    assert first == datetime.combine(day, wall, tz).replace(fold=0).astimezone(UTC)
    assert first.astimezone(tz).fold == 0
    # The repeated hour does not fire again: the next one is the following day.
    assert second.astimezone(tz).date() == day + timedelta(days=1)
    assert second - first == timedelta(hours=25)


def test_next_occurrence_is_strictly_after() -> None:
    at = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # 08:00 in Berlin
    assert next_occurrence("daily", time(8, 0), BERLIN, None, at) == at + timedelta(days=1)
    assert next_occurrence("daily", time(8, 0), BERLIN, None, at - timedelta(seconds=1)) == at


def test_weekly_on_monday_in_kiritimati_is_sunday_in_utc() -> None:
    tz = ZoneInfo("Pacific/Kiritimati")  # UTC+14
    after = datetime(2026, 6, 3, tzinfo=UTC)
    fired = _chain("weekly", time(9, 0), tz, after, 3, weekday=0)
    for f in fired:
        assert f.astimezone(tz).weekday() == 0 and f.astimezone(tz).time() == time(9, 0)
        assert f.weekday() == 6  # Sunday 19:00 UTC
        assert f.hour == 19
    assert fired[1] - fired[0] == timedelta(days=7)


def test_weekly_on_monday_evening_in_honolulu_is_tuesday_in_utc() -> None:
    tz = ZoneInfo("Pacific/Honolulu")  # UTC-10, no daylight saving
    fired = next_occurrence("weekly", time(20, 0), tz, 0, datetime(2026, 6, 3, tzinfo=UTC))
    assert fired == datetime(2026, 6, 9, 6, 0, tzinfo=UTC)  # Tuesday 06:00 UTC
    assert fired.astimezone(tz).weekday() == 0


def test_weekdays_skip_the_local_weekend_in_tonga() -> None:
    tz = ZoneInfo("Pacific/Tongatapu")  # UTC+13
    friday_morning = datetime(2026, 6, 5, 9, 0, tzinfo=tz)  # after Friday's 08:00
    fired = _chain("weekdays", time(8, 0), tz, friday_morning, 2)
    assert [f.astimezone(tz).date() for f in fired] == [date(2026, 6, 8), date(2026, 6, 9)]  # Monday, Tuesday
    assert fired[0] == datetime(2026, 6, 7, 19, 0, tzinfo=UTC)  # still Sunday in UTC


def test_weekdays_skip_the_weekend_across_a_dst_switch() -> None:
    friday = datetime(2026, 3, 27, 12, 0, tzinfo=BERLIN)  # the EU switch is Sunday 29 March
    monday = next_occurrence("weekdays", time(7, 30), BERLIN, None, friday)
    assert monday.astimezone(BERLIN) == datetime(2026, 3, 30, 7, 30, tzinfo=BERLIN)
    assert monday.astimezone(BERLIN).utcoffset() == timedelta(hours=2)


def test_weekly_without_a_day_is_refused() -> None:
    with pytest.raises(MissingWeekday, match="day:Monday"):
        next_occurrence("weekly", time(8, 0), BERLIN, None, datetime(2026, 6, 1, tzinfo=UTC))
