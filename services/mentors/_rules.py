"""The mentors' pure rules: constants, errors, results, validation of what a mentor types, request expiry and the
calendar invite. No database, no clock: the service modules call these."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from services.errors import PorchlightError
from services.text import clean_text
from services.timezones import UnknownTimezone, resolve_timezone
from storage.mentors import Booking, Mentor

log = logging.getLogger(__name__)


EXPIRY_JOB = "mentors.request_expiry"
REMINDER_JOB = "mentors.reminder"
AFTER_CALL_JOB = "mentors.after_call"
VOICE_CREATE_JOB = "mentors.voice_create"
VOICE_DELETE_JOB = "mentors.voice_delete"
MOVE_EXPIRY_JOB = "mentors.move_expiry"
JOB_KINDS = (EXPIRY_JOB, REMINDER_JOB, AFTER_CALL_JOB, VOICE_CREATE_JOB, VOICE_DELETE_JOB, MOVE_EXPIRY_JOB)

CALL_MINUTES = (10, 15, 20, 30)
CONTACT_LABELS = {
    "they_call_me": "they_call_me",
    "you call me": "they_call_me",
    "i_call_them": "i_call_them",
    "i call you": "i_call_them",
    "discord_voice": "discord_voice",
    "discord voice": "discord_voice",
}
MAX_TOPICS = 8
MAX_TOPIC_LENGTH = 30
THANKS_LIMIT = 1000  # the thank-you form's limit
REMINDER_OFFSETS = (timedelta(hours=24), timedelta(minutes=15))
AFTER_CALL_DELAY = timedelta(minutes=30)
VOICE_LEAD = timedelta(minutes=5)
VOICE_LINGER = timedelta(minutes=30)
ANSWER_WINDOW = timedelta(hours=24)
MIN_ANSWER_TIME = timedelta(hours=1)
LAST_ANSWER_BEFORE_START = timedelta(minutes=15)
UID_DOMAIN = "porchlight"


class MentorEffect(StrEnum):
    """The Discord side effects of mentor changes (``docs/effects.md``), carried out by ``cogs/mentors/_effects.py``.

    A profile's effects have the subject ``mentor:<guild>:<user>`` (``user_id`` = the mentor); a booking's effects
    are per person, ``booking:<id>:member`` and ``booking:<id>:mentor``, each with that person as ``user_id``, so
    /privacy delete by either removes what concerns them and leaves the other's. Take-downs of what a member who
    deleted their data had on Discord carry no member (``erase:<guild>``, message ids only)."""

    APPLICATION = "mentor.application"  # the application card in the helper queue: posted, then edited when decided
    ROLE = "mentor.role"  # the mentor role given or taken back, as the profile's status says
    DECIDED_DM = "mentor.decided_dm"  # "approved" / "declined" DM
    CARD = "mentor.card"  # the roster card brought up to date (debounced), removed when not listed
    REQUEST_DM = "booking.request_dm"  # to the mentor, with Accept / Decline
    CONFIRMATION = "booking.confirmation"  # to one person, with the invite (.ics rendered when it runs)
    DECLINED_DM = "booking.declined_dm"  # to the member, with other times (args: expired)
    EXPIRED_DM = "booking.expired_dm"  # to the mentor
    CANCELLED_DM = "booking.cancelled_dm"  # to the other person, with METHOD:CANCEL when it had been confirmed
    REMINDER = "booking.reminder"  # args: minutes
    AFTER_CALL = "booking.after_call"  # "did the call happen?"
    VOICE_ROOM = "booking.voice_room"  # the private voice room for a Discord-voice call (on the member's subject)
    VOICE_READY = "booking.voice_ready"  # "join the room" (or "call from your DMs" when it could not be made)
    REDACT = "booking.redact"  # a posted DM edited to drop a number or a gone member's words (args: what)
    MOVE_REQUEST_DM = "booking.move_request_dm"  # to the mentor: the member asks to move the call (args: move_id)
    MOVE_ANSWER_DM = "booking.move_answer_dm"  # a move declined, lapsed or overtaken: the call stands (args: move_id)
    AWAY_CALLS_DM = "mentor.away_calls_dm"  # to the mentor: calls inside a new away range (args: absence_id)
    TAKE_DOWN = "mentor.take_down"  # a gone member's application edited to neutral, or their roster card deleted


class CancelCause(StrEnum):
    """Why a call was cancelled: the one cancellation DM says it (with the invite update when it was confirmed)."""

    BY_PERSON = "by_person"  # /calls, with their optional reason
    MENTOR_LEFT = "mentor_left"  # /mentor leave
    DATA_DELETED = "data_deleted"  # /privacy delete (or the purge after leaving)
    LEFT_SERVER = "left_server"  # found gone: the daily pass, or the check before a reminder or a voice room
    MENTOR_AWAY = "mentor_away"  # the mentor set an away range over it and cancelled from the flag DM


Role = Literal["member", "mentor"]


def mentor_subject(guild_id: int, user_id: int) -> str:
    return f"mentor:{guild_id}:{user_id}"


def booking_subject(booking_id: int, role: Role) -> str:
    return f"booking:{booking_id}:{role}"


def erase_subject(guild_id: int) -> str:
    return f"erase:{guild_id}"


def booking_of(subject: str) -> tuple[int, Role]:
    _, booking_id, role = subject.split(":")
    assert role in ("member", "mentor")
    return int(booking_id), "member" if role == "member" else "mentor"


def number_holder(booking: Booking) -> Role | None:
    """Whose confirmation DM carries the other's phone number."""
    if booking.contact_mode == "they_call_me":
        return "member"
    if booking.contact_mode == "i_call_them":
        return "mentor"
    return None


