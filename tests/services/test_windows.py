"""Window parsing: the forgiving syntax, canonical text, midnight crossing, and errors that name the wrong part."""

from __future__ import annotations

import pytest

from services.windows import Window, WindowSyntaxError, format_windows, parse_windows

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def w(day: int, start: str, end: str) -> Window:
    def minutes(text: str) -> int:
        h, m = text.split(":")
        return int(h) * 60 + int(m)

    return Window(day, minutes(start), minutes(end))


GOOD: list[tuple[str, list[Window]]] = [
    ("Mon-Fri 07:30-08:15", [w(d, "07:30", "08:15") for d in (MON, TUE, WED, THU, FRI)]),
    ("Tue,Thu 17:45-18:30", [w(TUE, "17:45", "18:30"), w(THU, "17:45", "18:30")]),
    ("Sat 10:00-11:00", [w(SAT, "10:00", "11:00")]),
    (
        "Tue,Thu 17:45-18:30, Sat 10:00-11:00",
        [w(TUE, "17:45", "18:30"), w(THU, "17:45", "18:30"), w(SAT, "10:00", "11:00")],
    ),
    ("Tue, Thu 17:45-18:30; sat 10-11", [w(TUE, "17:45", "18:30"), w(THU, "17:45", "18:30"), w(SAT, "10:00", "11:00")]),
    ("mon 7:30am-8:15am", [w(MON, "07:30", "08:15")]),
    ("MON 7:30 am - 8:15 am", [w(MON, "07:30", "08:15")]),
    ("Wednesday 5:45pm-6:30pm", [w(WED, "17:45", "18:30")]),
    ("Wed 5:45-6:30pm", [w(WED, "17:45", "18:30")]),
    ("Wed 11-1pm", [w(WED, "11:00", "13:00")]),
    ("Wed 12pm-12:30pm", [w(WED, "12:00", "12:30")]),
    ("Wed 12am-12:30am", [w(WED, "00:00", "00:30")]),
    ("Fri-Mon 09:00-09:30", [w(d, "09:00", "09:30") for d in (MON, FRI, SAT, SUN)]),
    ("Thursday to Saturday 9:00 to 9:30", [w(d, "09:00", "09:30") for d in (THU, FRI, SAT)]),
    ("tues and thurs 12:00-12:30", [w(TUE, "12:00", "12:30"), w(THU, "12:00", "12:30")]),
    ("weekdays 08:00-08:30", [w(d, "08:00", "08:30") for d in range(5)]),
    ("weekends 08:00-08:30", [w(SAT, "08:00", "08:30"), w(SUN, "08:00", "08:30")]),
    ("Mon 07:30-08:15, 17:30-18:15", [w(MON, "07:30", "08:15"), w(MON, "17:30", "18:15")]),
    ("Sun 23:00-24:00", [w(SUN, "23:00", "24:00")]),
    # overlapping and touching windows merge
    ("Mon 07:00-08:00; Mon 07:30-09:00", [w(MON, "07:00", "09:00")]),
    ("Mon 07:00-08:00; Mon 08:00-08:30", [w(MON, "07:00", "08:30")]),
    (
        "Mon-Wed 07:00-08:00; Tue 07:30-09:00",
        [w(MON, "07:00", "08:00"), w(TUE, "07:00", "09:00"), w(WED, "07:00", "08:00")],
    ),
    # crossing midnight is split at 24:00
    ("Fri 23:30-00:30", [w(FRI, "23:30", "24:00"), w(SAT, "00:00", "00:30")]),
    ("Sun 11:30pm-12:30am", [w(MON, "00:00", "00:30"), w(SUN, "23:30", "24:00")]),
    ("Fri 23:00-00:00", [w(FRI, "23:00", "24:00")]),
]


@pytest.mark.parametrize(("text", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_good_windows_parse_to_weekly_windows(text: str, expected: list[Window]) -> None:
    assert list(parse_windows(text, call_minutes=15)) == sorted(expected)


@pytest.mark.parametrize(("text", "_"), GOOD, ids=[g[0] for g in GOOD])
def test_canonical_text_parses_back_to_the_same_windows(text: str, _: list[Window]) -> None:
    windows = parse_windows(text, call_minutes=15)
    assert parse_windows(format_windows(windows), call_minutes=15) == windows


def test_canonical_text_groups_days_and_sorts() -> None:
    windows = parse_windows("sat 10-11, Tue,Thu 17:45-18:30; mon-fri 7:30am-8:15am", call_minutes=15)
    assert format_windows(windows) == "Mon-Fri 07:30-08:15; Tue,Thu 17:45-18:30; Sat 10:00-11:00"


def test_midnight_crossing_shows_both_halves() -> None:
    assert format_windows(parse_windows("Fri 23:30-00:30", call_minutes=30)) == "Fri 23:30-24:00; Sat 00:00-00:30"


BAD: list[tuple[str, str]] = [
    ("Fxi 07:30-08:15", "“Fxi”"),
    ("Mon-Fxi 07:30-08:15", "“Fxi”"),
    ("Mon 25:00-26:00", "“25:00”"),
    ("Mon 07:30-08:75", "“08:75”"),
    ("Mon 13pm-2pm", "“13pm”"),
    ("Mon 07:30", "“Mon 07:30”"),
    ("07:30-08:15", "has no days"),
    ("Mon-Fri 07:30-08:15, Sat", "“Sat”"),
    ("Mon-Fri 07:30-08:15; Sat 10:00-10:10", "“Sat 10:00-10:10”"),
    ("Mon 07:30-07:30", "same time"),
    ("T 07:30-08:00", "“T”"),
    ("", "at least one window"),
    ("   ", "at least one window"),
    ("Mon 24:00-01:00", "“24:00”"),
]


@pytest.mark.parametrize(("text", "named"), BAD, ids=[b[0] or "<empty>" for b in BAD])
def test_bad_windows_name_the_wrong_part_and_show_an_example(text: str, named: str) -> None:
    with pytest.raises(WindowSyntaxError) as caught:
        parse_windows(text, call_minutes=15)
    message = str(caught.value)
    assert named in message
    assert any(cue in message for cue in ("for example", "e.g.", "like ")), message  # shows a valid form


def test_window_shorter_than_one_call_names_the_call_length() -> None:
    with pytest.raises(WindowSyntaxError, match="20 minutes long, shorter than one 30-minute call"):
        parse_windows("Tue 17:45-18:05", call_minutes=30)


def test_midnight_crossing_window_counts_its_full_length() -> None:
    # 23:50-00:20 is 30 minutes although each half is shorter than a call.
    assert parse_windows("Fri 23:50-00:20", call_minutes=30) == (Window(FRI, 1430, 1440), Window(SAT, 0, 20))
