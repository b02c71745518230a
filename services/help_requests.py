"""Private help requests: the rules behind /ask, the helper queue, claims, /close, reopening, the unanswered
safety net (escalation) and idle closing. No Discord here: the cogs create threads and render what this returns.

Decisions:
- Find-or-create: a modal submission carries a ``submit_key`` (the interaction's custom id or id). The same key from
  the same member in the same server returns the stored request with ``created=False``; keys are scoped to the
  member so a key can never hand back somebody else's request.
- Numbers (#12) count per server and come from a counter row taken in the same BEGIN IMMEDIATE transaction as the
  insert, never from max+1.
- Limits: ``body`` is required and at most 1500 characters (the modal's paragraph field); ``wants`` ("What would
  help most?", the short field) is optional and at most 200 characters, because it is shown on the queue card.
  Whitespace-only text counts as empty.
- Refusals lose nothing without keeping anything: a refused submission is not stored (the member never agreed to
  keeping a draft), and every refusal raised by :meth:`HelpRequestService.open_request` carries the member's text
  as ``error.draft``, so the Discord layer can show it back for copying. :meth:`HelpRequestService.check_can_ask`
  runs the same configuration, limit and cooldown checks before the modal is shown, so in the usual case the
  member learns about a limit before typing anything.
- The limit counts requests that are not closed, including those still waiting for their thread. The cooldown runs
  from the member's latest request in the server, whatever its state.
- A request is stored as ``pending_thread``; :meth:`attach_thread` makes it ``open``. When the thread cannot be
  created (missing permission) the request stays ``pending_thread`` and :meth:`pending_threads` lists it for the
  retry once the permission is fixed. Escalation is armed by ``attach_thread``, counted from creation, because
  before that there is no queue card to re-post.
- Escalation ("help.escalate") counts from ``awaiting_since``: creation, the moment the last helper released, or a
  reopen without helpers. Level 1 (helper role) after ``escalate_after_hours`` (4), level 2 (helper and moderator
  roles) after ``moderator_escalate_after_hours`` (24). Claiming cancels both jobs. A level is applied once: after
  downtime a late job applies the highest level due, and the other job finds nothing to do. Escalation never
  closes anything.
- Idle ("help.idle_check") only watches requests a helper holds. An unclaimed request is never idle-closed: the
  escalation path is its safety net. No activity for ``idle_days`` (3): ask "Is this sorted?"; no activity for
  ``idle_close_after_days`` (2) more: close with reason ``idle``. Activity is one cheap UPDATE per message
  (:meth:`record_activity`); the idle job re-arms itself from the stored activity time instead of every message
  rescheduling a job. The Discord layer must not report the bot's own messages as activity (the "Is this sorted?"
  message would answer itself).
- Job keys are per occurrence (``help.escalate:<id>:<level>:<since>``, ``help.idle_check:<id>:<due>``) because a
  running job's key cannot be taken over, and the idle job schedules its successor while it runs. Jobs carry ids
  only; the asker is the job's ``user_id`` so /privacy delete finds them. Jobs are scheduled after the request is
  committed; :meth:`rearm_jobs` repairs a chain broken by a crash in between (call it at start-up).
- Claims stay on a request when it closes (they say who helped, and the helpers are back if it is reopened).
  Closing is idempotent. The close note is member-written, so it is returned for the thread, never stored.
- Reopening: only the asker, within ``reopen_days`` (7) of the close, not when the thread was deleted or the asker
  had left, and within the open-request limit. A reopen forgets the previous close and its feedback.
- Discord side effects (the thread, its opening message, the queue card, posts in the thread, DMs) are recorded as
  effects (``services/effects.py``) in the same transaction as the change that implies them, under the subject
  ``help:<id>``; the Discord layer carries them out once, in order. A new request's "your thread is ready" DM waits
  a minute and is cancelled when the member was told in the interaction's own answer
  (:meth:`HelpRequestService.asker_told`), so a crash or a Discord hiccup before that answer still tells them.
- /privacy delete closes the member's live requests, blanks body, wants and submit key and unlinks the rows from
  them (``asker_id`` NULL); claims they made as a helper are released and unlinked. Anonymous counts remain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import aiosqlite

from services.clock import Clock
from services.effects import Outbox
from services.errors import NotConfigured, PorchlightError
from services.jobs import JobDispatcher
from services.text import clean_text
from storage import guilds
from storage import help_requests as store
from storage import jobs as jobs_store
from storage.db import Database, to_epoch
from storage.guilds import GuildConfig
from storage.help_requests import Claim, HelpRequest
from storage.jobs import DuplicateJob, Job

log = logging.getLogger(__name__)

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


TELL_ASKER_AFTER = timedelta(minutes=1)


def help_subject(request_id: int) -> str:
    return f"help:{request_id}"


IDLE_JOB = "help.idle_check"

BODY_LIMIT = 1500
WANTS_LIMIT = 200
NOTE_LIMIT = 500
THANKS_LIMIT = 1000

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

    @classmethod
    def of(cls, config: GuildConfig | None) -> HelpSettings:
        default = cls()
        if config is None:
            return default

        def number(name: str, minimum: int) -> int:
            value = config.setting(name, getattr(default, name))
            if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
                return int(getattr(default, name))
            return int(value)

        show = config.setting("show_asker_in_queue", default.show_asker_in_queue)
        return cls(
            max_open_requests=number("max_open_requests", 1),
            request_cooldown_minutes=number("request_cooldown_minutes", 0),
            max_helpers=number("max_helpers", 1),
            escalate_after_hours=number("escalate_after_hours", 1),
            moderator_escalate_after_hours=number("moderator_escalate_after_hours", 1),
            idle_days=number("idle_days", 1),
            idle_close_after_days=number("idle_close_after_days", 1),
            reopen_days=number("reopen_days", 0),
            show_asker_in_queue=show if isinstance(show, bool) else default.show_asker_in_queue,
        )


# -- errors ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """What the member typed, handed back with a refusal so they never have to retype it."""

    topic: str
    body: str
    wants: str | None


class HelpRequestRefused(PorchlightError):
    """A refusal of the help-request feature. ``draft`` is the member's text when the refusal came at submit."""

    def __init__(self, message: str, draft: Draft | None = None) -> None:
        super().__init__(message)
        self.draft = draft


