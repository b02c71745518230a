"""What help requests are, without I/O: kinds, limits, settings, the queue card and the checks on what a member
typed. What the commands answer (refusals, outcomes) is in ``_answers.py``; the rules that need the database are in
``_service.py``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum

from services import settings_catalog
from services.help_requests._answers import (
    BodyTooLong,
    Draft,
    EmptyBody,
    UnknownTopic,
    WantsTooLong,
)
from services.text import clean_text
from storage.db import to_epoch
from storage.guilds import GuildConfig
from storage.help_requests import Claim, HelpRequest
from storage.jobs import Job

__all__ = [
    "BODY_LIMIT",
    "CloseReason",
    "DEFAULT_MAX_HELPERS",
    "ESCALATE_JOB",
    "HelpEffect",
    "HelpSettings",
    "IDLE_CLOSE_NOTE",
    "IDLE_JOB",
    "NOTE_LIMIT",
    "ON_CALL_HELPERS",
    "QueueCard",
    "SOURCES",
    "TELL_ASKER_AFTER",
    "THANKS_LIMIT",
    "TOPICS",
    "WANTS_LIMIT",
    "RELAY_LIMIT",
    "REVEAL_REASON_LIMIT",
    "can_close",
    "escalation_key",
    "help_subject",
    "idle_key",
    "queue_card",
    "relative",
    "request_id_of",
]

ESCALATE_JOB = "help.escalate"


class HelpEffect(StrEnum):
    """The Discord side effects of help requests, carried out by ``cogs/help/_effects.py``."""

    THREAD = "help.thread"  # find-or-create the private thread with the asker in it; the request becomes open
    OPENING = "help.opening"  # the thread's opening message
    CARD = "help.card"  # the queue card as the request stands when it runs (posted or edited)
    TELL_ASKER = "help.tell_asker"  # "your thread is ready" by DM, unless the interaction's answer said so
    JOINED = "help.joined"  # add the claiming helper to the thread and say so there
    RELEASED = "help.released"  # say a helper stepped back (or lost the role) and take them out
    CLOSED = "help.closed"  # archive and lock the thread (an idle close says why first)
    FEEDBACK = "help.feedback"  # "Did this help?" by DM
    REOPENED = "help.reopened"  # unarchive and tell the helpers
    ESCALATED = "help.escalated"  # re-post the card with the roles mentioned; remove the old card
    ESCALATION_DM = "help.escalation_dm"  # tell the asker helpers were asked again
    IDLE_ASK = "help.idle_ask"  # "Is this sorted?" in the thread
    GONE_DM = "help.gone_dm"  # the thread was deleted by staff: tell the asker
    ON_CALL_DM = "help.on_call_dm"  # tell an on-call helper whose topics match that a new request is waiting
    ANON_DM = "help.anon_dm"  # an anonymous request is open: tell its asker how replies reach them (Close, Reveal)
    RELAY = "help.relay"  # carry one relay (help_relays row): a helper's reply by DM, or the asker's DM to the thread
    RELAY_ACK = "help.relay_ack"  # tell the asker their words reached the thread
    REVEALED = "help.revealed"  # the asker showed their name: add them to the thread and say so there
    REVEAL_DM = "help.reveal_dm"  # a moderator looked up who asked: tell the asker, with the reason


TELL_ASKER_AFTER = timedelta(minutes=1)
ON_CALL_HELPERS = 2  # on-call helpers DMed about a new request whose topic they take


def help_subject(request_id: int) -> str:
    return f"help:{request_id}"


IDLE_JOB = "help.idle_check"

BODY_LIMIT = 1500
WANTS_LIMIT = 200
NOTE_LIMIT = 500
THANKS_LIMIT = 1000
RELAY_LIMIT = 1800  # a relayed message, so it fits in one Discord message with its header
REVEAL_REASON_LIMIT = 500

TOPICS: dict[str, str] = {
    "resume": "Resume",
    "interviews": "Interviews",
    "networking": "Networking",
    "applications": "Applications",
    "offers": "Offers",
    "career-change": "Career change",
    "motivation": "Motivation",
    "other": "Other",
}
SOURCES = frozenset({"ask", "checkin", "reach_out"})

DEFAULT_MAX_HELPERS = 2

IDLE_CLOSE_NOTE = "Closed after a few quiet days with no answer to “Is this sorted?”."


class CloseReason(StrEnum):
    ASKER = "asker"
    HELPER = "helper"
    MODERATOR = "moderator"
    IDLE = "idle"
    THREAD_DELETED = "thread_deleted"
    ASKER_LEFT = "asker_left"


# Reasons after which the thread is gone or nobody is there to reopen it.
_NOT_REOPENABLE = frozenset({CloseReason.THREAD_DELETED, CloseReason.ASKER_LEFT})


# -- settings --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HelpSettings:
    """Per-server settings (``guild_config.settings``) with their defaults. Values that make no sense fall back."""

    max_open_requests: int = 2
    request_cooldown_minutes: int = 10
    max_helpers: int = DEFAULT_MAX_HELPERS
    escalate_after_hours: int = 4
    moderator_escalate_after_hours: int = 24
    idle_days: int = 3
    idle_close_after_days: int = 2
    reopen_days: int = 7
    show_asker_in_queue: bool = False
    max_claims_per_helper: int = 3  # active claims one helper may hold at once, so nobody burns out
    anonymous_asks: bool = True  # /ask and the check-in offer "Don't show my name to helpers"

    @classmethod
    def of(cls, config: GuildConfig | None) -> HelpSettings:
        flags = {"show_asker_in_queue", "anonymous_asks"}
        numbers = {f.name: settings_catalog.number(config, f.name) for f in fields(cls) if f.name not in flags}
        return cls(
            **numbers,
            show_asker_in_queue=settings_catalog.flag(config, "show_asker_in_queue"),
            anonymous_asks=settings_catalog.flag(config, "anonymous_asks"),
        )


def relative(instant: datetime) -> str:
    """Discord timestamp markup: each viewer sees "in 5 minutes" in their own terms."""
    return f"<t:{to_epoch(instant)}:R>"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True, slots=True)
class QueueCard:
    """What the helper queue shows about a request. The asker appears only when the server opted in."""

    request_id: int
    number: int
    topic: str
    topic_label: str
    wants: str | None
    created_at: datetime
    age: str  # <t:EPOCH:R>
    status: str  # pending_thread | waiting | claimed | full | closed
    status_text: str
    helper_ids: tuple[int, ...]
    helper_count: int
    max_helpers: int
    asker_id: int | None
    escalation_level: int
    waiting_for: timedelta | None  # how long it has had no helper; None while claimed or closed
    thread_id: int | None
    anonymous: bool = False  # the asker's name is hidden from helpers: replies go through Porchlight


# -- pure rules ------------------------------------------------------------------------------------------------------


def can_close(request: HelpRequest, user_id: int, is_moderator: bool, is_helper_in_thread: bool) -> bool:
    """The asker, a helper who holds the request, or a moderator may close it."""
    return is_moderator or is_helper_in_thread or (request.asker_id is not None and request.asker_id == user_id)


_CLOSED_TEXT = {
    CloseReason.ASKER: "Closed by the member",
    CloseReason.HELPER: "Closed by a helper",
    CloseReason.MODERATOR: "Closed by a moderator",
    CloseReason.IDLE: "Closed after a quiet spell",
    CloseReason.THREAD_DELETED: "Closed — the thread was deleted",
    CloseReason.ASKER_LEFT: "Closed — the member left the server",
}


def queue_card(
    request: HelpRequest,
    helpers: list[Claim],
    now: datetime,
    show_asker: bool,
    *,
    max_helpers: int = DEFAULT_MAX_HELPERS,
) -> QueueCard:
    helper_ids = tuple(c.helper_id for c in helpers if c.active and c.helper_id is not None)
    count = len(helper_ids)
    waiting_for: timedelta | None = None
    if request.status == "closed":
        status = "closed"
        status_text = (
            _CLOSED_TEXT.get(CloseReason(request.close_reason), "Closed") if request.close_reason else "Closed"
        )
        if request.hides_asker and request.close_reason == CloseReason.ASKER_LEFT:
            status_text = "Closed"  # "the member left" next to a server's leave notice would name them
    elif request.status == "pending_thread":
        status = "pending_thread"
        status_text = "Waiting for its private thread (the bot is missing a permission in the help channel)"
    elif count == 0:
        status = "waiting"
        status_text = "Waiting for a helper"
        if request.escalation_level == 1:
            status_text += " — helpers asked again"
        elif request.escalation_level >= 2:
            status_text += " — helpers and moderators asked again"
        since = request.awaiting_since or request.created_at
        waiting_for = max(now - since, timedelta(0))
    elif count >= max_helpers:
        status = "full"
        status_text = f"Claimed by {_plural(count, 'helper')} (full)"
    else:
        status = "claimed"
        status_text = f"Claimed by {_plural(count, 'helper')} (room for {max_helpers - count} more)"
    return QueueCard(
        request_id=request.id,
        number=request.number,
        topic=request.topic,
        topic_label=TOPICS.get(request.topic, request.topic),
        wants=request.wants,
        created_at=request.created_at,
        age=relative(request.created_at),
        status=status,
        status_text=status_text,
        helper_ids=helper_ids,
        helper_count=count,
        max_helpers=max_helpers,
        asker_id=request.asker_id if show_asker and not request.hides_asker else None,
        escalation_level=request.escalation_level,
        waiting_for=waiting_for,
        thread_id=request.thread_id,
        anonymous=request.hides_asker,
    )


def request_id_of(job: Job) -> int:
    """The request a help job is about (payloads carry ids only)."""
    return int(job.payload["request_id"])


def escalation_key(request_id: int, level: int, since: datetime) -> str:
    return f"{ESCALATE_JOB}:{request_id}:{level}:{to_epoch(since)}"


def idle_key(request_id: int, due_at: datetime) -> str:
    return f"{IDLE_JOB}:{request_id}:{to_epoch(due_at)}"


def _validate(topic: str, body: str | None, wants: str | None) -> Draft:
    clean_body = clean_text(body)
    clean_wants = clean_text(wants)
    draft = Draft(topic=topic, body=clean_body or "", wants=clean_wants)
    if topic not in TOPICS:
        raise UnknownTopic(f"Pick one of these topics: {', '.join(TOPICS)}.", draft)
    if clean_body is None:
        raise EmptyBody(
            "Tell us a little about what's going on — the first box can't be empty. A sentence or two is enough.",
            draft,
        )
    if len(clean_body) > BODY_LIMIT:
        raise BodyTooLong(
            f"“What's going on?” is {len(clean_body)} characters; the limit is {BODY_LIMIT}. Shorten it a little "
            "(“Edit my answers” brings your text back) and add the rest in the thread once it opens.",
            draft,
        )
    if clean_wants is not None and len(clean_wants) > WANTS_LIMIT:
        raise WantsTooLong(
            f"“What would help most?” is {len(clean_wants)} characters; the limit is {WANTS_LIMIT}. Keep it to a "
            "line (“Edit my answers” brings your text back) — the details belong in the first box.",
            draft,
        )
    return draft


def _where(request: HelpRequest) -> str:
    return f"<#{request.thread_id}>" if request.thread_id is not None else f"#{request.number}"


# -- the service -----------------------------------------------------------------------------------------------------


def _ids(claims: list[Claim]) -> tuple[int, ...]:
    return tuple(c.helper_id for c in claims if c.helper_id is not None)


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()
