"""The executor of the effects outbox (``services/effects.py``, ``docs/effects.md``): carries out each recorded
Discord side effect once, in order per subject, whether it runs inline right after an interaction or later from the
``effects.run`` job after a crash, a restart or a Discord error.

Once means: before acting, an effect that may already have happened looks for what it would have created —

- messages are sent with the effect's deterministic ``nonce`` (discord.py sets ``enforce_nonce``, so Discord returns
  the message it already created for a repeated nonce from the same author within a few minutes); a message that
  carries a marker (a component's custom id) is also looked up in the channel's history on a retry, which covers a
  restart after that window;
- threads are looked up by their deterministic name among the parent's active and private archived threads on a
  retry, and after a creation whose response left its outcome unknown (a server error discord.py retried, a dropped
  connection: see :func:`doubts`); a duplicate Discord created behind such a response is deleted, keeping the
  first. A creation answered at the first try needs no lookup: the thread it returned is the only one;
- edits, archives and member adds are idempotent by nature.

One runner at a time per subject, across processes: within a process an asyncio lock, and across the processes that
share the database a lease on the subject's pending effects (``Outbox.claim``, migration 0018). A runner that finds
the subject held elsewhere leaves it to the holder: an inline run waits a moment for it (:data:`CLAIM_WAIT`), the
job retries with backoff, the start-up sweep moves on.

A transient failure (5xx, a timeout, a dropped connection) leaves the effect pending and the job retries it with
backoff; an effect that waits for a person (a missing permission) is left pending until a retry is asked for; an
effect that can never happen (its channel is gone) is recorded as failed and the subject's later effects go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from cogs._dm import send_dm
from cogs._threads import THREAD_ARCHIVE_MINUTES
from services.effects import (
    EFFECTS_JOB,
    EFFECTS_JOB_ATTEMPTS,
    Finished,
    Landed,
    Outbox,
    SubjectBusy,
    subject_of,
)
from services.jobs import JobKind, PermanentJobError
from storage.effects import Effect
from storage.jobs import Job

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

Handler = Callable[[Effect], Awaitable[Landed | None]]

# How far back a retried effect looks for the message it may already have posted.
HISTORY_LOOKBACK = 100
# An effect run this many times without getting through (a bug, or Discord refusing it for hours) is given up, so
# it cannot hold back the effects recorded after it for the same subject.
MAX_RUNS = EFFECTS_JOB_ATTEMPTS
# An inline run (right after an interaction) whose subject another process is running waits this long for it, polling
# the claim, so the answer can show what the other runner made; past that it answers with what stands (the holder,
# or the effects job after it, finishes the rest).
CLAIM_WAIT = 2.0
CLAIM_POLL = (0.05, 0.1, 0.2, 0.4)


class EffectBlocked(Exception):
    """The effect cannot happen until someone fixes something (a permission). It stays pending and is tried again
    when asked (a /setup change, reconciliation), not on a timer."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


class EffectGone(Exception):
    """The effect can never happen (its channel or member is gone): recorded as failed; later effects go on."""


class EffectRetry(Exception):
    """A handler's own "not yet, try again soon" (e.g. Discord has not listed what it just created)."""


class EffectsPending(Exception):
    """Raised to the dispatcher when a subject's effects hit a transient error: the job retries with backoff."""


@dataclass(frozen=True, slots=True)
class Flush:
    done: int = 0
    pending: int = 0  # left for the job's retry: a transient error
    blocked: list[str] | None = None  # what is missing, when an effect waits for a person
    waiting: int = 0  # delayed effects not due yet (the job is armed for the first of them)
    busy: bool = False  # another process holds the subject and carries out its effects (``pending`` are theirs)


def _transient(error: BaseException) -> bool:
    if isinstance(error, EffectRetry | discord.DiscordServerError | discord.RateLimited):
        return True
    if isinstance(error, discord.HTTPException):
        return error.status in (408, 429) or error.status >= 500
    return isinstance(error, aiohttp.ClientError | asyncio.TimeoutError | OSError)


def _describe(error: BaseException) -> str:
    status = getattr(error, "status", None)
    return f"{type(error).__name__}" + (f" status={status}" if status else "")