class MentorError(PorchlightError):
    """A mentor profile action that cannot be done as asked."""


class BookingError(PorchlightError):
    """A booking action that cannot be done as asked."""


class JobWaker(Protocol):
    """The dispatcher, as far as this service needs it: told to look at the jobs table now."""

    def wake(self) -> None: ...


@dataclass(frozen=True, slots=True)
class BookingPolicy:
    horizon_days: int = 14
    min_notice_hours: float = 12
    buffer_minutes: int = 5


@dataclass(frozen=True, slots=True)
class MentorMatch:
    mentor: Mentor
    slots: list[datetime]  # next free starts, aware UTC
    calls_left_this_week: int


@dataclass(frozen=True, slots=True)
class LeaveResult:
    mentor: Mentor  # status 'left'; roster_message_id still set so the card can be removed
    cancelled: list[Booking]  # tell each member; confirmed ones also get a METHOD:CANCEL invite


@dataclass(frozen=True, slots=True)
class DeclineResult:
    booking: Booking
    alternatives: list[datetime] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DeleteResult:
    cancelled: list[Booking]  # upcoming calls cancelled for the other person's sake, before the rows went
    subjects: list[str]  # effect subjects to run now: take-downs, the other person's cancellation DMs and redactions
    bookings_deleted: int
    profiles_deleted: int


# -- validation helpers ---------------------------------------------------------------------------------------------


def validate_timezone(name: str) -> ZoneInfo:
    """The IANA zone, resolved as everywhere else (services.timezones), or :class:`MentorError` saying what to type."""
    try:
        return resolve_timezone(name)
    except UnknownTimezone as unknown:
        raise MentorError(unknown.message) from None


def normalize_topics(topics: str | Sequence[str]) -> tuple[str, ...]:
    """Comma-separated text (or a list) to lowercase-hyphenated tags, in order, without repeats, at most 8."""
    parts = re.split(r"[,;\n]", clean_text(topics) or "") if isinstance(topics, str) else list(topics)
    tags: list[str] = []
    for part in parts:
        tag = re.sub(r"[^a-z0-9+#]+", "-", (clean_text(part) or "").lower()).strip("-")
        if not tag:
            continue
        if len(tag) > MAX_TOPIC_LENGTH:
            raise MentorError(
                f"Topics are short tags of up to {MAX_TOPIC_LENGTH} characters, like `interviews, career-change, "
                "product-management`. Shorten the long one."
            )
        if tag not in tags:
            tags.append(tag)
    if not tags:
        raise MentorError("Please give at least one topic, comma-separated, e.g. `interviews, resume, fintech`.")
    if len(tags) > MAX_TOPICS:
        raise MentorError(f"You gave {len(tags)} topics; please keep it to {MAX_TOPICS} or fewer.")
    return tuple(tags)


def _contact_mode(value: str) -> str:
    mode = CONTACT_LABELS.get((value or "").strip().lower())
    if mode is None:
        raise MentorError("Choose how calls happen: `you call me`, `I call you` or `Discord voice`.")
    return mode


def _call_minutes(value: int) -> int:
    if value not in CALL_MINUTES:
        raise MentorError("Calls can be 10, 15, 20 or 30 minutes long. Pick one of those.")
    return value


def _weekly_limit(value: int) -> int:
    if not 1 <= value <= 20:
        raise MentorError("The weekly limit is between 1 and 20 calls. Pick a number in that range.")
    return value


def _text(value: str | None, *, name: str, limit: int, required: bool) -> str:
    cleaned = clean_text(value) or ""
    if required and not cleaned:
        raise MentorError(f"Please fill in your {name}.")
    if len(cleaned) > limit:
        raise MentorError(f"Your {name} is {len(cleaned)} characters; please keep it to {limit}.")
    return cleaned


def _needs_mentor_phone(mode: str) -> bool:
    return mode == "they_call_me"


def _tag_matches(query: str, topics: Sequence[str]) -> bool:
    return any(query == tag or query in tag for tag in topics)


def expiry_for(requested_at: datetime, starts_at: datetime, min_notice: timedelta) -> datetime:
    """When an unanswered request lapses; see the module docstring."""
    expires = min(requested_at + ANSWER_WINDOW, starts_at - min_notice)
    floor = min(requested_at + MIN_ANSWER_TIME, starts_at - LAST_ANSWER_BEFORE_START)
    return max(expires, floor)


# -- invites ----------------------------------------------------------------------------------------------------------


def ics_invite(
    booking: Booking, method: Literal["REQUEST", "CANCEL"] = "REQUEST", *, summary: str | None = None
) -> bytes:
    """An iCalendar invite for the call: stable UID per booking, SEQUENCE from the booking, UTC times, METHOD set."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError("method must be REQUEST or CANCEL")
    import icalendar  # here, not at start-up: about 3 MiB that only a confirmed or cancelled call needs

    cal = icalendar.Calendar()
    cal.add("prodid", "-//Porchlight//Commute calls//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = icalendar.Event()
    event.add("uid", f"booking-{booking.id}@{UID_DOMAIN}")
    event.add("sequence", booking.ics_sequence)
    event.add("dtstamp", booking.updated_at)
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("summary", summary or "Porchlight commute call")
    how = {
        "they_call_me": "The member calls the mentor; the number is in your Discord DM from Porchlight.",
        "i_call_them": "The mentor calls the member; the number is in your Discord DM from Porchlight.",
        "discord_voice": "A private Discord voice channel opens 5 minutes before the call.",
    }[booking.contact_mode]
    event.add("description", how)
    event.add("organizer", "mailto:calls@porchlight.invalid", parameters={"CN": "Porchlight"})
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    cal.add_component(event)
    return bytes(cal.to_ical())
