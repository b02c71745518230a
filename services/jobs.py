"""One dispatcher for everything scheduled: reminders, follow-ups, escalations.

Jobs are rows (``storage.jobs``), so they survive a restart. A pass (:meth:`JobDispatcher.run_due`) claims what is
due in batches and runs each handler once. Delivery is at-least-once only in one case: a handler that outlives its
lease (default five minutes) can be reclaimed by another worker, so handlers are written to be idempotent. After
downtime, overdue jobs run once on the first pass, unless a kind's ``max_lateness`` says they are too late to be
useful, in which case they are skipped.

Logs carry job ids, kinds, outcomes and exception class names only; never payloads or exception messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.clock import Clock
from storage import jobs as store
from storage.db import Database
from storage.jobs import Job

log = logging.getLogger(__name__)

Handler = Callable[[Job], Awaitable[None]]

ERROR_TEXT_LIMIT = 500


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (the channel is gone, the member left): fail without retry."""


class UnknownJobKind(LookupError):
    """A job names a kind no handler is registered for."""


@dataclass(frozen=True, slots=True)
class JobKind:
    name: str
    handler: Handler
    # Overdue by more than this (e.g. after downtime) -> skipped, not sent late. None: always run.
    max_lateness: timedelta | None = None
    max_attempts: int = 5


@dataclass(frozen=True, slots=True)
class RunReport:
    ran: int = 0  # handler succeeded; job done
    retried: int = 0  # handler raised; job back to pending with backoff
    failed: int = 0  # failed for good: permanent error, attempts used up, unknown kind
    skipped: int = 0  # too late to be useful

    @property
    def total(self) -> int:
        return self.ran + self.retried + self.failed + self.skipped

    def __add__(self, other: RunReport) -> RunReport:
        return RunReport(
            self.ran + other.ran,
            self.retried + other.retried,
            self.failed + other.failed,
            self.skipped + other.skipped,
        )


