"""Every per-server setting, defined once: name, type, default, allowed range, unit, group and a one-line meaning.

The services read their settings through :func:`number` and :func:`flag` (a stored value that is the wrong type or
out of range falls back to the default, so a hand-edited database never breaks a feature); ``/setup settings``,
``/setup set`` and ``/setup reset`` use :func:`parse` and :func:`show`; the README's "Tuning Porchlight" table is
checked against :data:`CATALOG` by a test. Values live in ``guild_config.settings`` (JSON), so a change takes
effect at the next read: no restart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from services.errors import PorchlightError
from storage.guilds import GuildConfig

Value = int | bool


class Group(StrEnum):
    CHECKINS = "Check-ins"
    HELP = "Help requests"
    MENTORS = "Mentors"
    LIMITS = "Limits"
    RETENTION = "Retention"


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    kind: Literal["int", "bool"]
    default: Value
    group: Group
    help: str
    minimum: int = 0
    maximum: int = 0
    unit: str = ""  # plural: "days"; "" for a plain count or a switch
    when: str = ""  # when a change takes effect, if not "at once"
    weakens_privacy_when: bool | None = None  # a switch whose turning to this value shows more to others

    @property
    def range_text(self) -> str:
        if self.kind == "bool":
            return "on or off"
        return f"{self.minimum} to {self.maximum}" + (f" {self.unit}" if self.unit else "")


def _int(name: str, default: int, lo: int, hi: int, unit: str, group: Group, meaning: str, when: str = "") -> Setting:
    return Setting(name, "int", default, group, meaning, lo, hi, unit, when)


CATALOG: tuple[Setting, ...] = (
    _int(
        "followup_days",
        3,
        1,
        30,
        "days",
        Group.CHECKINS,
        "after a Stuck or In a rut check-in, DM the member this long later",
        "applies to new check-ins; follow-ups already scheduled keep their time",
    ),
    _int("max_open_requests", 2, 1, 10, "", Group.HELP, "open help requests one member may have at once"),
    _int("request_cooldown_minutes", 10, 0, 1440, "minutes", Group.HELP, "wait between one member's help requests"),
    _int("max_helpers", 2, 1, 10, "", Group.HELP, "helpers who can claim one request"),
    _int("max_claims_per_helper", 3, 1, 20, "", Group.HELP, "requests one helper may hold at once (no burning out)"),
    _int(
        "escalate_after_hours",
        4,
        1,
        72,
        "hours",
        Group.HELP,
        "ping the helper role about a request nobody claimed",
        "applies to requests opened or released from now on",
    ),
    _int(
        "moderator_escalate_after_hours",
        24,
        1,
        168,
        "hours",
        Group.HELP,
        "ping moderators about a request still unclaimed",
        "applies to requests opened or released from now on",
    ),
    _int(
        "idle_days",
        3,
        1,
        30,
        "days",
        Group.HELP,
        "ask the asker whether a quiet request is sorted",
        "applies to idle checks armed from now on",
    ),
    _int(
        "idle_close_after_days",
        2,
        1,
        30,
        "days",
        Group.HELP,
        "close a quiet request this long after asking",
        "applies to idle checks armed from now on",
    ),
    _int("reopen_days", 7, 0, 30, "days", Group.HELP, "how long a closed request can be reopened (0: never)"),
    Setting(
        "show_asker_in_queue",
        "bool",
        False,
        Group.HELP,
        "name the asker on helper-queue cards (off: anonymous)",
        when="applies to queue cards posted or updated from now on",
        weakens_privacy_when=True,
    ),
    Setting(
        "anonymous_asks",
        "bool",
        True,
        Group.HELP,
        "members may ask without their name shown to helpers (/ask anonymous, the check-in's form)",
        when="applies to new requests; anonymous requests stay anonymous",
    ),
    Setting("mentor_approval", "bool", True, Group.MENTORS, "a moderator approves new mentors before they are listed"),
    _int("mentor_horizon_days", 14, 1, 60, "days", Group.MENTORS, "how far ahead members can book a call"),
    _int("mentor_min_notice_hours", 12, 0, 168, "hours", Group.MENTORS, "the least notice a booking gives a mentor"),
    _int("mentor_buffer_minutes", 5, 0, 60, "minutes", Group.MENTORS, "a gap kept free between one mentor's calls"),
    _int("limit_checkins_per_hour", 6, 1, 60, "", Group.LIMITS, "check-ins one member can make in an hour"),
    _int("limit_help_requests_per_day", 5, 1, 50, "", Group.LIMITS, "help requests one member can open in a day"),
    _int("limit_booking_requests_per_day", 5, 1, 50, "", Group.LIMITS, "call requests one member can make in a day"),
    _int(
        "limit_changes_per_hour",
        30,
        1,
        500,
        "",
        Group.LIMITS,
        "other changes one member can make in an hour (reminders, mentor profile, /close)",
    ),
    _int("limit_pending_bookings", 3, 1, 20, "", Group.LIMITS, "unanswered call requests one member can have at once"),
    _int(
        "checkin_retention_days",
        365,
        30,
        3650,
        "days",
        Group.RETENTION,
        "check-ins older than this are deleted",
        "applies at the next daily retention pass",
    ),
    _int(
        "closed_request_retention_days",
        180,
        7,
        3650,
        "days",
        Group.RETENTION,
        "closed help requests' text is deleted this long after closing",
        "applies at the next daily retention pass",
    ),
    _int(
        "leave_grace_days",
        30,
        1,
        365,
        "days",
        Group.RETENTION,
        "a member who left keeps their data this long in case they return",
        "applies to members who leave from now on",
    ),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in CATALOG}
assert len(BY_NAME) == len(CATALOG), "duplicate setting name"


class InvalidSetting(PorchlightError):
    pass


def _echo(typed: str) -> str:
    """What an admin typed, repeated safely: letters, digits and a few signs only (no mentions, no backticks)."""
    return re.sub(r"[^A-Za-z0-9_.,+ -]", "", typed).strip()[:40] or "that"


def get(name: str) -> Setting:
    try:
        return BY_NAME[name]
    except KeyError:
        raise InvalidSetting(f"There is no setting called `{_echo(name)}`. `/setup settings` lists them all.") from None


def valid(setting: Setting, value: object) -> bool:
    """Whether a stored value is usable for ``setting`` (the right JSON type, inside the range)."""
    if setting.kind == "bool":
        return isinstance(value, bool)
    return isinstance(value, int) and not isinstance(value, bool) and setting.minimum <= value <= setting.maximum


def current(config: GuildConfig | None, name: str) -> Value:
    """The server's value of ``name``, or its default when unset or unusable."""
    setting = BY_NAME[name]
    value = config.setting(name) if config is not None else None
    return value if valid(setting, value) else setting.default  # type: ignore[return-value]


