"""The outbox of Discord side effects: intent recorded with the state change, carried out once (``docs/effects.md``).

A service that changes state calls :meth:`Outbox.record` with the connection of the same transaction, once per
effect the change implies ("create the request's thread", "show its queue card", "DM the asker"). The change and its
intent commit together or not at all. Recording also arms one ``effects.run`` job per subject, due a little later:
the Discord layer normally carries the effects out at once, inline (``cogs/_effects.py``), and the job is the safety
net that finishes them after a crash, a restart or a Discord error, with the dispatcher's leases and backoff.

Effects hold ids and template names only, never member-written text: what a message says is rendered from the
database when the effect runs, so a member who deletes their data in between is never quoted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.clock import Clock
from services.jobs import JobDispatcher
from storage import effects as store
from storage import jobs as jobs_store
from storage.db import Database
from storage.effects import Effect
from storage.sql import Conn

log = logging.getLogger(__name__)

EFFECTS_JOB = "effects.run"
# Enough tries, with the dispatcher's backoff (30 s doubling, capped at an hour), to ride out a long Discord outage.
EFFECTS_JOB_ATTEMPTS = 12
# The inline run goes first; the job only picks up what it could not finish.
SAFETY_NET_DELAY = timedelta(seconds=15)
# How long a runner holds a subject without renewing (each effect it starts renews it): long enough for one effect's
# Discord calls, rate-limit waits included; a process that dies holding a subject delays it by at most this much.
SUBJECT_LEASE = timedelta(minutes=5)


class SubjectBusy(Exception):
    """Another runner (another process) holds the subject's effects now: it carries them out."""


def safety_net_key(subject: str) -> str:
    """The dedupe key of the subject's ``effects.run`` job."""
    return f"effects:{subject}"


def subject_of(job_payload: dict[str, Any]) -> str:
    subject = job_payload.get("subject")
    if not isinstance(subject, str) or not subject:
        raise ValueError("an effects job carries the subject it runs")
    return subject


@dataclass(frozen=True, slots=True)
class Landed:
    """What an effect created or touched on Discord (stored with the effect; a retry finds it there)."""

    channel_id: int | None = None
    result_id: int | None = None


Finished = tuple[Effect, Landed | None]  # an effect that landed, and what it landed: still to be recorded as done