def describe_error(exc: BaseException) -> str:
    """``ClassName: message``, bounded. Our exceptions never carry member-written text in their message."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_TEXT_LIMIT]


class JobDispatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        worker: str,
        lease: timedelta = timedelta(minutes=5),
        backoff_base: timedelta = timedelta(seconds=30),
        backoff_cap: timedelta = timedelta(hours=1),
        batch_size: int = 20,
    ) -> None:
        if lease < timedelta(seconds=1) or backoff_base <= timedelta(0) or batch_size < 1:
            raise ValueError("lease must be at least a second, backoff_base positive and batch_size at least 1")
        self._db = db
        self._clock = clock
        self.worker = worker
        self._lease = lease
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._batch_size = batch_size
        self._kinds: dict[str, JobKind] = {}
        self._wake = asyncio.Event()

    # -- registration and scheduling ------------------------------------------------------------------------------

    def register(self, kind: JobKind) -> None:
        if kind.name in self._kinds:
            raise ValueError(f"job kind {kind.name!r} is already registered")
        self._kinds[kind.name] = kind

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._kinds)

    async def schedule(
        self,
        *,
        kind: str,
        due_at: datetime,
        payload: dict[str, Any] | None = None,
        guild_id: int | None = None,
        user_id: int | None = None,
        dedupe_key: str | None = None,
    ) -> Job:
        """Add (or, with a ``dedupe_key`` already pending, replace) a job, and wake the loop.

        Raises :class:`UnknownJobKind` for a kind nobody handles (a typo would otherwise only surface when the job
        fails), and :class:`storage.jobs.DuplicateJob` when the job holding ``dedupe_key`` is running right now.
        """
        registered = self._kinds.get(kind)
        if registered is None:
            raise UnknownJobKind(f"no handler is registered for job kind {kind!r}")
        async with self._db.transaction() as conn:
            job = await store.schedule(
                conn,
                kind=kind,
                due_at=due_at,
                payload=payload,
                guild_id=guild_id,
                user_id=user_id,
                dedupe_key=dedupe_key,
                max_attempts=registered.max_attempts,
                now=self._clock.now(),
            )
        log.debug("job scheduled id=%d kind=%s", job.id, job.kind)
        self.wake()
        return job

    async def cancel(
        self,
        *,
        kind: str | None = None,
        dedupe_key: str | None = None,
        guild_id: int | None = None,
        user_id: int | None = None,
    ) -> int:
        """Cancel matching pending jobs (at least one filter); return how many."""
        async with self._db.transaction() as conn:
            count = await store.cancel(
                conn, kind=kind, dedupe_key=dedupe_key, guild_id=guild_id, user_id=user_id, now=self._clock.now()
            )
        if count:
            log.debug("jobs cancelled count=%d kind=%s", count, kind)
        return count

    def wake(self) -> None:
        """Make :meth:`run_forever` look at the table now instead of at its next planned time."""
        self._wake.set()

    # -- running ------------------------------------------------------------------------------------------------

    def backoff(self, attempts: int) -> timedelta:
        """Wait before retry number ``attempts``: base, 2x base, 4x base, ... capped."""
        return min(self._backoff_base * (1 << min(max(attempts - 1, 0), 30)), self._backoff_cap)

    async def run_due(self) -> RunReport:
        """Claim everything due now, in batches, and run each handler once. Never sleeps."""
        report = RunReport()
        while True:
            async with self._db.transaction() as conn:
                batch = await store.claim_due(
                    conn,
                    now=self._clock.now(),
                    worker=self.worker,
                    lease_seconds=int(self._lease.total_seconds()),
                    limit=self._batch_size,
                )
            if not batch:
                return report
            for job in batch:
                report += await self._run_one(job)

    async def _run_one(self, job: Job) -> RunReport:
        now = self._clock.now()
        kind = self._kinds.get(job.kind)
        if kind is None:
            return await self._fail(job, f"UnknownJobKind: no handler is registered for job kind {job.kind!r}")
        if job.attempts > job.max_attempts:
            # Reclaimed after its worker died during the last allowed attempt.
            return await self._fail(job, f"LeaseExpired: no attempts left after {job.max_attempts}")
        lateness = now - job.due_at
        if kind.max_lateness is not None and lateness > kind.max_lateness:
            reason = (
                f"TooLate: due {int(lateness.total_seconds())}s ago, "
                f"more than the {int(kind.max_lateness.total_seconds())}s allowed"
            )
            async with self._db.transaction() as conn:
                await store.mark_skipped(conn, job_id=job.id, reason=reason, now=now, attempt=job.attempts)
            log.info("job skipped id=%d kind=%s late_s=%d", job.id, job.kind, int(lateness.total_seconds()))
            return RunReport(skipped=1)
        # Start the handler with a full lease: earlier jobs of the batch may have used up part of this one's.
        async with self._db.transaction() as conn:
            still_ours = await store.renew_lease(
                conn, job_id=job.id, attempt=job.attempts, lease_until=now + self._lease
            )
        if not still_ours:
            log.warning("job lost its lease before running id=%d kind=%s", job.id, job.kind)
            return RunReport()
        try:
            await kind.handler(job)
        except PermanentJobError as exc:
            return await self._fail(job, describe_error(exc))
        except Exception as exc:
            error = describe_error(exc)
            if job.attempts >= job.max_attempts:
                return await self._fail(job, error)
            retry_at = self._clock.now() + self.backoff(job.attempts)
            async with self._db.transaction() as conn:
                await store.mark_failed_or_retry(
                    conn, job_id=job.id, error=error, retry_at=retry_at, now=self._clock.now(), attempt=job.attempts
                )
            log.warning(
                "job will retry id=%d kind=%s attempt=%d/%d error=%s",
                job.id,
                job.kind,
                job.attempts,
                job.max_attempts,
                type(exc).__name__,
            )
            return RunReport(retried=1)
        async with self._db.transaction() as conn:
            recorded = await store.mark_done(conn, job_id=job.id, now=self._clock.now(), attempt=job.attempts)
        if not recorded:
            log.warning("job finished after its lease was taken over id=%d kind=%s", job.id, job.kind)
        log.info("job done id=%d kind=%s attempt=%d", job.id, job.kind, job.attempts)
        return RunReport(ran=1)

    async def _fail(self, job: Job, error: str) -> RunReport:
        async with self._db.transaction() as conn:
            await store.mark_failed_or_retry(
                conn, job_id=job.id, error=error, retry_at=None, now=self._clock.now(), attempt=job.attempts
            )
        log.error("job failed id=%d kind=%s attempt=%d error=%s", job.id, job.kind, job.attempts, error.split(":")[0])
        return RunReport(failed=1)

    async def run_forever(self, *, idle: timedelta = timedelta(seconds=30)) -> None:
        """The dispatcher task: a pass, then wait for the next due job, ``idle`` at most, or a :meth:`wake`.

        Errors of a pass (a locked database, a bug) are logged and the loop goes on after ``idle``; cancelling the
        task stops it cleanly (an open transaction is rolled back; a job cut off mid-handler is retried when its
        lease expires).
        """
        idle_s = idle.total_seconds()
        while True:
            self._wake.clear()  # before the pass, so a wake() during the pass is not lost
            try:
                report = await self.run_due()
                timeout = await self._seconds_until_next(idle_s)
                if report.total == 0 and timeout == 0:
                    timeout = min(1.0, idle_s)  # something claimable we could not take: do not spin
            except Exception as exc:
                log.exception("job dispatch pass failed error=%s", type(exc).__name__)
                timeout = idle_s
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            except TimeoutError:
                pass

    async def _seconds_until_next(self, cap: float) -> float:
        next_at = await store.next_due_at(self._db.conn)
        if next_at is None:
            return cap
        return min(max((next_at - self._clock.now()).total_seconds(), 0.0), cap)
