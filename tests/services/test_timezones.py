from __future__ import annotations

import pytest

from services.timezones import MAX_CHOICES, MAX_LABEL, UnknownTimezone, resolve_timezone, suggest_timezones


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("  AMERICA/NEW_YORK ", "America/New_York"),
        ("America/New York", "America/New_York"),
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("NYC", "America/New_York"),
        ("Sydney", "Australia/Sydney"),
        ("sao paulo", "America/Sao_Paulo"),
        ("Mumbai", "Asia/Kolkata"),
        ("San Francisco", "America/Los_Angeles"),
        ("Kiev", "Europe/Kyiv"),
        ("Indianapolis", "America/Indiana/Indianapolis"),
        ("Honolulu", "Pacific/Honolulu"),
        ("Kiritimati", "Pacific/Kiritimati"),
        ("UTC", "UTC"),
        ("gmt", "UTC"),
        ("EST", "America/New_York"),  # not the fixed UTC-5 zone that never observes daylight saving
        ("PST", "America/Los_Angeles"),
        ("US/Eastern", "America/New_York"),  # legacy link: accepted, stored under its current name
        ("asia/calcutta", "Asia/Kolkata"),
        ("Europe/Amsterdam", "Europe/Amsterdam"),  # a link in tzdata, but a place of its own in zone.tab
        ("Japan", "Asia/Tokyo"),  # a country with one zone
    ],
)
def test_resolve_timezone_accepts_names_cities_and_abbreviations(text: str, zone: str) -> None:
    assert resolve_timezone(text).key == zone


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "Europe/Berlin"),
        ("   ", "Europe/Berlin"),
        ("Berln", "`Europe/Berlin`"),
        ("Amrica/New_York", "`America/New_York`"),
        ("Mars/Olympus_Mons", "city"),
        ("CST", "`America/Chicago`, `Asia/Shanghai`"),
        ("IST", "`Asia/Kolkata`"),
        ("United States", "`America/New_York`"),
        ("+05:00", "Europe/Berlin"),
    ],
)
def test_resolve_timezone_refuses_with_what_to_type_instead(text: str, hint: str) -> None:
    with pytest.raises(UnknownTimezone) as caught:
        resolve_timezone(text)
    assert hint in str(caught.value)
    assert "Type" in str(caught.value)


def test_suggestions_for_empty_query_are_a_popular_list() -> None:
    choices = suggest_timezones("")
    values = [value for _, value in choices]
    assert 0 < len(choices) <= MAX_CHOICES
    assert {"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney"} <= set(values)


def test_suggestions_filter_by_city_and_put_prefix_matches_first() -> None:
    choices = suggest_timezones("new")
    values = [value for _, value in choices]
    assert "America/New_York" in values[:3]
    assert values.index("America/New_York") < values.index("Pacific/Auckland")  # New Zealand: a country match


@pytest.mark.parametrize(
    ("query", "zone"),
    [
        ("berl", "Europe/Berlin"),
        ("SYD", "Australia/Sydney"),
        ("america/chi", "America/Chicago"),
        ("mumbai", "Asia/Kolkata"),
        ("los angeles", "America/Los_Angeles"),
        ("Los_Ang", "America/Los_Angeles"),
    ],
)
def test_suggestions_find_zone_as_member_types(query: str, zone: str) -> None:
    assert suggest_timezones(query)[0][1] == zone


def test_suggestions_leave_out_legacy_links_and_respect_discord_limits() -> None:
    for query in ("us/", "eastern", "etc/gmt", "calcutta"):
        assert all(not v.startswith(("US/", "Etc/")) and v != "Asia/Calcutta" for _, v in suggest_timezones(query))
    for query in ("a", "e", "america", ""):
        choices = suggest_timezones(query)
        assert len(choices) <= MAX_CHOICES
        assert all(len(label) <= MAX_LABEL and len(value) <= MAX_LABEL for label, value in choices)
        assert all(resolve_timezone(value).key == value for _, value in choices)


def test_suggestions_for_nonsense_are_empty() -> None:
    assert suggest_timezones("zzzzqq") == []
