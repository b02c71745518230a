"""Free call slots from a mentor's weekly windows: pure functions, UTC instants out.

Rules (cal.com-like):
- Slots come from the LOCAL weekly rule, date by local date: a 07:30 window is 07:30 on the mentor's wall clock on
  both sides of a daylight-saving change. Wall times that do not exist (spring forward) are skipped; ambiguous ones
  (fall back) take the first occurrence (``fold=0``). A slot must start and end inside its window on the wall clock.
- Inside a window, slots are back-to-back from the window's start (07:30, 07:45, 08:00 for 15-minute calls).
  The two halves of a window that crosses midnight are joined again, so a call can run across midnight.
- A slot may not overlap an existing booking widened by ``buffer_minutes`` on both sides.
- Nothing sooner than ``now + min_notice_hours``, nothing from ``now + horizon_days`` on, nothing that starts
  before ``paused_until``.
- Away and travel ranges (:class:`Absence`, whole local dates, inclusive): no slot falls on a date the mentor is away
  (dates on their home calendar); on a travel date (dates on the travel zone's calendar) the weekly windows are read
  in the travel zone instead, so 07:30 is 07:30 wherever they are, across that zone's daylight-saving switches too.
- The weekly limit counts existing bookings by their start in the mentor's local week (Monday to Sunday): a week that
  already holds ``weekly_limit`` bookings offers no slots. Free slots do not count against each other: they are
  alternatives, and the member books one.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from services.windows import Window

Interval = tuple[datetime, datetime]
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Absence:
    """The mentor is away (``travel_tz`` None: dates on the home calendar) or in ``travel_tz`` (dates there) from
    ``first`` to ``last``, both included."""

    first: date
    last: date
    travel_tz: tzinfo | None = None

    def covers(self, instant: datetime, home: tzinfo) -> bool:
        return self.first <= instant.astimezone(self.travel_tz or home).date() <= self.last


def _aware_utc(instant: datetime, name: str) -> datetime:
    if instant.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return instant.astimezone(UTC)


def local_to_utc(naive_local: datetime, tz: tzinfo) -> datetime | None:
    """The UTC instant of a wall time in ``tz``; None when the wall time does not exist (a spring-forward gap).

    Ambiguous wall times (fall back) resolve to the first occurrence (``fold=0``).
    """
    aware = naive_local.replace(tzinfo=tz, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive_local:
        return None
    return instant


def week_start(instant: datetime, tz: tzinfo) -> date:
    """The Monday of ``instant``'s week on the mentor's local calendar."""
    local = instant.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def _local_intervals(windows: Sequence[Window], first: date, last: date) -> Iterator[tuple[datetime, datetime]]:
    """Naive local-wall intervals for every date in [first, last], in order, with touching intervals joined
    (midnight); lazily, so a caller that needs only the first days reads no further."""
    by_day: list[list[Window]] = [[] for _ in range(7)]
    for window in windows:
        by_day[window.day].append(window)
    held: tuple[datetime, datetime] | None = None
    day = first
    while day <= last:
        midnight = datetime.combine(day, time())
        for window in by_day[day.weekday()]:
            interval = (midnight + timedelta(minutes=window.start), midnight + timedelta(minutes=window.end))
            if held is not None and held[1] >= interval[0]:
                held = (held[0], max(held[1], interval[1]))
            else:
                if held is not None:
                    yield held
                held = interval
        day += DAY
    if held is not None:
        yield held


class _Busy:
    """Taken time widened by the buffer on both sides, asked about ascending slots: an interval that ends before one
    slot starts cannot touch a later one, so each is passed over once instead of tested against every slot."""

    def __init__(self, taken: Sequence[Interval], buffer: timedelta) -> None:
        widened = sorted((end + buffer, start - buffer) for start, end in taken)  # by widened end
        self._ends = [end for end, _ in widened]
        self._first_start: list[datetime] = []  # the earliest widened start from each position on
        for _, start in reversed(widened):
            self._first_start.append(min(start, self._first_start[-1]) if self._first_start else start)
        self._first_start.reverse()
        self._next = 0

    def conflicts(self, start: datetime, end: datetime) -> bool:
        """Whether [start, end) overlaps any widened interval; ``start`` never decreases between calls."""
        ends, i = self._ends, self._next
        while i < len(ends) and ends[i] <= start:
            i += 1
        self._next = i
        return i < len(ends) and self._first_start[i] < end


def bookings_per_week(booked: Iterable[Interval], tz: tzinfo) -> dict[date, int]:
    counts: dict[date, int] = {}
    for b_start, _ in booked:
        week = week_start(_aware_utc(b_start, "booking start"), tz)
        counts[week] = counts.get(week, 0) + 1
    return counts


def calls_left_this_week(*, tz: tzinfo, weekly_limit: int, booked: Iterable[Interval], now: datetime) -> int:
    """How many more calls the mentor takes in the local week that contains ``now`` (for the roster card)."""
    used = bookings_per_week(booked, tz).get(week_start(_aware_utc(now, "now"), tz), 0)
    return max(0, weekly_limit - used)


def free_slots(
    windows: Sequence[Window],
    *,
    tz: tzinfo,
    call_minutes: int,
    buffer_minutes: int = 5,
    now: datetime,
    horizon_days: int = 14,
    min_notice_hours: float = 12,
    weekly_limit: int,
    booked: Sequence[Interval] = (),
    paused_until: datetime | None = None,
    absences: Sequence[Absence] = (),
    limit: int = 25,
    elsewhere: Sequence[Interval] = (),
    until: datetime | None = None,
) -> list[datetime]:
    """The next free slot starts (aware UTC, ascending, at most ``limit``); see the module docstring for the rules.

    ``elsewhere``: the mentor's calls in other servers. A mentor has one day, so they hold their time (buffer
    included) here too, but they count toward the weekly limit of the server they were booked in, not this one.
    ``until``: none after that instant (checking one start looks no further than it)."""
    if call_minutes <= 0 or buffer_minutes < 0 or limit < 0:
        raise ValueError("call_minutes must be positive, buffer_minutes and limit not negative")
    now = _aware_utc(now, "now")
    booked = [(_aware_utc(s, "booking start"), _aware_utc(e, "booking end")) for s, e in booked]
    busy = booked + [(_aware_utc(s, "booking start"), _aware_utc(e, "booking end")) for s, e in elsewhere]
    earliest = now + timedelta(hours=min_notice_hours)
    if paused_until is not None:
        earliest = max(earliest, _aware_utc(paused_until, "paused_until"))
    horizon = now + timedelta(days=horizon_days)
    if until is not None:
        horizon = min(horizon, _aware_utc(until, "until") + timedelta(microseconds=1))
    if earliest >= horizon or weekly_limit <= 0 or not windows or limit == 0:
        return []

    call = timedelta(minutes=call_minutes)
    buffer = timedelta(minutes=buffer_minutes)
    per_week = bookings_per_week(booked, tz)
    full_weeks = {week for week, count in per_week.items() if count >= weekly_limit}
    taken = _Busy(busy, buffer)
    # One local day of margin on each side: the instants' local dates and midnight-crossing windows.
    first = earliest.astimezone(tz).date() - DAY
    last = horizon.astimezone(tz).date() + DAY
    # Each source yields ascending starts, so merging them lazily reads only as far as the slots shown need (the
    # first few days of a 25-slot picker), not every slot of the horizon.
    home = _wall_slots(windows, tz, first, last, call, earliest)
    sources = [(s for s in home if not any(a.covers(s, tz) for a in absences)) if absences else home]
    for trip in absences:
        if trip.travel_tz is None:
            continue
        span = (
            max(trip.first, earliest.astimezone(trip.travel_tz).date() - DAY),
            min(trip.last, horizon.astimezone(trip.travel_tz).date() + DAY),
        )
        sources.append(_covered(_wall_slots(windows, trip.travel_tz, *span, call, earliest), trip, tz))
    slots: list[datetime] = []
    previous: datetime | None = None
    for start in heapq.merge(*sources) if len(sources) > 1 else sources[0]:
        if start == previous:  # the same instant from two sources
            continue
        previous = start
        if start < earliest:
            continue
        if start >= horizon:
            break
        end = start + call
        if slots and start < slots[-1] + call:  # never overlap the previous slot (a home and a travel window meeting)
            continue
        if full_weeks and week_start(start, tz) in full_weeks:
            continue
        if taken.conflicts(start, end):
            continue
        slots.append(start)
        if len(slots) >= limit:
            return slots
    return slots


def _covered(starts: Iterator[datetime], trip: Absence, home: tzinfo) -> Iterator[datetime]:
    return (s for s in starts if trip.covers(s, home))


def _wall_slots(
    windows: Sequence[Window], tz: tzinfo, first: date, last: date, call: timedelta, after: datetime | None = None
) -> Iterator[datetime]:
    """Back-to-back slot starts (UTC, ascending) of the weekly windows read in ``tz`` on local dates [first, last];
    wall times that do not exist are skipped, and a slot must end inside its window on the wall clock. ``after``:
    starts before it may be left out (the caller skips them anyway)."""
    for local_start, local_end in _local_intervals(windows, first, last):
        span = local_end - local_start
        utc_start, utc_end = local_to_utc(local_start, tz), local_to_utc(local_end, tz)
        if span <= WEEK and utc_start is not None and utc_end is not None and utc_end - utc_start == span:
            # The same UTC offset at both ends of at most a week (no zone changes its offset and back within a
            # week): every slot is that offset from its wall time, with no conversion per slot.
            offset = 0 if after is None or after <= utc_start else -((utc_start - after) // call)
            while local_start + (offset + 1) * call <= local_end:
                yield utc_start + offset * call
                offset += 1
            continue
        wall = local_start
        while wall + call <= local_end:
            start = local_to_utc(wall, tz)
            wall += call
            if start is None:
                continue
            if (start + call).astimezone(tz).replace(tzinfo=None) > local_end:  # ran past the wall end (DST gap)
                continue
            yield start