class EffectRunner:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._handlers: dict[str, Handler] = {}
        # One runner at a time per subject in this process; a lock nobody holds or waits for is dropped. Across
        # processes, the subject's claim in the database (``flush``).
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def register(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def job_kind(self) -> JobKind:
        return JobKind(EFFECTS_JOB, self.run_job, max_lateness=None, max_attempts=EFFECTS_JOB_ATTEMPTS)

    async def run_job(self, job: Job) -> None:
        """The ``effects.run`` job: finish what the inline run could not."""
        flush = await self.flush(subject_of(job.payload), wait=False)
        if flush.blocked:
            raise PermanentJobError("EffectBlocked")  # tried again when the permission is fixed, not on a timer
        if flush.busy:
            # Another process is running the subject: this job comes back later in case that run stops short.
            raise EffectsPending("the subject is being run by another process")
        if flush.pending:
            raise EffectsPending(f"{flush.pending} effects still pending")

    async def flush(self, subject: str, *, wait: bool = True) -> Flush:
        """Carry out the subject's pending effects in order; stop at the first that cannot go yet. Effects recorded
        while it runs (a handler's own follow-up) are carried out too. When another process holds the subject, wait
        up to :data:`CLAIM_WAIT` for it (``wait``), else return at once with ``busy``."""
        lock = self._locks.get(subject)
        if lock is None:
            lock = self._locks[subject] = asyncio.Lock()
        async with lock:
            if not await self.outbox.pending(subject):
                return Flush()  # the common case costs a read; an effect recorded after it is flushed by its recorder
            held = await self._claim(subject, wait=wait)
            if held is None:
                return Flush(pending=len(await self.outbox.pending(subject)), busy=True)
            flush: Flush | None = None
            try:
                flush = await self._flush_held(subject, held)
                return flush
            except SubjectBusy:  # the hold lapsed mid-run and another runner took the subject over
                return Flush(pending=len(await self.outbox.pending(subject)), busy=True)
            finally:
                if flush is None or flush.pending or flush.waiting:  # else nothing it held is still pending
                    await asyncio.shield(self.outbox.release(subject))

    async def _claim(self, subject: str, *, wait: bool) -> list[Effect] | None:
        """Hold the subject for this process; when another holds it, poll for up to :data:`CLAIM_WAIT` (``wait``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (CLAIM_WAIT if wait else 0.0)
        pauses = itertools.chain(CLAIM_POLL, itertools.repeat(CLAIM_POLL[-1]))
        while (held := await self.outbox.claim(subject)) is None:
            pause = next(pauses)
            if loop.time() + pause > deadline:
                log.info("effects subject held by another process, left to it kind=%s", subject.split(":")[0])
                return None
            await asyncio.sleep(pause)
        return held

    async def _flush_held(self, subject: str, held: list[Effect]) -> Flush:
        done = 0
        waiting: dict[int, Effect] = {}
        seen: set[int] = set()
        batch = held
        # The effect that just landed: recorded as done with the next effect's start, one transaction for both, or
        # on its own before the subject is looked at again (and, should anything raise, in ``finally``: recording
        # it twice changes nothing).
        finished: Finished | None = None
        try:
            while batch:
                for effect in batch:
                    seen.add(effect.id)
                    if effect.not_before > self.outbox.clock.now():
                        waiting[effect.id] = effect  # a delayed notice: later by definition, so it holds nothing back
                        continue
                    outcome, finished = await self._run_next(effect, finished)
                    if outcome is not None:
                        return Flush(done, outcome.pending, outcome.blocked, waiting=len(waiting))
                    done += 1
                # Effects recorded meanwhile (a handler's own follow-up): taken too, and the hold renewed.
                if finished is not None:
                    more = await self.outbox.complete(*finished)
                    finished = None
                else:
                    more = await self.outbox.pending(subject)
                if not [e for e in more if e.id not in seen]:
                    break
                renewed = await self.outbox.claim(subject)
                if renewed is None:
                    raise SubjectBusy(subject)
                batch = [e for e in renewed if e.id not in seen]
        finally:
            if finished is not None:
                await asyncio.shield(self.outbox.complete(*finished))
        if waiting:
            await self.outbox.arm(subject, due_at=min(e.not_before for e in waiting.values()))
        return Flush(done, waiting=len(waiting))

    async def _run_next(self, effect: Effect, finished: Finished | None) -> tuple[Flush | None, Finished | None]:
        """Run one due effect (recording ``finished`` as done first, in the same transaction as this one's start):
        a Flush when the subject has to stop there, and what this effect landed, still to be recorded."""
        handler = self._handlers.get(effect.kind)
        if handler is None:
            log.warning("no handler for effect id=%d kind=%s", effect.id, effect.kind)
            return Flush(pending=1), finished
        started = await self.outbox.start(effect, finished=finished)
        if started is None:
            return None, None  # another runner finished it, or a change cancelled it
        if started.attempts > MAX_RUNS:  # it will not go through: let the subject's later effects go on
            await self.outbox.fail(started, f"GaveUp: {MAX_RUNS} runs")
            return None, None
        return await self._run_one(started, handler)

    async def _run_one(self, effect: Effect, handler: Handler) -> tuple[Flush | None, Finished | None]:
        try:
            landed = await handler(effect)
        except EffectBlocked as error:
            await self.outbox.note_error(effect, "EffectBlocked")
            return Flush(pending=1, blocked=error.missing), None
        except EffectGone as error:
            await self.outbox.fail(effect, f"EffectGone: {error}"[:200])
            return None, None
        except Exception as error:
            if not _transient(error) and isinstance(error, discord.HTTPException):
                await self.outbox.fail(effect, _describe(error))
                return None, None
            await self.outbox.note_error(effect, _describe(error))
            log.warning("effect will retry id=%d kind=%s error=%s", effect.id, effect.kind, _describe(error))
            if not _transient(error):
                log.error("effect raised id=%d kind=%s", effect.id, effect.kind, exc_info=error)
            self.outbox.dispatcher.wake()
            return Flush(pending=1), None
        return None, (effect, landed)

    async def resume(self) -> int:
        """At start-up: finish what a previous run of the process left (its interactions are gone, so nothing waits
        for their answers any more)."""
        await self.outbox.release_previous_runs()
        hastened = await self.outbox.hasten()
        finished = await self.sweep()
        if hastened or finished:
            log.info("effects resumed after a restart hastened=%d subjects_finished=%d", hastened, finished)
        return finished

    async def sweep(self) -> int:
        """Run every subject with pending effects (start-up); returns how many subjects finished. A subject another
        process is running is left to it."""
        finished = 0
        for subject in await self.outbox.pending_subjects():
            try:
                flush = await self.flush(subject, wait=False)
            except Exception as error:
                log.warning("effect sweep failed subject=%s error=%s", subject, type(error).__name__)
                continue
            finished += not (flush.pending or flush.blocked)
        return finished


# --- responses that leave the outcome unknown --------------------------------------------------------------------

# The server errors and lost connections seen by the requests of the code inside ``doubts()``, or None outside it.
_doubtful: ContextVar[list[str] | None] = ContextVar("porchlight_doubtful", default=None)


def doubt_trace() -> aiohttp.TraceConfig:
    """The bot's HTTP trace (discord.py's ``http_trace``): notes, for the code inside :func:`doubts`, each response
    that leaves a request's outcome unknown. aiohttp runs these hooks in the task that made the request, so the
    notes reach the right caller."""

    async def ended(_session: aiohttp.ClientSession, _context: Any, params: aiohttp.TraceRequestEndParams) -> None:
        seen = _doubtful.get()
        if seen is not None and params.response.status >= 500:
            seen.append(f"{params.method} {params.url.path} -> {params.response.status}")

    async def failed(
        _session: aiohttp.ClientSession, _context: Any, params: aiohttp.TraceRequestExceptionParams
    ) -> None:
        seen = _doubtful.get()
        if seen is not None:
            seen.append(f"{params.method} {params.url.path} -> {type(params.exception).__name__}")

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(ended)
    trace.on_request_exception.append(failed)
    return trace


@contextlib.contextmanager
def doubts() -> Iterator[list[str]]:
    """Collect the responses inside the block whose outcome is unknown: a 5xx (discord.py retries it, and the first
    try may have done the work) or a dropped connection. Empty when every request was answered at the first try."""
    seen: list[str] = []
    token = _doubtful.set(seen)
    try:
        yield seen
    finally:
        _doubtful.reset(token)


# --- idempotent Discord primitives ------------------------------------------------------------------------------


def has_marker(message: discord.Message, marker: str) -> bool:
    """Whether one of the message's components carries ``marker`` as its custom id."""
    for row in message.components:
        for child in getattr(row, "children", [row]):
            if getattr(child, "custom_id", None) == marker:
                return True
    return False


async def find_marked(
    channel: discord.abc.Messageable, marker: str, *, me: int, after: discord.abc.Snowflake | None = None
) -> list[discord.Message]:
    """The bot's messages in ``channel`` carrying ``marker``, oldest first (recent history only)."""
    found = [
        message
        async for message in channel.history(limit=HISTORY_LOOKBACK, after=after, oldest_first=True)
        if message.author.id == me and has_marker(message, marker)
    ]
    return sorted(found, key=lambda m: m.id)


async def dm_once(
    bot: PorchlightBot, effect: Effect, user_id: int, content: str | None = None, **send: Any
) -> Landed | None:
    """The DM of an effect, sent with the effect's nonce (a retry returns the message already sent). A closed DM is
    recorded for the member's next command and a user Discord no longer knows is skipped (None); other refusals
    reach the runner, which retries what is worth retrying."""
    send.setdefault("allowed_mentions", discord.AllowedMentions.none())
    try:
        message = await send_dm(bot, user_id, content, nonce=effect.nonce, **send)
    except discord.NotFound:
        return None
    return Landed(message.channel.id, message.id) if message is not None else None


def just_before(instant: datetime) -> discord.Object:
    """A snowflake just before ``instant``: history ``after=`` it includes what was posted from that moment on."""
    return discord.Object(discord.utils.time_snowflake(instant, high=False) - 1)


async def send_once(
    effect: Effect,
    channel: discord.abc.Messageable,
    *,
    marker: str | None = None,
    **kwargs: Any,
) -> discord.Message:
    """Send the effect's message once. A first run sends with the effect's nonce; a later run (the effect may
    already have posted it) first looks for the marked message, then relies on the nonce."""
    if marker is not None and effect.attempts > 1:
        me = _me(channel)
        existing = await find_marked(channel, marker, me=me, after=just_before(effect.created_at))
        if existing:
            return existing[0]
    return await channel.send(nonce=effect.nonce, **kwargs)


def _me(channel: discord.abc.Messageable) -> int:
    state: Any = getattr(channel, "_state", None)
    user = state.user if state is not None else None
    assert user is not None
    return int(user.id)


async def find_threads(parent: discord.TextChannel, name: str, *, archived: bool = False) -> list[discord.Thread]:
    """The bot's threads named ``name`` under ``parent``, active (and privately archived, when asked), oldest
    first."""
    me = parent.guild.me.id
    found: dict[int, discord.Thread] = {}
    for thread in await parent.guild.active_threads():
        if thread.parent_id == parent.id and thread.name == name and thread.owner_id == me:
            found[thread.id] = thread
    if archived:
        async for thread in parent.archived_threads(private=True, limit=50):
            if thread.name == name and thread.owner_id == me:
                found.setdefault(thread.id, thread)
    return [found[key] for key in sorted(found)]


async def create_private_thread(parent: discord.TextChannel, name: str) -> list[discord.Thread]:
    """Create the private thread ``name`` under ``parent``: the thread Discord returned, or, when a response left the
    outcome unknown (Discord may have made more behind it, and discord.py retried), every thread of that name."""
    with doubts() as doubtful:
        created = await parent.create_thread(
            name=name,
            type=discord.ChannelType.private_thread,
            invitable=False,
            auto_archive_duration=THREAD_ARCHIVE_MINUTES,
        )
    if not doubtful:
        return [created]
    log.info("thread creation in doubt, listing the threads of its name: %s", "; ".join(doubtful))
    return await find_threads(parent, name)


async def keep_first(threads: list[discord.Thread]) -> discord.Thread:
    """Keep the oldest of several same-named threads (duplicates Discord made behind a failed response)."""
    first, *extra = threads
    for duplicate in extra:
        try:
            await duplicate.delete()
            log.info("duplicate thread removed kept=%d removed=%d", first.id, duplicate.id)
        except discord.NotFound:
            pass
    return first
