"""What a help-request change arms besides its rows: the jobs that come due later (escalation, idle checks) and the
Discord side effects it records (``services/effects.py``), plus the lookups every part of the service shares."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from services.clock import Clock
from services.effects import Outbox
from services.help_requests._answers import (
    _not_found,
)
from services.help_requests._rules import (
    ESCALATE_JOB,
    IDLE_JOB,
    CloseReason,
    HelpEffect,
    HelpSettings,
    QueueCard,
    escalation_key,
    help_subject,
    idle_key,
    queue_card,
    request_id_of,
)
from services.jobs import JobDispatcher
from storage import guilds
from storage import help_requests as store
from storage import jobs as jobs_store
from storage.db import Database
from storage.help_requests import Claim, HelpRequest
from storage.jobs import DuplicateJob
from storage.sql import Conn

log = logging.getLogger(__name__)


class HelpRequestBase:
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

    # -- effects --

    async def _effect(
        self,
        conn: Conn,
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

    async def _closing_effects(self, conn: Conn, request: HelpRequest, why: CloseReason) -> None:
        """Archive and lock the thread, show the card as closed, and ask the asker "Did this help?" — or, when
        staff deleted the thread, tell the asker; when the asker left, ask nobody."""
        await self.outbox.cancel(conn, help_subject(request.id), HelpEffect.IDLE_ASK, HelpEffect.TELL_ASKER)
        if why is CloseReason.THREAD_DELETED:
            await self._effect(conn, request, HelpEffect.CARD)
            await self._effect(conn, request, HelpEffect.GONE_DM)
            return
        if request.thread_id is not None:
            args: dict[str, Any] = {"idle": why is CloseReason.IDLE}
            if why is CloseReason.ASKER and request.hides_asker:
                args["by_member"] = True  # closed from the asker's DM: the thread is told, without a name
            await self._effect(conn, request, HelpEffect.CLOSED, args=args)
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