class Outbox:
    def __init__(self, db: Database, dispatcher: JobDispatcher, clock: Clock) -> None:
        self.db = db
        self.dispatcher = dispatcher
        self.clock = clock
        # Subject claims are recorded under the dispatcher's name for this process ("worker:incarnation").
        self.worker = dispatcher.worker

    # -- recording: inside the caller's transaction ----------------------------------------------------------------

    async def record(
        self,
        conn: Conn,
        subject: str,
        kind: str,
        *,
        guild_id: int | None,
        user_id: int | None,
        args: dict[str, Any] | None = None,
        delay: timedelta = timedelta(0),
    ) -> Effect:
        """Record one effect of ``subject`` on the caller's transaction, and arm the subject's safety-net job."""
        if not conn.in_transaction:
            raise RuntimeError("effects are recorded inside the transaction of the change that implies them")
        now = self.clock.now()
        effect = await store.record(
            conn,
            subject=subject,
            kind=kind,
            guild_id=guild_id,
            user_id=user_id,
            args=args,
            not_before=now + delay,
            now=now,
        )
        await self._arm(conn, effect, due_at=now + max(delay, SAFETY_NET_DELAY))
        return effect

    async def cancel(self, conn: Conn, subject: str, *kinds: str) -> int:
        """Drop a subject's pending effects of ``kinds`` (all when none given): a later change made them moot."""
        return await store.cancel_pending(conn, subject=subject, kinds=kinds or None, now=self.clock.now())

    async def hasten(self, subject: str | None = None, kind: str | None = None) -> int:
        """Make pending effects (of ``subject`` and ``kind``, when given) due now. An effect only ever waits for the
        answer of the interaction that recorded it (a fallback DM); after a restart no such answer can come, so
        start-up hastens them all."""
        async with self.db.transaction() as conn:
            return await store.hasten(conn, subject=subject, kind=kind, now=self.clock.now())

    async def _arm(self, conn: Conn, effect: Effect, *, due_at: datetime) -> None:
        common: dict[str, Any] = {
            "kind": EFFECTS_JOB,
            "due_at": due_at,
            "payload": {"subject": effect.subject},
            "guild_id": effect.guild_id,
            "user_id": effect.user_id,
            "max_attempts": EFFECTS_JOB_ATTEMPTS,
            "now": self.clock.now(),
        }
        key = safety_net_key(effect.subject)
        due = await jobs_store.pending_due_at(conn, key)
        if due is not None and due <= due_at:
            return  # the subject's job already comes sooner, and it runs every pending effect
        try:
            await jobs_store.schedule(conn, dedupe_key=key, **common)
        except jobs_store.DuplicateJob:
            # The subject's job is running now and may have looked past this effect already: a second job makes
            # sure it runs (the runner serialises a subject, and every effect is idempotent).
            await jobs_store.schedule(conn, dedupe_key=f"{key}:{effect.id}", **common)

    async def arm(self, subject: str, *, due_at: datetime) -> None:
        """Run the subject's effects again at ``due_at`` (an effect that waits for its time)."""
        async with self.db.transaction() as conn:
            waiting = await store.pending(conn, subject)
            if waiting:
                await self._arm(conn, waiting[0], due_at=due_at)
        self.dispatcher.wake()

    # -- the executor's bookkeeping (a single UPDATE needs no transaction: ``Database.statement``) ------------------

    async def pending(self, subject: str) -> list[Effect]:
        return await store.pending(self.db.conn, subject)

    async def pending_subjects(self, guild_id: int | None = None) -> list[str]:
        return await store.pending_subjects(self.db.conn, guild_id=guild_id)

    async def latest(self, subject: str, kind: str) -> Effect | None:
        return await store.latest(self.db.conn, subject, kind)

    async def posted(self, subject: str) -> list[Effect]:
        """What Porchlight created on Discord for ``subject`` (done effects, with channel and message ids)."""
        return await store.done(self.db.conn, subject)

    async def complete(self, effect: Effect, landed: Landed | None) -> list[Effect]:
        """Record ``effect`` as done with what it ``landed``; the subject's effects still pending after it (read in
        the same transaction: the runner's next question). When none are, the subject's safety-net job has nothing
        left to do and is cancelled with it (a later effect arms a new one)."""
        async with self.db.transaction() as conn:
            await self._complete(conn, effect, landed)
            pending = await store.pending(conn, effect.subject)
            if not pending:
                await jobs_store.cancel(conn, dedupe_key=safety_net_key(effect.subject), now=self.clock.now())
            return pending

    async def _complete(self, conn: Conn, effect: Effect, landed: Landed | None) -> None:
        await store.complete(
            conn,
            effect.id,
            channel_id=landed.channel_id if landed else None,
            result_id=landed.result_id if landed else None,
            now=self.clock.now(),
        )

    async def note_progress(self, effect: Effect, landed: Landed) -> None:
        assert landed.channel_id is not None and landed.result_id is not None
        async with self.db.statement() as conn:
            await store.note_progress(conn, effect.id, channel_id=landed.channel_id, result_id=landed.result_id)

    async def claim(self, subject: str) -> list[Effect] | None:
        """Hold the subject's pending effects for this process (or renew the hold, taking effects recorded since):
        the effects it holds, in order, or None when another runner holds the subject
        (``storage.effects.claim_subject``)."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            return await store.claim_subject(
                conn, subject, worker=self.worker, now=now, lease_until=now + SUBJECT_LEASE
            )

    async def release(self, subject: str) -> None:
        async with self.db.statement() as conn:
            await store.release_subject(conn, subject, worker=self.worker)

    async def release_previous_runs(self) -> int:
        """At start-up: subjects an earlier run of this worker held when it died are free again at once."""
        if self.dispatcher.worker == self.dispatcher.stable_name:
            return 0  # no incarnation: this run cannot be told from an earlier one
        async with self.db.transaction() as conn:
            return await store.release_previous_runs(
                conn, stable_name=self.dispatcher.stable_name, current_worker=self.worker
            )

    async def start(self, effect: Effect, *, finished: Finished | None = None) -> Effect | None:
        """Count a run before it touches Discord: a later run of an effect with ``attempts > 1`` knows the effect
        may already have happened (the process can die right after Discord did the work). Only while this process
        holds the subject (:meth:`claim`), whose hold on the effect it extends; raises :class:`SubjectBusy` when the
        hold was lost (its lease ran out and another runner took the subject), so the effect is not run twice at
        once. ``finished``: the subject's previous effect and what it landed, recorded as done in the same
        transaction (one commit between two effects instead of two)."""
        now = self.clock.now()
        busy = False
        async with self.db.transaction() as conn:
            if finished is not None:
                await self._complete(conn, *finished)
            started = await store.start(conn, effect.id, worker=self.worker, lease_until=now + SUBJECT_LEASE)
            if started is None:
                current = await store.get(conn, effect.id)
                busy = current is not None and current.status == "pending"
        if busy:  # raised after the commit: the previous effect's completion stands
            raise SubjectBusy(effect.subject)
        return started  # None: no longer pending (another runner finished or a change cancelled it)

    async def note_error(self, effect: Effect, error: str) -> None:
        async with self.db.statement() as conn:
            await store.note_error(conn, effect.id, error=error)

    async def fail(self, effect: Effect, error: str) -> None:
        async with self.db.statement() as conn:
            await store.fail(conn, effect.id, error=error, now=self.clock.now())
        log.warning("effect failed for good id=%d kind=%s error=%s", effect.id, effect.kind, error)

    # -- privacy --------------------------------------------------------------------------------------------------

    async def delete_member(self, conn: Conn, user_id: int) -> int:
        return await store.delete_for_user(conn, user_id=user_id)

    async def export_member(self, user_id: int) -> list[dict[str, Any]]:
        return [
            {"kind": e.kind, "status": e.status, "created_at": e.created_at.isoformat()}
            for e in await store.for_user(self.db.conn, user_id)
        ]
