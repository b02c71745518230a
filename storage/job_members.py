"""Which member a job is about, and the rule that makes a job unable to hide one.

A job names at most one member, and names them in its ``user_id`` column: that is what ``/privacy delete`` and the
purge after a member leaves find it by. Enforced when a job is written (:func:`check`, called by
``storage.jobs.schedule``, the one write path the dispatcher and every service use):

- a payload key that names a person (``user_id``, ``member_id``, ``mentor_id``, ``asker_id``, ``helper_id``, …, at
  any depth, or a list of them) must hold the ``user_id`` column's value;
- any other snowflake-sized number in the payload or the dedupe key (an int, a digit string, ``<@id>`` inside a
  string) must be the job's ``guild_id`` or ``user_id``, or sit under a key that names a Discord object that is not a
  person (``channel_id``, ``thread_id``, ``message_id``, ``role_id``, ``guild_id``, …), and a dedupe key may repeat
  such an object id.

So a member id cannot ride along in a payload or a key without also being in ``user_id``. A job about a booking
(two people) names the booking (``booking_id``), never either person; the booking row is what deletion removes.

Deletion does not trust the rule alone: :func:`mentions` finds the id in a payload or key in any form, so rows
written before the rule (or by a migration) go too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# Snowflakes of real Discord objects have 17+ digits; epoch seconds and milliseconds, counts and row ids stay below.
SNOWFLAKE_MIN = 10**15
_DIGITS = re.compile(r"\d{16,}")
_PERSON_WORDS = (
    "user",
    "member",
    "mentor",
    "asker",
    "helper",
    "moderator",
    "author",
    "owner",
    "requester",
    "recipient",
    "target",
    "person",
    "claimer",
    "closer",
)
_PERSON_KEY = re.compile(rf"(^|_)({'|'.join(_PERSON_WORDS)})s?(_user)?_ids?$")
_OBJECT_KEY = re.compile(
    r"(^|_)(guild|channel|thread|message|role|interaction|application|webhook|emoji|sticker|card|notice)_ids?$"
)


class JobNamesAMember(ValueError):
    """A job would carry a member id outside its ``user_id`` column (where deletion could not find it)."""


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """(nearest key, scalar) for every scalar in a JSON-like value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, str(k))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item, key)
    else:
        yield key, value


def _snowflakes(value: Any) -> set[int]:
    """Snowflake-sized numbers in a scalar: an int, or digit runs in a string (``"123…"``, ``"<@123…>"``)."""
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {value} if value >= SNOWFLAKE_MIN else set()
    if isinstance(value, str):
        return {int(run) for run in _DIGITS.findall(value)}
    return set()


def is_person_key(key: str) -> bool:
    return bool(_PERSON_KEY.search(key.lower()))


def check(*, payload: dict[str, Any], dedupe_key: str | None, guild_id: int | None, user_id: int | None) -> None:
    """Refuse a job that names a member anywhere but its ``user_id`` column (see the module docstring)."""
    allowed = {i for i in (guild_id, user_id) if i is not None}
    for key, value in _walk(payload):
        if is_person_key(key):
            if isinstance(value, bool) or not isinstance(value, int | str) or str(value) != str(user_id):
                raise JobNamesAMember(
                    f"payload key {key!r} names a member other than the job's user_id; put the member in user_id "
                    "(a job names at most one member) or name the thing the job is about instead"
                )
        elif _OBJECT_KEY.search(key.lower()):
            allowed |= _snowflakes(value)
    for key, value in _walk(payload):
        if is_person_key(key) or _OBJECT_KEY.search(key.lower()):
            continue
        stray = _snowflakes(value) - allowed
        if stray:
            raise JobNamesAMember(
                f"payload key {key!r} holds a snowflake that is neither the job's guild_id or user_id nor under a "
                "*_channel_id/_message_id/… key"
            )
    if dedupe_key is not None and _snowflakes(dedupe_key) - allowed:
        raise JobNamesAMember(
            "the dedupe key holds a snowflake that is not the job's guild_id or user_id nor an object id of its payload"
        )


def mentions(user_id: int, *, payload: str | None, dedupe_key: str | None) -> bool:
    """Whether a stored payload (JSON text) or dedupe key holds ``user_id`` in any form: a JSON number, a string,
    ``<@id>`` or ``<@!id>`` (the id as a whole digit run, so 123 is not found inside 91234)."""
    pattern = re.compile(rf"(?<!\d){user_id}(?!\d)")
    return any(text is not None and pattern.search(text) for text in (payload, dedupe_key))
