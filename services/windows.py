"""Weekly call windows in the mentor's own time zone: a forgiving parser and one canonical text form.

Syntax (documented in ``/mentor signup``'s help): groups of ``<days> <start>-<end>``, for example
``Mon-Fri 07:30-08:15; Tue,Thu 17:45-18:30, Sat 10:00-11:00``.

- Groups are separated by ``;`` or by ``,``. A comma also separates days inside a day list (``Tue,Thu``), so a comma
  piece that holds no time range is joined to the next piece: ``Tue,Thu 17:45-18:30, Sat 10:00-11:00`` is two groups.
  A piece with a time range but no days (``Mon-Fri 07:30-08:15, 17:30-18:15``) reuses the days before it.
- Days: full names or any unambiguous start of at least two letters (``Mon``, ``tues``, ``Thursday``), case-insensitive,
  in lists (``Tue,Thu``, ``Tue/Thu``, ``Tue & Thu``, ``Tue and Thu``) and ranges that may wrap (``Fri-Mon`` is Fri, Sat,
  Sun, Mon); also ``weekdays``, ``weekends``, ``daily``/``every day``.
- Times: 24-hour (``07:30``, ``7``, ``0730`` is not accepted) or 12-hour (``7:30am``, ``7:30 am``, ``5:45pm``,
  ``7:30 a.m.``). A suffix only on the end time applies to the start too when that keeps the start before the end
  (``5:45-6:30pm`` is 17:45-18:30). ``24:00`` may end a window. Range separators: ``-``, ``–``, ``—`` or ``to``.
- A window whose end is earlier than its start crosses midnight (``Fri 23:30-00:30``) and is stored as two windows:
  Fri 23:30-24:00 and Sat 00:00-00:30. Slot generation joins them again, so a call can run across midnight.
- Windows that overlap or touch on the same day are merged into one (``Mon 07:00-08:00, Mon 07:30-09:00`` is
  Mon 07:00-09:00): a mentor typing the same time twice means that time once.
- A group shorter than one call is refused, naming the group.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.errors import PorchlightError
from services.text import clean_text

log = logging.getLogger(__name__)

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_ABBR = tuple(name[:3] for name in DAY_NAMES)
MINUTES_PER_DAY = 24 * 60
EXAMPLE = "`Mon-Fri 07:30-08:15; Sat 10:00-11:00`"
MAX_TEXT = 500


class WindowSyntaxError(PorchlightError):
    """The windows text cannot be read; the message names the part that is wrong and shows a valid example."""


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """One weekly window in local wall time: ``day`` 0 = Monday, minutes since local midnight, ``end`` up to 1440."""

    day: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.day <= 6 and 0 <= self.start < self.end <= MINUTES_PER_DAY):
            raise ValueError(f"invalid window {self.day}/{self.start}/{self.end}")

    @property
    def minutes(self) -> int:
        return self.end - self.start


_SEP = r"(?:-|–|—|\bto\b)"
_TIME = r"\d{1,2}(?:[:.]\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)?"
_RANGE_AT_END = re.compile(rf"(?P<start>{_TIME})\s*{_SEP}\s*(?P<end>{_TIME})\s*$", re.IGNORECASE)
_ONE_TIME = re.compile(r"^(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*(?P<mer>a\.?m\.?|p\.?m\.?)?$", re.IGNORECASE)
_DAY_SPLIT = re.compile(r"\s*(?:,|/|&|\+|\band\b|\s)\s*", re.IGNORECASE)
_DAY_RANGE = re.compile(rf"^(?P<a>[a-z]+)\s*{_SEP}\s*(?P<b>[a-z]+)$", re.IGNORECASE)
_SPECIAL_DAYS = {
    "weekdays": (0, 1, 2, 3, 4),
    "weekday": (0, 1, 2, 3, 4),
    "weekends": (5, 6),
    "weekend": (5, 6),
    "daily": (0, 1, 2, 3, 4, 5, 6),
    "everyday": (0, 1, 2, 3, 4, 5, 6),
    "every day": (0, 1, 2, 3, 4, 5, 6),
}


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= 60 else text[:59] + '…'}”"


def _day(token: str, group: str) -> int:
    word = token.strip().lower().rstrip(".")
    if word.endswith("s") and len(word) > 3 and word[:-1] in (n.lower() for n in DAY_NAMES):
        word = word[:-1]  # "mondays"
    matches = [i for i, name in enumerate(DAY_NAMES) if len(word) >= 2 and name.lower().startswith(word)]
    if len(matches) != 1:
        raise WindowSyntaxError(
            f"{_quote(token)} in {_quote(group)} isn't a day I know. Use day names like Mon, Tue, Wed, Thu, Fri, "
            f"Sat, Sun (or full names), for example {EXAMPLE}."
        )
    return matches[0]


def _days(text: str, group: str) -> list[int]:
    cleaned = text.strip().rstrip(":")
    if cleaned.lower() in _SPECIAL_DAYS:
        return list(_SPECIAL_DAYS[cleaned.lower()])
    # Ranges first ("Fri - Mon" may contain spaces), then lists.
    normalised = re.sub(rf"\s*{_SEP}\s*", "-", cleaned, flags=re.IGNORECASE)
    days: list[int] = []
    for token in _DAY_SPLIT.split(normalised):
        if not token:
            continue
        if token.lower() in _SPECIAL_DAYS:
            days.extend(_SPECIAL_DAYS[token.lower()])
            continue
        ranged = _DAY_RANGE.match(token)
        if ranged:
            first, last = _day(ranged.group("a"), group), _day(ranged.group("b"), group)
            span = (last - first) % 7  # wraps: Fri-Mon
            days.extend((first + i) % 7 for i in range(span + 1))
        elif "-" in token:
            raise WindowSyntaxError(
                f"{_quote(token)} in {_quote(group)} isn't a day range. Write ranges like Mon-Fri or Fri-Mon, "
                f"for example {EXAMPLE}."
            )
        else:
            days.append(_day(token, group))
    if not days:
        raise WindowSyntaxError(f"{_quote(group)} has no days. Start each window with its days, for example {EXAMPLE}.")
    return sorted(set(days))


def _time(text: str, group: str, *, is_end: bool, meridiem: str | None = None) -> tuple[int, str | None]:
    """Minutes since midnight and the am/pm suffix written (if any)."""
    match = _ONE_TIME.match(text.strip())
    if match is None:
        raise WindowSyntaxError(f"{_quote(text)} in {_quote(group)} isn't a time. Write times like 07:30 or 7:30am.")
    hour, minute = int(match.group("h")), int(match.group("m") or 0)
    written = match.group("mer")
    mer = written.replace(".", "").lower() if written else meridiem
    bad = minute > 59
    if mer is not None:
        bad = bad or not 1 <= hour <= 12
        hour = (hour % 12) + (12 if mer == "pm" else 0)
    else:
        bad = bad or hour > 24 or (hour == 24 and (minute != 0 or not is_end))
    if bad:
        raise WindowSyntaxError(
            f"{_quote(text)} in {_quote(group)} isn't a valid time. Use 00:00-23:59 (24:00 may end a window) "
            "or 12-hour times like 7:30am and 5:45pm."
        )
    return hour * 60 + minute, written.replace(".", "").lower() if written else None


def _hour(text: str) -> int:
    digits = re.match(r"\s*(\d+)", text)
    return int(digits.group(1)) if digits else -1


def _group(group: str, days_before: list[int] | None, call_minutes: int) -> tuple[list[Window], list[int]]:
    text = group.strip()
    match = _RANGE_AT_END.search(text)
    if match is None:
        raise WindowSyntaxError(
            f"I couldn't find a time range in {_quote(text)}. Write the days and then start-end, for example {EXAMPLE}."
        )
    day_text = text[: match.start()].strip()
    if day_text:
        days = _days(day_text, text)
    elif days_before is not None:
        days = days_before
    else:
        raise WindowSyntaxError(f"{_quote(text)} has no days. Start each window with its days, for example {EXAMPLE}.")
    start, start_mer = _time(match.group("start"), text, is_end=False)
    end, end_mer = _time(match.group("end"), text, is_end=True)
    if start_mer is None and end_mer is not None and _hour(match.group("start")) in range(1, 13):
        shared, _ = _time(match.group("start"), text, is_end=False, meridiem=end_mer)
        if shared < end:  # "5:45-6:30pm" -> 17:45-18:30; "11-1pm" stays 11:00-13:00
            start = shared
    length = MINUTES_PER_DAY - start if end == MINUTES_PER_DAY else (end - start) % MINUTES_PER_DAY
    if length == 0:
        raise WindowSyntaxError(f"{_quote(text)} starts and ends at the same time. Give it a length, e.g. 07:30-08:15.")
    if length < call_minutes:
        suggested_end = (start + max(call_minutes, 45)) % MINUTES_PER_DAY
        raise WindowSyntaxError(
            f"{_quote(text)} is {length} minutes long, shorter than one {call_minutes}-minute call. Make it at least "
            f"{call_minutes} minutes long, e.g. {_fmt(start)}-{_fmt(suggested_end)}."
        )
    windows: list[Window] = []
    for day in days:
        if start + length <= MINUTES_PER_DAY:
            windows.append(Window(day, start, start + length))
        else:  # crosses midnight: split at 24:00
            windows.append(Window(day, start, MINUTES_PER_DAY))
            windows.append(Window((day + 1) % 7, 0, start + length - MINUTES_PER_DAY))
    return windows, days


def _groups(text: str) -> list[str]:
    """Split on ';' and on ',' between groups; a comma piece without a time range belongs to the next piece."""
    groups: list[str] = []
    for part in re.split(r"[;\n]", text):
        pending = ""
        for piece in part.split(","):
            pending = f"{pending},{piece}" if pending else piece
            if _RANGE_AT_END.search(pending.strip()):
                groups.append(pending.strip())
                pending = ""
        if pending.strip():
            groups.append(pending.strip())  # reported by _group as "no time range"
    return [g for g in groups if g]


def merge_windows(windows: Iterable[Window]) -> tuple[Window, ...]:
    """Sorted, with windows that overlap or touch on the same day merged into one."""
    merged: list[Window] = []
    for window in sorted(windows):
        last = merged[-1] if merged else None
        if last is not None and last.day == window.day and window.start <= last.end:
            merged[-1] = Window(last.day, last.start, max(last.end, window.end))
        else:
            merged.append(window)
    return tuple(merged)


def parse_windows(text: str, *, call_minutes: int) -> tuple[Window, ...]:
    """Weekly windows from the mentor's text, merged and sorted; :class:`WindowSyntaxError` names what is wrong."""
    text = clean_text(text) or ""
    if not text:
        raise WindowSyntaxError(f"Please give at least one window, for example {EXAMPLE}.")
    if len(text) > MAX_TEXT:
        raise WindowSyntaxError(f"That's more than {MAX_TEXT} characters. Shorten it, for example {EXAMPLE}.")
    windows: list[Window] = []
    days_before: list[int] | None = None
    for group in _groups(text):
        found, days_before = _group(group, days_before, call_minutes)
        windows.extend(found)
    if not windows:
        raise WindowSyntaxError(f"Please give at least one window, for example {EXAMPLE}.")
    return merge_windows(windows)


def format_windows(windows: Sequence[Window]) -> str:
    """Canonical text, parseable again: days with the same times grouped (``Mon-Fri 07:30-08:15; Sat 10:00-11:00``).

    The two halves of a window that crosses midnight are shown as they are stored (``Fri 23:30-24:00; Sat
    00:00-00:30``); parsing that text gives the same windows back.
    """
    by_time: dict[tuple[int, int], list[int]] = {}
    for window in merge_windows(windows):
        by_time.setdefault((window.start, window.end), []).append(window.day)
    parts: list[tuple[int, int, str]] = []
    for (start, end), days in by_time.items():
        parts.append((min(days), start, f"{_format_days(sorted(days))} {_fmt(start)}-{_fmt(end)}"))
    return "; ".join(text for _, _, text in sorted(parts))


def _format_days(days: list[int]) -> str:
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    out: list[str] = []
    for run in runs:
        if len(run) >= 3:
            out.append(f"{DAY_ABBR[run[0]]}-{DAY_ABBR[run[-1]]}")
        else:
            out.extend(DAY_ABBR[d] for d in run)
    return ",".join(out)