def number(config: GuildConfig | None, name: str) -> int:
    value = current(config, name)
    assert BY_NAME[name].kind == "int" and not isinstance(value, bool), name
    return value


def flag(config: GuildConfig | None, name: str) -> bool:
    value = current(config, name)
    assert isinstance(value, bool), name
    return value


def is_set(config: GuildConfig | None, name: str) -> bool:
    return config is not None and valid(BY_NAME[name], config.setting(name))


_ON = {"on", "true", "yes", "1", "enabled", "enable"}
_OFF = {"off", "false", "no", "0", "disabled", "disable"}


def parse(setting: Setting, text: str) -> Value:
    """A typed value from what an admin typed, or :class:`InvalidSetting` saying what is allowed (with units)."""
    typed = text.strip().lower()
    if setting.kind == "bool":
        if typed in _ON:
            return True
        if typed in _OFF:
            return False
        raise InvalidSetting(f"`{setting.name}` is a switch: answer `on` or `off`.")
    if typed.endswith(setting.unit) and setting.unit:
        typed = typed[: -len(setting.unit)].strip()
    try:
        value = int(typed)
    except ValueError:
        raise InvalidSetting(
            f"`{setting.name}` takes a whole number, {setting.range_text}. `{_echo(text)}` is not a whole number."
        ) from None
    if not setting.minimum <= value <= setting.maximum:
        raise InvalidSetting(f"`{setting.name}` must be {setting.range_text}; {value} is out of range.")
    return value


def show(setting: Setting, value: object) -> str:
    """``3 days``, ``on``, ``5``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "default"
    if setting.unit:
        unit = setting.unit[:-1] if value == 1 and setting.unit.endswith("s") else setting.unit
        return f"{value} {unit}"
    return str(value)


def markdown_table() -> str:
    """The README's "Tuning Porchlight" table (``python -m services.settings_catalog`` prints it)."""
    rows = ["| setting | group | default | allowed | what it does |", "|---|---|---|---|---|"]
    for s in CATALOG:
        meaning = s.help + (f" ({s.when})" if s.when else "")
        rows.append(f"| `{s.name}` | {s.group.value} | {show(s, s.default)} | {s.range_text} | {meaning} |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table())
