"""One dispatcher for everything scheduled: reminders, follow-ups, escalations.

Jobs are rows (``storage.jobs``), so they survive a restart. Due jobs run in a bounded pool (``concurrency``): the
dispatcher claims only as many as it has free slots, so a claimed job starts at once, and renews the leases of
running jobs every third of a lease. A member's jobs (same ``user_id``) never run at the same time and run in due
order: the claim skips a member while one of their jobs runs, in this process or another. Delivery is at-least-once
only in one case: a handler cut off (a crash, or a shutdown that outlasted the drain) is retried once its lease
(default five minutes) expires, so handlers are written to be idempotent. After downtime, overdue jobs run once on
the first pass, unless a kind's ``max_lateness`` says they are too late to be useful, in which case they are skipped.

Shutdown: :meth:`JobDispatcher.stop_claiming` (no job starts from then on), then :meth:`JobDispatcher.drain` waits
for the running ones.

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
from storage.sql import Conn, guild_scope

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
        concurrency: int = 1,
        incarnation: str | None = None,
    ) -> None:
        if lease < timedelta(seconds=1) or backoff_base <= timedelta(0) or batch_size < 1 or concurrency < 1:
            raise ValueError(
                "lease must be at least a second, backoff_base positive, batch_size and concurrency at least 1"
            )
        self._db = db
        self._clock = clock
        # ``worker`` names this process among those sharing the database (stable across restarts); ``incarnation``
        # tells this start from earlier ones. Claims are recorded as "worker:incarnation".
        if ":" in worker:
            raise ValueError("a worker name cannot contain ':'")
        self.stable_name = worker
        self.worker = worker if incarnation is None else f"{worker}:{incarnation}"
        self._lease = lease
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._kinds: dict[str, JobKind] = {}
        self._wake = asyncio.Event()
        self._slot_freed = asyncio.Event()
        # While the loop sleeps: when it looks at the table next by itself, on the event loop's clock (None while a
        # pass runs).
        self._wakes_at: float | None = None
        self._in_flight: dict[asyncio.Task[RunReport], Job] = {}
        self._stopping = False
        # Told of every job run: its kind, how late it started (seconds after due) and the outcome (for metrics).
        self.observer: Callable[[str, float, RunReport], None] | None = None

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
        async with self._db.transaction(scope=guild_scope(guild_id)) as conn:
            job = await self.schedule_in(
                conn,
                kind=kind,
                due_at=due_at,
                payload=payload,
                guild_id=guild_id,
                user_id=user_id,
                dedupe_key=dedupe_key,
            )
        self.wake(job.due_at)
        return job

    async def schedule_in(
        self,
        conn: Conn,
        *,
        kind: str,
        due_at: datetime,
        payload: dict[str, Any] | None = None,
        guild_id: int | None = None,
        user_id: int | None = None,
        dedupe_key: str | None = None,
    ) -> Job:
        """:meth:`schedule` on the caller's transaction (the job commits with the change that implies it); the caller
        calls :meth:`wake` with its due time after the commit."""
        registered = self._kinds.get(kind)
        if registered is None:
            raise UnknownJobKind(f"no handler is registered for job kind {kind!r}")
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
        async with self._db.transaction(scope=guild_scope(guild_id)) as conn:
            return await self.cancel_in(conn, kind=kind, dedupe_key=dedupe_key, guild_id=guild_id, user_id=user_id)

    async def cancel_in(
        self,
        conn: Conn,
        *,
        kind: str | None = None,
        dedupe_key: str | None = None,
        guild_id: int | None = None,
        user_id: int | None = None,
    ) -> int:
        """:meth:`cancel` on the caller's transaction."""
        count = await store.cancel(
            conn, kind=kind, dedupe_key=dedupe_key, guild_id=guild_id, user_id=user_id, now=self._clock.now()
        )
        if count:
            log.debug("jobs cancelled count=%d kind=%s", count, kind)
        return count

    def wake(self, due_at: datetime | None = None) -> None:
        """Make :meth:`run_forever` look at the table now instead of at its next planned time; with ``due_at`` (a
        job just scheduled), only if that job is due before the loop looks by itself. A follow-up due in three days
        costs no pass: the loop's next look reads the table, and that job, anyway."""
        look_in = self.next_look
        # Compared as seconds from now: the clock may jump (a test's, or the system's) while the loop sleeps.
        if due_at is not None and look_in is not None and (due_at - self._clock.now()).total_seconds() >= look_in:
            return
        self._wake.set()

    @property
    def next_look(self) -> float | None:
        """While the loop sleeps: in how many seconds it looks at the table by itself. None while a pass runs."""
        if self._wakes_at is None:
            return None
        return max(self._wakes_at - asyncio.get_running_loop().time(), 0.0)

    @property
    def woken(self) -> bool:
        """A wake is pending: the loop looks at the table at once."""
        return self._wake.is_set()

    # -- running ------------------------------------------------------------------------------------------------

    def backoff(self, attempts: int) -> timedelta:
        """Wait before retry number ``attempts``: base, 2x base, 4x base, ... capped."""
        return min(self._backoff_base * (1 << min(max(attempts - 1, 0), 30)), self._backoff_cap)

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def running(self) -> int:
        """How many jobs this dispatcher is running right now."""
        return len(self._in_flight)

    async def run_due(self) -> RunReport:
        """Run everything due now in the pool (at most ``concurrency`` at a time, one per member) and return when
        all of it is done. Never sleeps; claims nothing once :meth:`stop_claiming` was called."""
        report = RunReport()
        mine: set[asyncio.Task[RunReport]] = set()
        while True:
            mine |= await self._fill()
            if not mine:
                return report
            done, _ = await asyncio.wait(mine, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                mine.discard(task)
                report += task.result()

    async def _fill(self) -> set[asyncio.Task[RunReport]]:
        """Claim as many due jobs as there are free slots and start them; return the tasks started."""
        started: set[asyncio.Task[RunReport]] = set()
        while not self._stopping:
            free = self._concurrency - len(self._in_flight)
            if free <= 0:
                break
            async with self._db.transaction(exclusive=False) as conn:  # claims lock their own rows
                batch = await store.claim_due(
                    conn,
                    now=self._clock.now(),
                    worker=self.worker,
                    lease_seconds=int(self._lease.total_seconds()),
                    limit=min(free, self._batch_size),
                )
            if not batch:
                break
            if self._stopping:  # shutdown began while the claim was on the database thread: give them back
                async with self._db.transaction() as conn:
                    for job in batch:
                        await store.release(conn, job_id=job.id, attempt=job.attempts)
                log.info("jobs released at shutdown count=%d", len(batch))
                break
            for job in batch:
                task = asyncio.create_task(self._run_guarded(job), name=f"porchlight-job-{job.id}")
                self._in_flight[task] = job
                task.add_done_callback(self._finished)
                started.add(task)
        return started

    def _finished(self, task: asyncio.Task[RunReport]) -> None:
        self._in_flight.pop(task, None)
        self._slot_freed.set()

    async def _run_guarded(self, job: Job) -> RunReport:
        lag = (self._clock.now() - job.due_at).total_seconds()
        try:
            report = await self._run_one(job)
            if self.observer is not None:
                self.observer(job.kind, lag, report)
            return report
        except asyncio.CancelledError:
            log.warning("job cut off id=%d kind=%s (its lease expires, then it is retried)", job.id, job.kind)
            raise
        except Exception as exc:  # recording the outcome failed (e.g. the database is locked): the lease expires
            log.exception("job bookkeeping failed id=%d kind=%s error=%s", job.id, job.kind, type(exc).__name__)
            return RunReport()

    async def renew_leases(self) -> int:
        """Extend the lease of every job this dispatcher is running, so a long job is not reclaimed by another
        worker; return how many are still ours. The loop calls this every third of a lease."""
        jobs = list(self._in_flight.values())
        if not jobs:
            return 0
        until = self._clock.now() + self._lease
        held = 0
        async with self._db.transaction() as conn:
            for job in jobs:
                if await store.renew_lease(conn, job_id=job.id, attempt=job.attempts, lease_until=until):
                    held += 1
                else:
                    log.warning("job lost its lease while running id=%d kind=%s", job.id, job.kind)
        return held

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
            async with self._db.statement(exclusive=False) as conn:  # one UPDATE of its own leased row
                await store.mark_skipped(conn, job_id=job.id, reason=reason, now=now, attempt=job.attempts)
            log.info("job skipped id=%d kind=%s late_s=%d", job.id, job.kind, int(lateness.total_seconds()))
            return RunReport(skipped=1)
        # Jobs are claimed only for free slots and started at once, so the lease of the claim is whole here.
        try:
            await kind.handler(job)
        except PermanentJobError as exc:
            return await self._fail(job, describe_error(exc))
        except Exception as exc:
            error = describe_error(exc)
            if job.attempts >= job.max_attempts:
                return await self._fail(job, error)
            retry_at = self._clock.now() + self.backoff(job.attempts)
            async with self._db.statement(exclusive=False) as conn:  # one UPDATE of its own leased row
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
        async with self._db.statement(exclusive=False) as conn:  # one UPDATE of its own leased row
            recorded = await store.mark_done(conn, job_id=job.id, now=self._clock.now(), attempt=job.attempts)
        if not recorded:
            log.warning("job finished after its lease was taken over id=%d kind=%s", job.id, job.kind)
        log.info("job done id=%d kind=%s attempt=%d", job.id, job.kind, job.attempts)
        return RunReport(ran=1)

    async def _fail(self, job: Job, error: str) -> RunReport:
        async with self._db.statement(exclusive=False) as conn:  # one UPDATE of its own leased row
            await store.mark_failed_or_retry(
                conn, job_id=job.id, error=error, retry_at=None, now=self._clock.now(), attempt=job.attempts
            )
        log.error("job failed id=%d kind=%s attempt=%d error=%s", job.id, job.kind, job.attempts, error.split(":")[0])
        return RunReport(failed=1)

    async def run_forever(self, *, idle: timedelta = timedelta(seconds=30)) -> None:
        """The dispatcher task: keep the pool full with due jobs; sleep until the next due job (``idle`` at most), a
        :meth:`wake`, or a free slot. Renews the leases of running jobs every third of a lease.

        Returns once :meth:`stop_claiming` was called and every running job has finished (see :meth:`drain`).
        Errors of a pass (a locked database, a bug) are logged and the loop goes on after ``idle``. Cancelling the
        task cancels the running jobs as well.
        """
        try:
            try:
                await self.reclaim_from_previous_run()
            except Exception as exc:
                log.exception("reclaiming jobs of a previous run failed error=%s", type(exc).__name__)
            await self._loop(idle.total_seconds())
        except asyncio.CancelledError:
            # Cancelled (not drained): running jobs are cut off too, and waited for, so that no job task outlives
            # the loop and touches a database that is about to close. Their leases expire; they are retried.
            cut = list(self._in_flight)
            for task in cut:
                task.cancel()
            await asyncio.gather(*cut, return_exceptions=True)
            raise

    async def _loop(self, idle_s: float) -> None:
        renew_every = self._lease.total_seconds() / 3
        loop = asyncio.get_running_loop()
        next_renewal = loop.time() + renew_every
        while True:
            self._wakes_at = None  # a job scheduled during the pass wakes the loop again
            self._wake.clear()  # before the pass, so a wake() during the pass is not lost
            self._slot_freed.clear()
            try:
                started = await self._fill()
                timeout = await self._seconds_until_next(idle_s)
                if not started and timeout == 0:
                    timeout = min(1.0, idle_s)  # due but not claimable now (a member's job is running): no spin
                if loop.time() >= next_renewal:
                    await self.renew_leases()
                    next_renewal = loop.time() + renew_every
            except Exception as exc:
                log.exception("job dispatch pass failed error=%s", type(exc).__name__)
                timeout = idle_s
            if self._stopping and not self._in_flight:
                return
            if self._in_flight:
                timeout = min(timeout, max(next_renewal - loop.time(), 0.0))
            self._wakes_at = loop.time() + timeout
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(self._slot_freed.wait())]
            try:
                await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()

    async def reclaim_from_previous_run(self) -> int:
        """At start-up: jobs that an earlier run of this worker was running when it died become claimable now
        instead of after their lease. Safe only while no two live processes share a worker name."""
        if self.worker == self.stable_name:
            return 0  # no incarnation: this run cannot be told from an earlier one
        async with self._db.transaction() as conn:
            count = await store.expire_leases_of_previous_runs(
                conn, stable_name=self.stable_name, current_worker=self.worker, now=self._clock.now()
            )
        if count:
            log.info("jobs of a previous run made claimable count=%d worker=%s", count, self.stable_name)
            self.wake()
        return count

    def stop_claiming(self) -> None:
        """Shutdown begins: no job starts from now on (jobs already running go on; see :meth:`drain`)."""
        if not self._stopping:
            self._stopping = True
            log.info("jobs: no new jobs start; running=%d", len(self._in_flight))
        self.wake()

    async def drain(self, within: float) -> bool:
        """Stop claiming and wait up to ``within`` seconds for the running jobs to finish. Jobs still running then
        are cancelled (their lease expires and they are retried). True when every job finished."""
        self.stop_claiming()
        running = list(self._in_flight)
        if not running:
            return True
        log.info("jobs: waiting for %d running jobs", len(running))
        _, cut = await asyncio.wait(running, timeout=within)
        for task in cut:
            task.cancel()
        await asyncio.gather(*cut, return_exceptions=True)
        if cut:
            log.warning("jobs: %d still running after %.0fs were cut off", len(cut), within)
        return not cut

    async def _seconds_until_next(self, cap: float) -> float:
        next_at = await store.next_due_at(self._db.conn)
        if next_at is None:
            return cap
        return min(max((next_at - self._clock.now()).total_seconds(), 0.0), cap)
