"""Free slots: local wall times across DST switches, far-apart zones, and a property test of every booking rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.slots import (
    Absence,
    _local_intervals,
    _wall_slots,
    calls_left_this_week,
    free_slots,
    local_to_utc,
    week_start,
)
from services.windows import Window, parse_windows

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")
AUCKLAND = ZoneInfo("Pacific/Auckland")
LA = ZoneInfo("America/Los_Angeles")

EVERY_DAY = parse_windows("Mon-Sun 07:30-08:00", call_minutes=30)

# (zone, date of the switch) for 2026 and 2027, both directions.
SWITCHES = [
    (NY, date(2026, 3, 8)),
    (NY, date(2026, 11, 1)),
    (NY, date(2027, 3, 14)),
    (NY, date(2027, 11, 7)),
    (LONDON, date(2026, 3, 29)),
    (LONDON, date(2026, 10, 25)),
    (LONDON, date(2027, 3, 28)),
    (LONDON, date(2027, 10, 31)),
    (SYDNEY, date(2026, 4, 5)),
    (SYDNEY, date(2026, 10, 4)),
    (SYDNEY, date(2027, 4, 4)),
    (SYDNEY, date(2027, 10, 3)),
]


def daily(tz: ZoneInfo, around: date) -> list[datetime]:
    now = datetime.combine(around - timedelta(days=5), time(12), tzinfo=tz).astimezone(UTC)
    return free_slots(EVERY_DAY, tz=tz, call_minutes=30, now=now, weekly_limit=20, horizon_days=10, min_notice_hours=0)


@pytest.mark.parametrize(("tz", "switch"), SWITCHES, ids=[f"{tz.key}-{d}" for tz, d in SWITCHES])
def test_a_0730_window_stays_0730_local_across_the_switch(tz: ZoneInfo, switch: date) -> None:
    slots = daily(tz, switch)
    local = [s.astimezone(tz) for s in slots]
    assert all(t.time() == time(7, 30) for t in local)
    dates = [t.date() for t in local]
    assert dates == [switch - timedelta(days=4) + timedelta(days=i) for i in range(len(dates))]
    assert switch - timedelta(days=1) in dates and switch + timedelta(days=1) in dates
    # ...and the UTC instant moves by exactly the change of offset.
    before = next(s for s in slots if s.astimezone(tz).date() == switch - timedelta(days=1))
    after = next(s for s in slots if s.astimezone(tz).date() == switch + timedelta(days=1))
    offset_change = after.astimezone(tz).utcoffset() - before.astimezone(tz).utcoffset()  # type: ignore[operator]
    assert abs(offset_change) == timedelta(hours=1)
    assert after - before == timedelta(days=2) - offset_change


def test_nonexistent_local_times_are_skipped_on_spring_forward() -> None:
    windows = parse_windows("Sun 01:30-03:30", call_minutes=30)
    now = datetime(2026, 3, 6, 12, tzinfo=UTC)
    slots = free_slots(windows, tz=NY, call_minutes=30, now=now, weekly_limit=20, horizon_days=3, min_notice_hours=0)
    assert [s.astimezone(NY).strftime("%H:%M") for s in slots] == ["01:30", "03:00"]
    assert slots[1] - slots[0] == timedelta(minutes=30)  # 01:30 EST -> 03:00 EDT is half an hour of real time


def test_window_inside_the_spring_forward_gap_offers_nothing() -> None:
    windows = parse_windows("Sun 01:00-02:00", call_minutes=30)
    now = datetime(2026, 3, 27, 12, tzinfo=UTC)
    slots = free_slots(
        windows, tz=LONDON, call_minutes=30, now=now, weekly_limit=20, horizon_days=3, min_notice_hours=0
    )
    assert slots == []


def test_ambiguous_local_times_use_the_first_occurrence_on_fall_back() -> None:
    windows = parse_windows("Sun 01:00-02:00", call_minutes=30)
    now = datetime(2026, 10, 30, 12, tzinfo=UTC)
    slots = free_slots(windows, tz=NY, call_minutes=30, now=now, weekly_limit=20, horizon_days=3, min_notice_hours=0)
    assert [s.astimezone(NY).strftime("%H:%M %Z") for s in slots] == ["01:00 EDT", "01:30 EDT"]
    assert slots == [datetime(2026, 11, 1, 5, 0, tzinfo=UTC), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)]


def test_sydney_fall_back_keeps_wall_time_of_an_early_window() -> None:
    windows = parse_windows("Sun 02:00-03:00", call_minutes=30)
    now = datetime(2026, 4, 2, 12, tzinfo=UTC)
    slots = free_slots(
        windows, tz=SYDNEY, call_minutes=30, now=now, weekly_limit=20, horizon_days=4, min_notice_hours=0
    )
    assert [s.astimezone(SYDNEY).strftime("%H:%M %Z") for s in slots] == ["02:00 AEDT", "02:30 AEDT"]


def test_mentor_in_auckland_and_member_in_los_angeles_see_the_same_instants() -> None:
    windows = parse_windows("Mon-Fri 07:30-08:15", call_minutes=15)
    now = datetime(2026, 6, 1, 0, tzinfo=UTC)
    slots = free_slots(windows, tz=AUCKLAND, call_minutes=15, now=now, weekly_limit=20, horizon_days=7)
    assert slots
    for slot in slots:
        mentor_local, member_local = slot.astimezone(AUCKLAND), slot.astimezone(LA)
        assert mentor_local.strftime("%H:%M") in ("07:30", "07:45", "08:00")
        assert mentor_local.weekday() < 5
        # The member's clock shows the previous afternoon: 12:30 PDT for 07:30 NZST, 19 hours apart.
        assert member_local.date() == mentor_local.date() - timedelta(days=1)
        assert member_local.strftime("%H:%M") in ("12:30", "12:45", "13:00")
        assert mentor_local.utcoffset() - member_local.utcoffset() >= timedelta(hours=13)  # type: ignore[operator]
        assert mentor_local == member_local  # one instant, two wall clocks


def test_slots_are_back_to_back_and_buffers_apply_around_bookings() -> None:
    windows = parse_windows("Tue 07:30-08:30", call_minutes=15)
    now = datetime(2026, 6, 1, 0, tzinfo=UTC)  # Monday
    booked = [(datetime(2026, 6, 2, 7, 45, tzinfo=UTC), datetime(2026, 6, 2, 8, 0, tzinfo=UTC))]
    free = free_slots(windows, tz=UTC, call_minutes=15, buffer_minutes=5, now=now, weekly_limit=5, horizon_days=2)
    assert [s.strftime("%H:%M") for s in free] == ["07:30", "07:45", "08:00", "08:15"]
    free = free_slots(
        windows, tz=UTC, call_minutes=15, buffer_minutes=5, now=now, weekly_limit=5, horizon_days=2, booked=booked
    )
    assert [s.strftime("%H:%M") for s in free] == ["08:15"]


def test_midnight_crossing_window_offers_a_call_across_midnight() -> None:
    windows = parse_windows("Fri 23:45-00:15", call_minutes=30)
    now = datetime(2026, 6, 1, 0, tzinfo=UTC)
    slots = free_slots(windows, tz=LONDON, call_minutes=30, now=now, weekly_limit=5, horizon_days=7)
    assert [s.astimezone(LONDON).strftime("%a %H:%M") for s in slots] == ["Fri 23:45"]


def test_weekly_limit_counts_bookings_in_the_mentors_local_week() -> None:
    windows = parse_windows("Mon-Sun 09:00-10:00", call_minutes=30)
    now = datetime(2026, 6, 1, 0, tzinfo=UTC)  # Monday 1 June 12:00 in Auckland
    # Sunday 7 June 22:00 UTC is Monday 8 June 10:00 in Auckland: it belongs to the mentor's NEXT week.
    booked = [(datetime(2026, 6, 7, 22, 0, tzinfo=UTC), datetime(2026, 6, 7, 22, 30, tzinfo=UTC))]
    slots = free_slots(
        windows, tz=AUCKLAND, call_minutes=30, now=now, weekly_limit=1, horizon_days=14, booked=booked, limit=100
    )
    weeks = {week_start(s, AUCKLAND) for s in slots}
    assert weeks == {date(2026, 6, 1), date(2026, 6, 15)}
    assert (
        calls_left_this_week(tz=AUCKLAND, weekly_limit=3, booked=booked, now=datetime(2026, 6, 8, 1, tzinfo=UTC)) == 2
    )


def test_pause_min_notice_horizon_and_limit() -> None:
    windows = parse_windows("Mon-Sun 09:00-10:00", call_minutes=30)
    now = datetime(2026, 6, 1, 0, tzinfo=UTC)
    common = dict(tz=UTC, call_minutes=30, now=now, weekly_limit=20)
    assert free_slots(windows, **common, min_notice_hours=9)[0] == datetime(2026, 6, 1, 9, tzinfo=UTC)  # type: ignore[arg-type]
    assert free_slots(windows, **common, min_notice_hours=9.5)[0] == datetime(2026, 6, 1, 9, 30, tzinfo=UTC)  # type: ignore[arg-type]
    assert free_slots(windows, **common, min_notice_hours=10)[0] == datetime(2026, 6, 2, 9, tzinfo=UTC)  # type: ignore[arg-type]
    paused = free_slots(windows, **common, paused_until=datetime(2026, 6, 5, tzinfo=UTC))  # type: ignore[arg-type]
    assert paused[0] == datetime(2026, 6, 5, 9, tzinfo=UTC)
    assert len(free_slots(windows, **common, min_notice_hours=0, limit=100)) == 28  # 14 days x 2  # type: ignore[arg-type]
    assert len(free_slots(windows, **common)) == 25  # type: ignore[arg-type]
    assert free_slots(windows, **common, paused_until=now + timedelta(days=30)) == []  # type: ignore[arg-type]


# -- property test ----------------------------------------------------------------------------------------------

ZONES = [NY, LONDON, SYDNEY, AUCKLAND, LA, ZoneInfo("Asia/Kolkata"), ZoneInfo("UTC")]


@st.composite
def windows_strategy(draw: st.DrawFn) -> tuple[Window, ...]:
    from services.windows import merge_windows

    found = []
    for _ in range(draw(st.integers(1, 6))):
        day = draw(st.integers(0, 6))
        start = draw(st.integers(0, 287)) * 5
        end = draw(st.integers(start // 5 + 1, 288)) * 5
        found.append(Window(day, start, end))
    return merge_windows(found)


def _joined_local_intervals(windows: tuple[Window, ...], around: date) -> list[tuple[datetime, datetime]]:
    raw = []
    for offset in (-1, 0, 1):
        day = around + timedelta(days=offset)
        midnight = datetime.combine(day, time())
        raw += [
            (midnight + timedelta(minutes=w.start), midnight + timedelta(minutes=w.end))
            for w in windows
            if w.day == day.weekday()
        ]
    raw.sort()
    joined: list[tuple[datetime, datetime]] = []
    for start, end in raw:
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    windows=windows_strategy(),
    tz=st.sampled_from(ZONES),
    call=st.sampled_from([10, 15, 20, 30]),
    buffer=st.integers(0, 15),
    # hypothesis takes naive bounds and attaches the zone itself
    now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 20), timezones=st.just(UTC)),  # noqa: DTZ001
    notice=st.integers(0, 24),
    weekly_limit=st.integers(1, 5),
    bookings=st.lists(
        st.tuples(st.integers(-7 * 24 * 60, 15 * 24 * 60), st.sampled_from([10, 15, 20, 30])), max_size=8
    ),
    pause_hours=st.none() | st.integers(0, 24 * 10),
)
def test_no_slot_breaks_any_rule(
    windows: tuple[Window, ...],
    tz: ZoneInfo,
    call: int,
    buffer: int,
    now: datetime,
    notice: int,
    weekly_limit: int,
    bookings: list[tuple[int, int]],
    pause_hours: int | None,
) -> None:
    booked = [(now + timedelta(minutes=m), now + timedelta(minutes=m + d)) for m, d in bookings]
    paused_until = None if pause_hours is None else now + timedelta(hours=pause_hours)
    slots = free_slots(
        windows,
        tz=tz,
        call_minutes=call,
        buffer_minutes=buffer,
        now=now,
        min_notice_hours=notice,
        weekly_limit=weekly_limit,
        booked=booked,
        paused_until=paused_until,
        limit=1000,
    )
    length = timedelta(minutes=call)
    per_week: dict[date, int] = {}
    for start, _ in booked:
        per_week[week_start(start, tz)] = per_week.get(week_start(start, tz), 0) + 1
    for earlier, later in zip(slots, slots[1:], strict=False):
        assert earlier + length <= later, "slots overlap or are out of order"
    for slot in slots:
        end = slot + length
        assert slot.tzinfo is UTC or slot.utcoffset() == timedelta(0)
        assert slot >= now + timedelta(hours=notice), "sooner than the minimum notice"
        assert slot < now + timedelta(days=14), "beyond the horizon"
        assert paused_until is None or slot >= paused_until, "inside a pause"
        for b_start, b_end in booked:
            assert not (slot < b_end + timedelta(minutes=buffer) and b_start < end + timedelta(minutes=buffer)), (
                "overlaps a booking with its buffer"
            )
        assert per_week.get(week_start(slot, tz), 0) < weekly_limit, "breaks the weekly limit"
        local_start = slot.astimezone(tz).replace(tzinfo=None)
        local_end = end.astimezone(tz).replace(tzinfo=None)
        assert local_to_utc(local_start, tz) == slot, "starts at a wall time that does not exist"
        assert any(
            w_start <= local_start and local_end <= w_end
            for w_start, w_end in _joined_local_intervals(windows, local_start.date())
        ), "falls outside every window"


# -- away and travel ------------------------------------------------------------------------------------------------

TOKYO = ZoneInfo("Asia/Tokyo")


def test_away_dates_offer_nothing_and_the_days_around_them_are_untouched() -> None:
    now = datetime(2026, 11, 23, 0, tzinfo=UTC)
    away = Absence(date(2026, 11, 26), date(2026, 11, 28))
    slots = free_slots(
        EVERY_DAY,
        tz=LONDON,
        call_minutes=30,
        now=now,
        weekly_limit=20,
        horizon_days=10,
        min_notice_hours=0,
        absences=[away],
    )
    dates = [s.astimezone(LONDON).date() for s in slots]
    assert dates == [date(2026, 11, 23) + timedelta(days=i) for i in range(10) if not 3 <= i <= 5]


def test_travel_across_new_yorks_fall_back_keeps_0730_on_the_wall_clock_where_the_mentor_is() -> None:
    """Home London (already on GMT since 25 Oct 2026); in New York 29 Oct - 3 Nov 2026, across its switch on 1 Nov."""
    now = datetime(2026, 10, 27, 0, tzinfo=UTC)
    trip = Absence(date(2026, 10, 29), date(2026, 11, 3), NY)
    slots = free_slots(
        EVERY_DAY,
        tz=LONDON,
        call_minutes=30,
        now=now,
        weekly_limit=20,
        horizon_days=10,
        min_notice_hours=0,
        absences=[trip],
    )
    by_date = {}
    for slot in slots:
        zone = NY if trip.covers(slot, LONDON) else LONDON
        by_date[slot.astimezone(zone).date()] = (slot, zone)
    assert sorted(by_date) == [date(2026, 10, 27) + timedelta(days=i) for i in range(10)]
    for day, (slot, zone) in by_date.items():
        assert slot.astimezone(zone).time() == time(7, 30), day
        assert (zone is NY) == (date(2026, 10, 29) <= day <= date(2026, 11, 3)), day
    assert by_date[date(2026, 10, 31)][0].time() == time(11, 30)  # EDT, UTC-4
    assert by_date[date(2026, 11, 2)][0].time() == time(12, 30)  # EST, UTC-5: the instant follows the switch
    assert by_date[date(2026, 11, 4)][0].time() == time(7, 30)  # home again: London, GMT


def test_travel_east_does_not_double_book_the_day_the_mentor_crosses_over() -> None:
    """In Tokyo 24-25 Nov: 07:30 there is 22:30 UTC the day before, so the London 07:30 of the 23rd still stands."""
    now = datetime(2026, 11, 23, 0, tzinfo=UTC)
    trip = Absence(date(2026, 11, 24), date(2026, 11, 25), TOKYO)
    slots = free_slots(
        EVERY_DAY,
        tz=LONDON,
        call_minutes=30,
        now=now,
        weekly_limit=20,
        horizon_days=4,
        min_notice_hours=0,
        absences=[trip],
    )
    assert slots == [
        datetime(2026, 11, 23, 7, 30, tzinfo=UTC),
        datetime(2026, 11, 23, 22, 30, tzinfo=UTC),
        datetime(2026, 11, 24, 22, 30, tzinfo=UTC),
        datetime(2026, 11, 26, 7, 30, tzinfo=UTC),
    ]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    windows=windows_strategy(),
    tz=st.sampled_from(ZONES),
    travel_tz=st.sampled_from(ZONES),
    call=st.sampled_from([10, 15, 20, 30]),
    now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 20), timezones=st.just(UTC)),  # noqa: DTZ001
    away=st.tuples(st.integers(-3, 14), st.integers(0, 5)),
    trip=st.tuples(st.integers(-3, 14), st.integers(0, 8)),
)
def test_no_slot_falls_on_an_away_date_and_travel_dates_follow_the_travel_zone(
    windows: tuple[Window, ...],
    tz: ZoneInfo,
    travel_tz: ZoneInfo,
    call: int,
    now: datetime,
    away: tuple[int, int],
    trip: tuple[int, int],
) -> None:
    today = now.astimezone(tz).date()
    gone = Absence(today + timedelta(days=away[0]), today + timedelta(days=away[0] + away[1]))
    there = Absence(today + timedelta(days=trip[0]), today + timedelta(days=trip[0] + trip[1]), travel_tz)
    slots = free_slots(
        windows,
        tz=tz,
        call_minutes=call,
        now=now,
        weekly_limit=50,
        min_notice_hours=0,
        absences=[gone, there],
        limit=1000,
    )
    length = timedelta(minutes=call)
    for earlier, later in zip(slots, slots[1:], strict=False):
        assert earlier + length <= later, "slots overlap or are out of order"
    for slot in slots:
        zone = travel_tz if there.covers(slot, tz) else tz
        assert zone is travel_tz or not gone.covers(slot, tz), "on an away date"
        local_start = slot.astimezone(zone).replace(tzinfo=None)
        local_end = (slot + length).astimezone(zone).replace(tzinfo=None)
        assert local_to_utc(local_start, zone) == slot, "starts at a wall time that does not exist there"
        assert any(
            w_start <= local_start and local_end <= w_end
            for w_start, w_end in _joined_local_intervals(windows, local_start.date())
        ), "outside every window on the wall clock where the mentor is"


def _wall_slots_one_by_one(windows: tuple[Window, ...], tz: ZoneInfo, first: date, last: date, minutes: int) -> list:
    """The reference for ``_wall_slots``: every wall slot converted on its own (what the fast path must equal)."""
    call = timedelta(minutes=minutes)
    out = []
    for local_start, local_end in _local_intervals(windows, first, last):
        wall = local_start
        while wall + call <= local_end:
            start = local_to_utc(wall, tz)
            wall += call
            if start is not None and (start + call).astimezone(tz).replace(tzinfo=None) <= local_end:
                out.append(start)
    return out


@pytest.mark.parametrize(
    "text",
    ["Mon-Sun 07:30-08:30", "Mon-Sun 00:00-24:00", "Sat-Sun 22:00-03:00", "Mon-Sun 01:00-04:00", "Sun 00:30-03:30"],
)
@pytest.mark.parametrize("tz", [NY, LONDON, SYDNEY, AUCKLAND, ZoneInfo("Australia/Lord_Howe")])
@pytest.mark.parametrize("minutes", [15, 30, 45])
def test_slots_converted_per_interval_equal_slots_converted_one_by_one_across_switches(
    text: str, tz: ZoneInfo, minutes: int
) -> None:
    """Slots of an interval without a clock change are converted at once: across every switch of 2026 (Lord Howe's
    is half an hour), in windows of a day and around the clock, the starts are the same as one by one."""
    windows = parse_windows(text, call_minutes=minutes)
    for first in (date(2026, 1, 1) + timedelta(days=d) for d in range(0, 365, 11)):
        last = first + timedelta(days=16)
        assert list(_wall_slots(windows, tz, first, last, timedelta(minutes=minutes))) == _wall_slots_one_by_one(
            windows, tz, first, last, minutes
        )


def test_free_slots_until_stops_at_that_start_and_agrees_with_the_full_list() -> None:
    windows = parse_windows("Mon-Fri 09:00-12:00", call_minutes=30)
    now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    booked = [(datetime(2026, 3, 4, 14, tzinfo=UTC), datetime(2026, 3, 4, 14, 30, tzinfo=UTC))]
    common = dict(tz=NY, call_minutes=30, now=now, weekly_limit=20, booked=booked, limit=10_000)
    full = free_slots(windows, **common)  # type: ignore[arg-type]
    for start in full[::7]:
        assert free_slots(windows, **common, until=start) == [s for s in full if s <= start]  # type: ignore[arg-type]
    taken = booked[0][0]
    assert taken not in free_slots(windows, **common, until=taken)  # type: ignore[arg-type]