class HelpNotConfigured(HelpRequestRefused, NotConfigured):
    pass


class UnknownTopic(HelpRequestRefused):
    pass


class EmptyBody(HelpRequestRefused):
    pass


class BodyTooLong(HelpRequestRefused):
    pass


class WantsTooLong(HelpRequestRefused):
    pass


class TooManyOpen(HelpRequestRefused):
    pass


class Cooldown(HelpRequestRefused):
    def __init__(self, message: str, until: datetime, draft: Draft | None = None) -> None:
        super().__init__(message, draft)
        self.until = until


class RequestNotFound(HelpRequestRefused):
    pass


class NotAHelper(HelpRequestRefused):
    pass


class OwnRequest(HelpRequestRefused):
    pass


class RequestClosed(HelpRequestRefused):
    pass


class RequestNotReady(HelpRequestRefused):
    pass


class HelpersFull(HelpRequestRefused):
    pass


class CloseRefused(HelpRequestRefused):
    pass


class ReopenRefused(HelpRequestRefused):
    pass


class FeedbackRefused(HelpRequestRefused):
    pass


class TextTooLong(HelpRequestRefused):
    pass


def relative(instant: datetime) -> str:
    """Discord timestamp markup: each viewer sees "in 5 minutes" in their own terms."""
    return f"<t:{to_epoch(instant)}:R>"


