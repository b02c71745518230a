"""The one definition of the per-server settings: the README, the services' defaults and the parser agree with it."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from services import privacy, settings_catalog
from services.checkins import DEFAULT_FOLLOWUP_DAYS
from services.help_requests import HelpSettings
from services.mentors import BookingPolicy
from services.safety import LIMITS, PENDING_BOOKINGS
from services.settings_catalog import BY_NAME, CATALOG, InvalidSetting, parse
from storage.guilds import GuildConfig

README = Path(__file__).resolve().parents[2] / "README.md"


def config(**settings: object) -> GuildConfig:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 1, tzinfo=UTC)
    return GuildConfig(1, None, None, None, None, None, None, settings, at, at)


def test_readme_tuning_table_is_the_catalogue() -> None:
    assert settings_catalog.markdown_table() in README.read_text(encoding="utf-8"), (
        "README's 'Tuning Porchlight' table differs from services/settings_catalog.py: "
        "paste the output of `python -m services.settings_catalog`"
    )


def test_defaults_kept_elsewhere_are_the_catalogues() -> None:
    help_defaults = HelpSettings()
    for f in fields(HelpSettings):
        assert getattr(help_defaults, f.name) == BY_NAME[f.name].default, f.name
    policy = BookingPolicy()
    assert policy.horizon_days == BY_NAME["mentor_horizon_days"].default
    assert policy.min_notice_hours == BY_NAME["mentor_min_notice_hours"].default
    assert policy.buffer_minutes == BY_NAME["mentor_buffer_minutes"].default
    for limit in [*LIMITS.values(), PENDING_BOOKINGS]:
        assert limit.default == BY_NAME[limit.setting].default, limit.setting
    assert DEFAULT_FOLLOWUP_DAYS == BY_NAME["followup_days"].default
    assert privacy.DEFAULT_CHECKIN_RETENTION_DAYS == BY_NAME["checkin_retention_days"].default
    assert privacy.DEFAULT_CLOSED_REQUEST_RETENTION_DAYS == BY_NAME["closed_request_retention_days"].default
    assert privacy.DEFAULT_LEAVE_GRACE_DAYS == BY_NAME["leave_grace_days"].default


def test_every_default_is_inside_its_own_range() -> None:
    for setting in CATALOG:
        assert settings_catalog.valid(setting, setting.default), setting.name
        assert setting.help and len(setting.help) < 100, setting.name


@pytest.mark.parametrize("stored", ["7", 7.5, True, None, 0, 31, -1, [7]])
def test_an_unusable_stored_value_falls_back_to_the_default(stored: object) -> None:
    assert settings_catalog.number(config(followup_days=stored), "followup_days") == 3


def test_a_usable_stored_value_is_read() -> None:
    assert settings_catalog.number(config(followup_days=7), "followup_days") == 7
    assert settings_catalog.flag(config(show_asker_in_queue=True), "show_asker_in_queue") is True
    assert settings_catalog.flag(config(show_asker_in_queue=1), "show_asker_in_queue") is False
    assert settings_catalog.number(None, "max_helpers") == 2


@pytest.mark.parametrize(("typed", "value"), [("7", 7), (" 7 ", 7), ("7 days", 7), ("7days", 7), ("1", 1), ("30", 30)])
def test_numbers_parse_with_or_without_their_unit(typed: str, value: int) -> None:
    assert parse(BY_NAME["followup_days"], typed) == value


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "`followup_days` must be 1 to 30 days; 0 is out of range."),
        ("31", "`followup_days` must be 1 to 30 days; 31 is out of range."),
        ("3.5", "`followup_days` takes a whole number, 1 to 30 days. `3.5` is not a whole number."),
        ("", "`followup_days` takes a whole number, 1 to 30 days."),
        ("7 hours", "`followup_days` takes a whole number, 1 to 30 days."),
    ],
)
def test_bad_numbers_say_what_is_allowed_with_units(typed: str, message: str) -> None:
    with pytest.raises(InvalidSetting) as refused:
        parse(BY_NAME["followup_days"], typed)
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("typed", "value"), [("on", True), ("ON", True), ("true", True), ("off", False), ("no", False)]
)
def test_switches_parse_on_and_off(typed: str, value: bool) -> None:
    assert parse(BY_NAME["mentor_approval"], typed) is value


def test_unknown_name_is_refused() -> None:
    with pytest.raises(InvalidSetting, match="no setting called"):
        settings_catalog.get("nope")


def test_what_an_admin_typed_is_repeated_without_mentions_or_backticks() -> None:
    with pytest.raises(InvalidSetting) as refused:
        settings_catalog.get("<@&123> `x`")
    assert "<@" not in refused.value.message and "`x`" not in refused.value.message
    with pytest.raises(InvalidSetting) as refused:
        parse(BY_NAME["idle_days"], "@everyone")
    assert "@everyone" not in refused.value.message and "`everyone` is not a whole number" in refused.value.message