def _not_found() -> RequestNotFound:
    return RequestNotFound(
        "I can't find that help request any more — it may have been deleted. Use /help-queue to see open requests, "
        "or /ask to start a new one."
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# -- outcomes --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenOutcome:
    request: HelpRequest
    created: bool  # False: the same submission was already stored (retry or double submit)


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    request: HelpRequest
    claim: Claim
    already: bool  # the helper already held it (double click): nothing changed
    first_claim: bool  # the request had no helper before this claim
    helper_ids: tuple[int, ...]  # everyone holding it now, first claim first


@dataclass(frozen=True, slots=True)
class ReleaseOutcome:
    request: HelpRequest
    released: bool  # False: the helper held no claim
    helper_ids: tuple[int, ...]  # who still holds it
    unclaimed: bool  # nobody holds it now, so it is waiting (and escalation is armed again)


@dataclass(frozen=True, slots=True)
class CloseOutcome:
    request: HelpRequest
    already_closed: bool
    helper_ids: tuple[int, ...]  # helpers holding it when it closed
    note: str | None  # for the closing message in the thread; not stored


@dataclass(frozen=True, slots=True)
class ReopenOutcome:
    request: HelpRequest
    already_open: bool


@dataclass(frozen=True, slots=True)
class FeedbackOutcome:
    request: HelpRequest
    forward_to: tuple[int, ...]  # helpers to DM the thank-you to (empty without a thank-you)
    thanks: str | None


class IdleAction(StrEnum):
    NONE = "none"  # nothing to do now (active, unclaimed, closed, or not yet due)
    ASK = "ask"  # post "Is this sorted?" with Resolved / Still need help in the thread
    CLOSE = "close"  # it was closed as idle: archive and lock, update the card, DM the asker


@dataclass(frozen=True, slots=True)
class IdleOutcome:
    action: IdleAction
    request: HelpRequest | None
    closed: CloseOutcome | None = None
    next_check_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Escalation:
    """Re-post the queue card (delete the old one), mention these roles in the queue channel, DM the asker."""

    request: HelpRequest
    level: int  # 1: helpers asked again; 2: moderators asked too
    previous_level: int
    mention_role_ids: tuple[int, ...]
    notify_asker: bool


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
        asker_id=request.asker_id if show_asker else None,
        escalation_level=request.escalation_level,
        waiting_for=waiting_for,
        thread_id=request.thread_id,
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


class HelpRequestService:
    def __init__(self, db: Database, dispatcher: JobDispatcher, clock: Clock) -> None:
        self.db = db
        self.dispatcher = dispatcher
        self.clock = clock
        self.outbox = Outbox(db, dispatcher, clock)

    # -- settings and lookups --

    async def settings(self, guild_id: int) -> HelpSettings:
        return HelpSettings.of(await guilds.get_config(self.db.conn, guild_id))

    async def get(self, request_id: int) -> HelpRequest | None:
        return await store.get(self.db.conn, request_id)

    async def by_thread(self, thread_id: int) -> HelpRequest | None:
        return await store.get_by_thread(self.db.conn, thread_id)

    async def helpers(self, request_id: int) -> list[Claim]:
        """Helpers holding the request now, first claim first."""
        return await store.active_claims(self.db.conn, request_id)

    async def open_requests(self, guild_id: int) -> list[HelpRequest]:
        """Open requests (with a thread), oldest first, for /help-queue."""
        return await store.with_status(self.db.conn, guild_id, "open")

    async def pending_threads(self, guild_id: int) -> list[HelpRequest]:
        """Requests stored whose thread could not be created yet, oldest first: create them once permitted."""
        return await store.with_status(self.db.conn, guild_id, "pending_thread")

    async def live_requests(self, guild_id: int | None = None) -> list[HelpRequest]:
        """Requests that are not closed (for the reconciliation pass against Discord)."""
        return await store.live(self.db.conn, guild_id)

    async def queue(self, guild_id: int) -> list[QueueCard]:
        """The cards of /help-queue: open requests, oldest first, with claim state."""
        settings = await self.settings(guild_id)
        requests = await self.open_requests(guild_id)
        claims = await store.active_claims_for(self.db.conn, [r.id for r in requests])
        now = self.clock.now()
        return [
            queue_card(r, claims[r.id], now, settings.show_asker_in_queue, max_helpers=settings.max_helpers)
            for r in requests
        ]

    async def card(self, request_id: int) -> QueueCard:
        """The queue card of one request as it stands now (after a claim, a close, a reconciliation...)."""
        request = await self.get(request_id)
        if request is None:
            raise _not_found()
        settings = await self.settings(request.guild_id)
        helpers = await self.helpers(request_id)
        return queue_card(
            request, helpers, self.clock.now(), settings.show_asker_in_queue, max_helpers=settings.max_helpers
        )

    # -- asking --

    async def _check_can_ask(
        self, conn: aiosqlite.Connection, guild_id: int, asker_id: int, draft: Draft | None
    ) -> HelpSettings:
        config = await guilds.get_config(conn, guild_id)
        if config is None or config.help_channel_id is None or config.queue_channel_id is None:
            raise HelpNotConfigured(
                "Help requests aren't set up on this server yet — a moderator needs to run /setup channels.", draft
            )
        settings = HelpSettings.of(config)
        live = await store.live_for_asker(conn, guild_id, asker_id)
        if len(live) >= settings.max_open_requests:
            where = ", ".join(_where(r) for r in live)
            raise TooManyOpen(
                f"You already have {_plural(len(live), 'open help request')} ({where}) — the most this server "
                f"allows at once is {settings.max_open_requests}. Add to an open thread, or close one with /close "
                "inside its thread, then ask again.",
                draft,
            )
        latest = await store.latest_for_asker(conn, guild_id, asker_id)
        if latest is not None:
            until = latest.created_at + timedelta(minutes=settings.request_cooldown_minutes)
            if self.clock.now() < until:
                raise Cooldown(
                    f"You opened a help request a moment ago. You can open another {relative(until)} — until then, "
                    f"add anything new in {_where(latest)}.",
                    until,
                    draft,
                )
        return settings

    async def check_can_ask(self, guild_id: int, asker_id: int) -> HelpSettings:
        """The checks of :meth:`open_request` that do not need the text: run them before showing the modal."""
        return await self._check_can_ask(self.db.conn, guild_id, asker_id, None)

    async def open_request(
        self,
        guild_id: int,
        asker_id: int,
        topic: str,
        body: str | None,
        wants: str | None,
        submit_key: str | None,
        source: str = "ask",
    ) -> OpenOutcome:
        """Find-or-create a request in ``pending_thread``; the Discord layer then creates the thread and calls
        :meth:`attach_thread`. Refusals carry the member's text as ``error.draft``."""
        if source not in SOURCES:
            raise ValueError(f"unknown help request source {source!r}")
        draft = _validate(topic, body, wants)
        key = clean_text(submit_key)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if key is not None:
                existing = await store.get_by_submit_key(conn, guild_id=guild_id, asker_id=asker_id, submit_key=key)
                if existing is not None:
                    return OpenOutcome(existing, created=False)
            await self._check_can_ask(conn, guild_id, asker_id, draft)
            request = await store.insert(
                conn,
                guild_id=guild_id,
                asker_id=asker_id,
                topic=topic,
                body=draft.body,
                wants=draft.wants,
                source=source,
                submit_key=key,
                now=now,
            )
            for effect in (HelpEffect.THREAD, HelpEffect.OPENING, HelpEffect.CARD):
                await self._effect(conn, request, effect)
            await self._effect(conn, request, HelpEffect.TELL_ASKER, delay=TELL_ASKER_AFTER)
        log.info("help request opened id=%d guild_id=%d number=%d", request.id, guild_id, request.number)
        return OpenOutcome(request, created=True)

    async def asker_told(self, request_id: int) -> None:
        """The interaction's own answer gave the member their thread: the fallback DM is not needed."""
        async with self.db.transaction() as conn:
            await self.outbox.cancel(conn, help_subject(request_id), HelpEffect.TELL_ASKER)

    async def attach_thread(self, request_id: int, thread_id: int, queue_message_id: int | None) -> HelpRequest:
        """The private thread exists (and the queue card, when posted): the request is ``open``; escalation is
        armed, counted from when the member asked."""
        async with self.db.transaction() as conn:
            try:
                request = await store.attach_thread(
                    conn, request_id, thread_id=thread_id, queue_message_id=queue_message_id
                )
            except store.ThreadAlreadyAttached:
                raise ValueError(f"thread {thread_id} already belongs to another help request") from None
            if request is None:
                existing = await store.get(conn, request_id)
        if request is None:
            if existing is None:
                raise _not_found()
            raise RequestClosed(
                f"Request #{existing.number} was closed before its thread opened. Use /ask to start a new one."
            )
        await self._arm_escalation(request)
        log.info("help request thread attached id=%d", request.id)
        return request

    async def set_queue_message(self, request_id: int, queue_message_id: int | None) -> HelpRequest:
        """The queue card was re-posted (escalation) or could not be posted (None)."""
        async with self.db.transaction() as conn:
            request = await store.set_queue_message(conn, request_id, queue_message_id)
        if request is None:
            raise _not_found()
        return request

    # -- claims --

    async def claim(self, request_id: int, helper_id: int, is_helper: bool) -> ClaimOutcome:
        if not is_helper:
            raise NotAHelper(
                "Only members with the server's helper role can claim requests. If you'd like to help, ask a "
                "moderator for the role."
            )
        now = self.clock.now()
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            if request.status == "closed":
                raise RequestClosed(f"Request #{request.number} is already closed. Pick another from /help-queue.")
            if request.status == "pending_thread":
                raise RequestNotReady(
                    f"Request #{request.number} has no thread yet (the bot is missing a permission in the help "
                    "channel). A moderator can fix it with /setup check; try again then."
                )
            if request.asker_id == helper_id:
                raise OwnRequest("That's your own request — another helper will pick it up. Pick another one.")
            claims = await store.active_claims(conn, request_id)
            mine = next((c for c in claims if c.helper_id == helper_id), None)
            if mine is not None:
                return ClaimOutcome(request, mine, already=True, first_claim=False, helper_ids=_ids(claims))
            settings = HelpSettings.of(await guilds.get_config(conn, request.guild_id))
            if len(claims) >= settings.max_helpers:
                raise HelpersFull(
                    f"Request #{request.number} already has {_plural(len(claims), 'helper')}, the most this server "
                    "allows. It's in good hands — pick another from /help-queue."
                )
            first_claim = not claims
            try:
                claim = await store.insert_claim(conn, request_id, helper_id, now=now)
            except store.ClaimExists:  # pragma: no cover - the read above runs in the same write transaction
                claims = await store.active_claims(conn, request_id)
                mine = next(c for c in claims if c.helper_id == helper_id)
                return ClaimOutcome(request, mine, already=True, first_claim=False, helper_ids=_ids(claims))
            updated = await store.mark_claimed(conn, request_id, now=now)
            assert updated is not None
            claims.append(claim)
            await self._effect(conn, updated, HelpEffect.JOINED, args={"helper_id": helper_id})
            await self._effect(conn, updated, HelpEffect.CARD)
        if request.awaiting_since is not None:
            await self._cancel_jobs(request, ESCALATE_JOB)
        await self._arm_idle(updated, idle_days=settings.idle_days)
        log.info("help request claimed id=%d helper_id=%d helpers=%d", request_id, helper_id, len(claims))
        return ClaimOutcome(updated, claim, already=False, first_claim=first_claim, helper_ids=_ids(claims))

    async def release(self, request_id: int, helper_id: int, *, why: str | None = "released") -> ReleaseOutcome:
        """The helper steps back. When nobody holds an open request any more, it waits again and escalation is
        re-armed from now. ``why`` is what the thread is told ("released", "lost_role"); None when the helper
        never got in (adding them failed), so nothing is said."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            released = await store.release_claim(conn, request_id, helper_id, now=now)
            remaining = await store.active_claims(conn, request_id)
            unclaimed = released and not remaining and request.status == "open"
            if unclaimed:
                marked = await store.mark_awaiting(conn, request_id, since=now)
                assert marked is not None
                request = marked
            if released:
                if why is None:
                    await self.outbox.cancel(conn, help_subject(request_id), HelpEffect.JOINED)
                elif request.status == "open":
                    args = {"helper_id": helper_id, "why": why, "unclaimed": unclaimed}
                    await self._effect(conn, request, HelpEffect.RELEASED, args=args)
                await self._effect(conn, request, HelpEffect.CARD)
        if unclaimed:
            await self._cancel_jobs(request, IDLE_JOB)
            await self._arm_escalation(request)
        if released:
            log.info("help request released id=%d helper_id=%d helpers=%d", request_id, helper_id, len(remaining))
        return ReleaseOutcome(request, released, _ids(remaining), unclaimed=not remaining and request.status == "open")

    # -- closing and reopening --

    def can_close(self, request: HelpRequest, user_id: int, is_moderator: bool, is_helper_in_thread: bool) -> bool:
        return can_close(request, user_id, is_moderator, is_helper_in_thread)

    async def close(
        self, request_id: int, by_user_id: int | None, reason: CloseReason | str, note: str | None = None
    ) -> CloseOutcome:
        """Close the request (idempotent: closing a closed request changes nothing and says ``already_closed``).
        Permission is the caller's business; :meth:`close_as_member` checks it for /close and the Close button."""
        why = CloseReason(reason)
        clean_note = clean_text(note)
        if clean_note is not None and len(clean_note) > NOTE_LIMIT:
            raise TextTooLong(f"The note is {len(clean_note)} characters; keep it under {NOTE_LIMIT}.")
        async with self.db.transaction() as conn:
            closed = await store.close(conn, request_id, by_user_id=by_user_id, reason=why.value, now=self.clock.now())
            request = closed or await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            claims = await store.active_claims(conn, request_id)
            if closed is not None:
                await self._closing_effects(conn, closed, why)
        if closed is not None:
            await self._cancel_jobs(request, ESCALATE_JOB)
            await self._cancel_jobs(request, IDLE_JOB)
            log.info("help request closed id=%d reason=%s", request_id, why.value)
        return CloseOutcome(request, already_closed=closed is None, helper_ids=_ids(claims), note=clean_note)

    async def close_as_member(
        self, request_id: int, user_id: int, *, is_moderator: bool, note: str | None = None
    ) -> CloseOutcome:
        """/close or the Close button: the asker, a helper holding the request, or a moderator; others refused."""
        request = await self.get(request_id)
        if request is None:
            raise _not_found()
        claims = await self.helpers(request_id)
        is_helper_in_thread = any(c.helper_id == user_id for c in claims)
        if not can_close(request, user_id, is_moderator, is_helper_in_thread):
            raise CloseRefused(
                f"Only the member who asked, a helper who claimed it, or a moderator can close request "
                f"#{request.number}. To help, claim it from the helper queue first."
            )
        if request.asker_id == user_id:
            reason = CloseReason.ASKER
        elif is_helper_in_thread:
            reason = CloseReason.HELPER
        else:
            reason = CloseReason.MODERATOR
        return await self.close(request_id, user_id, reason, note)

    async def reopen(self, request_id: int, user_id: int) -> ReopenOutcome:
        """The asker reopens a closed request within ``reopen_days``; the Discord layer unarchives the thread."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            if request.asker_id != user_id:
                raise ReopenRefused(
                    f"Only the member who asked can reopen request #{request.number}. Use /ask to start your own."
                )
            if request.status != "closed":
                return ReopenOutcome(request, already_open=True)
            if request.thread_id is None or request.close_reason in _NOT_REOPENABLE:
                raise ReopenRefused(
                    f"The thread of request #{request.number} is gone, so it can't be reopened. Use /ask to start a "
                    f"new request — mention #{request.number} so helpers know the background."
                )
            settings = HelpSettings.of(await guilds.get_config(conn, request.guild_id))
            assert request.closed_at is not None
            if now > request.closed_at + timedelta(days=settings.reopen_days):
                raise ReopenRefused(
                    f"Request #{request.number} closed more than {_plural(settings.reopen_days, 'day')} ago, so it "
                    f"can't be reopened. Use /ask to start a new one — mention #{request.number} so helpers know "
                    "the background."
                )
            live = await store.live_for_asker(conn, request.guild_id, user_id)
            if len(live) >= settings.max_open_requests:
                raise TooManyOpen(
                    f"You already have {_plural(len(live), 'open help request')} "
                    f"({', '.join(_where(r) for r in live)}) — the most this server allows at once is "
                    f"{settings.max_open_requests}. Close one with /close inside its thread, then reopen this one."
                )
            claims = await store.active_claims(conn, request_id)
            reopened = await store.reopen(conn, request_id, now=now, awaiting=not claims)
            assert reopened is not None
            await self._effect(conn, reopened, HelpEffect.REOPENED)
            await self._effect(conn, reopened, HelpEffect.CARD)
        if claims:
            await self._arm_idle(reopened, idle_days=settings.idle_days)
        else:
            await self._arm_escalation(reopened)
        log.info("help request reopened id=%d", request_id)
        return ReopenOutcome(reopened, already_open=False)

    async def record_feedback(
        self, request_id: int, user_id: int, helped: bool, thanks: str | None = None
    ) -> FeedbackOutcome:
        """The asker's answer to "Did this help?" (the last answer counts). A thank-you is not stored: it is
        returned with the helpers to forward it to by DM."""
        clean_thanks = clean_text(thanks)
        if thanks is not None and clean_thanks is None:
            raise TextTooLong("The thank-you came through empty, so nothing was sent. Write a few words and send it.")
        if clean_thanks is not None and len(clean_thanks) > THANKS_LIMIT:
            raise TextTooLong(
                f"The thank-you is {len(clean_thanks)} characters; keep it under {THANKS_LIMIT} so it fits in a DM."
            )
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            if request.asker_id != user_id:
                raise FeedbackRefused("Only the member who asked can answer this.")
            if request.status != "closed":
                raise FeedbackRefused(
                    f"Request #{request.number} is open again, so there's nothing to rate yet — close it with /close "
                    "when you're done."
                )
            updated = await store.set_feedback(conn, request_id, "yes" if helped else "no")
            assert updated is not None
            claims = await store.claims(conn, request_id)
        forward: tuple[int, ...] = ()
        if clean_thanks is not None:
            forward = tuple(dict.fromkeys(c.helper_id for c in claims if c.helper_id is not None))
        log.info("help request feedback id=%d helped=%s", request_id, helped)
        return FeedbackOutcome(updated, forward, clean_thanks)

    # -- activity, idle and escalation --

    async def record_activity(self, thread_id: int, at: datetime | None = None) -> bool:
        """A member's message in a help thread (gateway MESSAGE_CREATE; not the bot's own). False when the thread
        is not an open help request, so the caller can ignore other threads cheaply."""
        async with self.db.transaction() as conn:
            return await store.touch_activity(conn, thread_id, at or self.clock.now())

    async def idle_check(self, request_id: int) -> IdleOutcome:
        """Run by the "help.idle_check" job: ask "Is this sorted?", close as idle, or re-arm for later."""
        now = self.clock.now()
        closed: HelpRequest | None = None
        next_at: datetime | None = None
        action = IdleAction.NONE
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None or request.status != "open":
                return IdleOutcome(IdleAction.NONE, request)
            claims = await store.active_claims(conn, request_id)
            if not claims:
                return IdleOutcome(IdleAction.NONE, request)  # unclaimed: escalation is its safety net
            settings = HelpSettings.of(await guilds.get_config(conn, request.guild_id))
            if request.idle_asked_at is None:
                due = request.last_activity_at + timedelta(days=settings.idle_days)
                if now < due:
                    next_at = due
                else:
                    asked = await store.set_idle_asked(conn, request_id, now)
                    assert asked is not None
                    request = asked
                    action = IdleAction.ASK
                    await self._effect(conn, request, HelpEffect.IDLE_ASK)
                    next_at = now + timedelta(days=settings.idle_close_after_days)
            else:
                due = request.idle_asked_at + timedelta(days=settings.idle_close_after_days)
                if now < due:
                    next_at = due
                else:
                    closed = await store.close(
                        conn, request_id, by_user_id=None, reason=CloseReason.IDLE.value, now=now
                    )
                    assert closed is not None
                    request = closed
                    action = IdleAction.CLOSE
                    await self._closing_effects(conn, closed, CloseReason.IDLE)
        if closed is not None:
            await self._cancel_jobs(closed, ESCALATE_JOB)
            log.info("help request closed id=%d reason=idle", request_id)
            outcome = CloseOutcome(closed, already_closed=False, helper_ids=_ids(claims), note=IDLE_CLOSE_NOTE)
            return IdleOutcome(IdleAction.CLOSE, closed, closed=outcome)
        if next_at is not None:
            await self._schedule_idle(request, next_at)
        if action is IdleAction.ASK:
            log.info("help request idle ask id=%d", request_id)
        return IdleOutcome(action, request, next_check_at=next_at)

    async def escalate(self, request_id: int) -> Escalation | None:
        """Run by the "help.escalate" jobs: the level due for a request still waiting for a helper, and whom to
        mention in the queue channel. None when there is nothing to do (claimed, closed, not due, already
        applied). Never closes anything."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None or request.status != "open" or request.awaiting_since is None:
                return None
            if await store.active_claims(conn, request_id):
                return None
            config = await guilds.get_config(conn, request.guild_id)
            settings = HelpSettings.of(config)
            waited = now - request.awaiting_since
            level = 0
            if waited >= timedelta(hours=settings.moderator_escalate_after_hours):
                level = 2
            elif waited >= timedelta(hours=settings.escalate_after_hours):
                level = 1
            if level <= request.escalation_level:
                return None
            raised = await store.raise_escalation(conn, request_id, level)
            if raised is None:
                return None
            roles: list[int] = []
            if config is not None and config.helper_role_id is not None:
                roles.append(config.helper_role_id)
            if level >= 2 and config is not None and config.moderator_role_id is not None:
                roles.append(config.moderator_role_id)
            args = {"level": level, "previous": request.escalation_level, "roles": roles}
            await self._effect(conn, raised, HelpEffect.ESCALATED, args=args)
            await self._effect(conn, raised, HelpEffect.ESCALATION_DM, args={"level": level})
        log.info("help request escalated id=%d level=%d", request_id, level)
        return Escalation(raised, level, request.escalation_level, tuple(roles), notify_asker=True)

    # -- Discord-side changes (reconciliation) --

    async def thread_gone(self, thread_id: int) -> CloseOutcome | None:
        """The thread was deleted (e.g. by a moderator): the request is closed with reason ``thread_deleted``."""
        request = await self.by_thread(thread_id)
        if request is None:
            return None
        return await self.close(request.id, None, CloseReason.THREAD_DELETED)

    async def asker_left(self, guild_id: int, user_id: int) -> list[CloseOutcome]:
        """The member left the server: their live requests close with reason ``asker_left``."""
        live = await store.live_for_asker(self.db.conn, guild_id, user_id)
        return [await self.close(r.id, None, CloseReason.ASKER_LEFT) for r in live]

    async def helper_lost_role(self, guild_id: int, user_id: int) -> list[ReleaseOutcome]:
        """The helper lost the helper role (or left): their claims on live requests are released."""
        claims = await store.active_claims_of_helper(self.db.conn, guild_id, user_id)
        return [await self.release(c.request_id, user_id, why="lost_role") for c in claims]

    async def rearm_jobs(self) -> int:
        """Give every live request the jobs its state calls for when they are missing (a crash between commit and
        scheduling, a job that failed for good). Call at start-up. Returns how many requests were re-armed."""
        pending: set[tuple[str, int]] = set()
        for kind in (ESCALATE_JOB, IDLE_JOB):
            for job in await jobs_store.pending(self.db.conn, kind=kind):
                if "request_id" in job.payload:
                    pending.add((kind, request_id_of(job)))
        count = 0
        for request in await store.live(self.db.conn):
            if request.status != "open":
                continue
            if request.awaiting_since is not None:
                if request.escalation_level < 2 and (ESCALATE_JOB, request.id) not in pending:
                    await self._arm_escalation(request)
                    count += 1
            elif (IDLE_JOB, request.id) not in pending:
                settings = await self.settings(request.guild_id)
                due = (request.idle_asked_at or request.last_activity_at) + timedelta(
                    days=settings.idle_close_after_days if request.idle_asked_at else settings.idle_days
                )
                await self._schedule_idle(request, due)
                count += 1
        if count:
            log.info("help request jobs re-armed count=%d", count)
        return count

    # -- privacy --

    async def export_member(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Everything kept about the member here: their requests (with their text) and the claims they made."""
        requests = await store.for_asker(self.db.conn, guild_id, user_id)
        claims = await store.claims_of_helper(self.db.conn, guild_id, user_id)
        numbers = {}
        for claim in claims:
            claimed = await store.get(self.db.conn, claim.request_id)
            if claimed is not None:
                numbers[claim.request_id] = (claimed.number, claimed.topic)
        return {
            "help_requests": [
                {
                    "number": r.number,
                    "topic": r.topic,
                    "what_is_going_on": r.body,
                    "what_would_help": r.wants,
                    "status": r.status,
                    "source": r.source,
                    "thread_id": r.thread_id,
                    "created_at": r.created_at.isoformat(),
                    "first_claimed_at": _iso(r.first_claimed_at),
                    "closed_at": _iso(r.closed_at),
                    "close_reason": r.close_reason,
                    "feedback": r.feedback,
                }
                for r in requests
            ],
            "help_claims": [
                {
                    "request_number": numbers.get(c.request_id, (None, None))[0],
                    "topic": numbers.get(c.request_id, (None, None))[1],
                    "claimed_at": c.claimed_at.isoformat(),
                    "released_at": _iso(c.released_at),
                }
                for c in claims
            ],
        }

    async def delete_member(self, guild_id: int, user_id: int) -> int:
        """Close the member's live requests, blank their text and unlink them; release and unlink their claims.
        Anonymous counts remain. Returns how many requests and claims were changed."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            for request in await store.live_for_asker(conn, guild_id, user_id):
                await store.close(conn, request.id, by_user_id=None, reason=CloseReason.ASKER.value, now=now)
            count = await store.anonymize_asker(conn, guild_id, user_id)
            count += await store.anonymize_helper(conn, guild_id, user_id, now=now)
            await store.anonymize_closer(conn, guild_id, user_id)
        for kind in (ESCALATE_JOB, IDLE_JOB):
            await self.dispatcher.cancel(kind=kind, guild_id=guild_id, user_id=user_id)
        log.info("help request data deleted guild_id=%d user_id=%d rows=%d", guild_id, user_id, count)
        return count

    # -- effects --

    async def _effect(
        self,
        conn: aiosqlite.Connection,
        request: HelpRequest,
        kind: HelpEffect,
        *,
        args: dict[str, Any] | None = None,
        delay: timedelta = timedelta(0),
    ) -> None:
        subject = help_subject(request.id)
        if kind is HelpEffect.CARD:  # a card shows the request as it stands when it runs: one pending is enough
            await self.outbox.cancel(conn, subject, HelpEffect.CARD)
        await self.outbox.record(
            conn, subject, kind, guild_id=request.guild_id, user_id=request.asker_id, args=args, delay=delay
        )

    async def _closing_effects(self, conn: aiosqlite.Connection, request: HelpRequest, why: CloseReason) -> None:
        """Archive and lock the thread, show the card as closed, and ask the asker "Did this help?" — or, when
        staff deleted the thread, tell the asker; when the asker left, ask nobody."""
        await self.outbox.cancel(conn, help_subject(request.id), HelpEffect.IDLE_ASK, HelpEffect.TELL_ASKER)
        if why is CloseReason.THREAD_DELETED:
            await self._effect(conn, request, HelpEffect.CARD)
            await self._effect(conn, request, HelpEffect.GONE_DM)
            return
        if request.thread_id is not None:
            await self._effect(conn, request, HelpEffect.CLOSED, args={"idle": why is CloseReason.IDLE})
        await self._effect(conn, request, HelpEffect.CARD)
        if why is not CloseReason.ASKER_LEFT and request.thread_id is not None:
            await self._effect(conn, request, HelpEffect.FEEDBACK)

    # -- jobs --

    async def _arm_escalation(self, request: HelpRequest) -> None:
        if request.status != "open" or request.awaiting_since is None:
            return
        settings = await self.settings(request.guild_id)
        since = request.awaiting_since
        for level, hours in ((1, settings.escalate_after_hours), (2, settings.moderator_escalate_after_hours)):
            if level <= request.escalation_level:
                continue
            await self._schedule(
                request,
                kind=ESCALATE_JOB,
                due_at=since + timedelta(hours=hours),
                payload={"request_id": request.id, "level": level},
                dedupe_key=escalation_key(request.id, level, since),
            )

    async def _arm_idle(self, request: HelpRequest, *, idle_days: int) -> None:
        await self._cancel_jobs(request, IDLE_JOB)
        await self._schedule_idle(request, request.last_activity_at + timedelta(days=idle_days))

    async def _schedule_idle(self, request: HelpRequest, due_at: datetime) -> None:
        await self._schedule(
            request,
            kind=IDLE_JOB,
            due_at=due_at,
            payload={"request_id": request.id},
            dedupe_key=idle_key(request.id, due_at),
        )

    async def _schedule(
        self, request: HelpRequest, *, kind: str, due_at: datetime, payload: dict[str, Any], dedupe_key: str
    ) -> None:
        try:
            await self.dispatcher.schedule(
                kind=kind,
                due_at=due_at,
                payload=payload,
                guild_id=request.guild_id,
                user_id=request.asker_id,
                dedupe_key=dedupe_key,
            )
        except DuplicateJob:
            # That very occurrence is running now; it is the job we wanted.
            log.debug("help job already running id=%d kind=%s", request.id, kind)

    async def _cancel_jobs(self, request: HelpRequest, kind: str) -> int:
        """Cancel the request's pending jobs of one kind (keys are per occurrence, so find them first)."""
        found = await jobs_store.pending(self.db.conn, kind=kind, guild_id=request.guild_id, user_id=request.asker_id)
        count = 0
        for job in found:
            if job.payload.get("request_id") == request.id and job.dedupe_key is not None:
                count += await self.dispatcher.cancel(kind=kind, dedupe_key=job.dedupe_key)
        return count


def _ids(claims: list[Claim]) -> tuple[int, ...]:
    return tuple(c.helper_id for c in claims if c.helper_id is not None)


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()
