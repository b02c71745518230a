"""The job dispatcher on a real SQLite file: exactly-once runs, retries, lateness, catch-up, leases, the loop."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from services.clock import ManualClock
from services.jobs import Handler, JobDispatcher, JobKind, PermanentJobError, RunReport, UnknownJobKind
from storage import jobs
from storage.db import Database
from storage.jobs import Job, JobStatus


class Recorder:
    """A handler that counts calls per job id and can be told to fail."""

    def __init__(self, fail_times: int = 0, error: Exception | None = None) -> None:
        self.calls: Counter[int] = Counter()
        self.fail_times = fail_times
        self.error = error or RuntimeError("discord said 503")
        self.called = asyncio.Event()

    async def __call__(self, job: Job) -> None:
        self.calls[job.id] += 1
        self.called.set()
        await asyncio.sleep(0)  # let another dispatcher interleave
        if self.calls[job.id] <= self.fail_times:
            raise self.error


def dispatcher(db: Database, clock: ManualClock, worker: str = "w1", **kinds: Handler) -> JobDispatcher:
    d = JobDispatcher(db, clock, worker=worker, batch_size=7)
    for name, handler in kinds.items():
        d.register(JobKind(name, handler, max_lateness=timedelta(hours=1) if name == "reminder" else None))
    return d


async def status(db: Database, job_id: int) -> Job:
    job = await jobs.get(db.conn, job_id)
    assert job is not None
    return job


async def test_two_dispatchers_on_two_connections_run_every_job_exactly_once(
    db: Database, second_db: Database, clock: ManualClock
) -> None:
    handler = Recorder()
    both_running = asyncio.Barrier(2)

    def first_job_waits_for_the_other(worker: Recorder) -> Handler:
        """Each dispatcher's first job waits until the other dispatcher runs one too, so both really contend for
        the same rows whatever the machine's load (else one may claim everything before the other starts)."""
        started = False

        async def run(job: Job) -> None:
            nonlocal started
            if not started:
                started = True
                await asyncio.wait_for(both_running.wait(), 10)
            await worker(job)

        return run

    first = dispatcher(db, clock, "w1", followup=first_job_waits_for_the_other(handler))
    second = dispatcher(second_db, clock, "w2", followup=first_job_waits_for_the_other(handler))
    scheduled = [
        await first.schedule(kind="followup", due_at=clock.now() - timedelta(seconds=i), user_id=i) for i in range(120)
    ]
    clock.advance(seconds=1)

    one, two = await asyncio.gather(first.run_due(), second.run_due())

    assert handler.calls == Counter({job.id: 1 for job in scheduled})
    assert one.ran + two.ran == 120 and one.ran > 0 and two.ran > 0
    async with db.conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status") as cur:
        assert [tuple(row) for row in await cur.fetchall()] == [("done", 120)]


async def test_a_failing_job_retries_with_exponential_backoff_then_succeeds(db: Database, clock: ManualClock) -> None:
    handler = Recorder(fail_times=2)
    d = dispatcher(db, clock, followup=handler)
    job = await d.schedule(kind="followup", due_at=clock.now())

    assert await d.run_due() == RunReport(retried=1)
    first_retry = await status(db, job.id)
    assert first_retry.status is JobStatus.PENDING and first_retry.due_at == clock.now() + timedelta(seconds=30)
    assert first_retry.last_error == "RuntimeError: discord said 503"
    clock.advance(seconds=29)
    assert await d.run_due() == RunReport()  # not yet
    clock.advance(seconds=1)
    assert await d.run_due() == RunReport(retried=1)
    assert (await status(db, job.id)).due_at == clock.now() + timedelta(seconds=60)
    clock.advance(seconds=60)
    assert await d.run_due() == RunReport(ran=1)
    done = await status(db, job.id)
    assert done.status is JobStatus.DONE and done.attempts == 3 and handler.calls[job.id] == 3


async def test_backoff_doubles_up_to_the_cap(db: Database, clock: ManualClock) -> None:
    d = JobDispatcher(db, clock, worker="w", backoff_base=timedelta(seconds=30), backoff_cap=timedelta(minutes=5))
    assert [d.backoff(n).total_seconds() for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


async def test_a_job_that_keeps_failing_fails_after_max_attempts(db: Database, clock: ManualClock) -> None:
    handler = Recorder(fail_times=99)
    d = JobDispatcher(db, clock, worker="w")
    d.register(JobKind("followup", handler, max_attempts=3))
    job = await d.schedule(kind="followup", due_at=clock.now())
    reports = []
    for _ in range(3):
        reports.append(await d.run_due())
        clock.advance(hours=1)
    assert reports == [RunReport(retried=1), RunReport(retried=1), RunReport(failed=1)]
    failed = await status(db, job.id)
    assert failed.status is JobStatus.FAILED and failed.attempts == 3 and failed.finished_at is not None
    assert await d.run_due() == RunReport()


async def test_permanent_job_error_fails_without_retry(db: Database, clock: ManualClock) -> None:
    handler = Recorder(fail_times=1, error=PermanentJobError("channel 42 is gone"))
    d = dispatcher(db, clock, followup=handler)
    job = await d.schedule(kind="followup", due_at=clock.now())
    assert await d.run_due() == RunReport(failed=1)
    failed = await status(db, job.id)
    assert failed.status is JobStatus.FAILED and failed.last_error == "PermanentJobError: channel 42 is gone"
    clock.advance(days=1)
    assert await d.run_due() == RunReport() and handler.calls[job.id] == 1


async def test_a_job_later_than_its_kinds_max_lateness_is_skipped_not_sent(db: Database, clock: ManualClock) -> None:
    handler = Recorder()
    d = dispatcher(db, clock, reminder=handler)
    on_time = await d.schedule(kind="reminder", due_at=clock.now() + timedelta(hours=2))
    too_late = await d.schedule(kind="reminder", due_at=clock.now())
    clock.advance(hours=2)
    assert await d.run_due() == RunReport(ran=1, skipped=1)
    assert handler.calls == Counter({on_time.id: 1})
    skipped = await status(db, too_late.id)
    assert skipped.status is JobStatus.SKIPPED and skipped.last_error is not None
    assert skipped.last_error.startswith("TooLate: due 7200s ago")


async def test_after_an_outage_each_overdue_job_runs_once(db: Database, clock: ManualClock) -> None:
    followups, reminders = Recorder(), Recorder()
    d = dispatcher(db, clock, followup=followups, reminder=reminders)
    overdue = [await d.schedule(kind="followup", due_at=clock.now() + timedelta(minutes=m)) for m in range(0, 300, 20)]
    recent_reminder = await d.schedule(kind="reminder", due_at=clock.now() + timedelta(hours=5, minutes=30))
    stale_reminder = await d.schedule(kind="reminder", due_at=clock.now() + timedelta(minutes=10))

    clock.advance(hours=6)  # the bot was down
    restarted = dispatcher(db, clock, "w-after-restart", followup=followups, reminder=reminders)
    assert await restarted.run_due() == RunReport(ran=len(overdue) + 1, skipped=1)
    assert await restarted.run_due() == RunReport()

    assert followups.calls == Counter({job.id: 1 for job in overdue})
    assert reminders.calls == Counter({recent_reminder.id: 1})
    assert (await status(db, stale_reminder.id)).status is JobStatus.SKIPPED


async def test_a_job_whose_worker_died_is_reclaimed_after_its_lease(db: Database, clock: ManualClock) -> None:
    handler = Recorder()
    job = await jobs.schedule(db.conn, kind="followup", due_at=clock.now(), now=clock.now())
    async with db.transaction() as conn:  # a worker claims it, then crashes
        await jobs.claim_due(conn, now=clock.now(), worker="crashed", lease_seconds=300, limit=10)
    d = dispatcher(db, clock, "survivor", followup=handler)

    clock.advance(minutes=4)
    assert await d.run_due() == RunReport() and not handler.calls
    clock.advance(minutes=1)
    assert await d.run_due() == RunReport(ran=1)
    done = await status(db, job.id)
    assert done.status is JobStatus.DONE and done.claimed_by == "survivor" and done.attempts == 2


async def test_a_reclaimed_job_with_no_attempts_left_fails_instead_of_running(db: Database, clock: ManualClock) -> None:
    handler = Recorder()
    job = await jobs.schedule(db.conn, kind="followup", due_at=clock.now(), max_attempts=1, now=clock.now())
    async with db.transaction() as conn:
        await jobs.claim_due(conn, now=clock.now(), worker="crashed", lease_seconds=60, limit=10)
    clock.advance(minutes=2)
    assert await dispatcher(db, clock, followup=handler).run_due() == RunReport(failed=1)
    assert not handler.calls and (await status(db, job.id)).last_error == "LeaseExpired: no attempts left after 1"


async def test_a_job_of_an_unknown_kind_fails_with_a_clear_error(db: Database, clock: ManualClock) -> None:
    job = await jobs.schedule(db.conn, kind="retired-feature", due_at=clock.now(), now=clock.now())
    assert await dispatcher(db, clock).run_due() == RunReport(failed=1)
    failed = await status(db, job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.last_error == "UnknownJobKind: no handler is registered for job kind 'retired-feature'"


async def test_scheduling_an_unregistered_kind_is_refused(db: Database, clock: ManualClock) -> None:
    with pytest.raises(UnknownJobKind):
        await dispatcher(db, clock).schedule(kind="typo", due_at=clock.now())


async def test_dispatcher_cancel_stops_a_pending_job(db: Database, clock: ManualClock) -> None:
    handler = Recorder()
    d = dispatcher(db, clock, followup=handler)
    await d.schedule(kind="followup", due_at=clock.now(), dedupe_key="checkin-followup:1:2")
    assert await d.cancel(dedupe_key="checkin-followup:1:2") == 1
    assert await d.run_due() == RunReport() and not handler.calls


async def test_run_forever_is_woken_by_schedule_survives_errors_and_stops_on_cancel(
    db: Database, clock: ManualClock
) -> None:
    broken, handler = Recorder(fail_times=1, error=ValueError("bug")), Recorder()
    d = dispatcher(db, clock, broken=broken, followup=handler)
    loop = asyncio.create_task(d.run_forever(idle=timedelta(hours=1)))
    try:
        await d.schedule(kind="broken", due_at=clock.now())
        await asyncio.wait_for(broken.called.wait(), timeout=5)
        job = await d.schedule(kind="followup", due_at=clock.now())  # the idle cap is an hour: only wake() helps
        await asyncio.wait_for(handler.called.wait(), timeout=5)
        assert handler.calls == Counter({job.id: 1})
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
    assert loop.cancelled()
    assert not db.conn.in_transaction


async def test_a_job_due_after_the_loops_next_look_wakes_nothing_and_a_sooner_one_does(
    db: Database, clock: ManualClock
) -> None:
    handler = Recorder()
    d = dispatcher(db, clock, followup=handler)
    loop = asyncio.create_task(d.run_forever(idle=timedelta(seconds=30)))
    try:
        async with asyncio.timeout(5):
            while d.next_look is None:  # noqa: ASYNC110 - the first pass found nothing due: the loop sleeps
                await asyncio.sleep(0.01)
        assert 0 < (d.next_look or 0) <= 30
        # A check-in's follow-up, days away: the loop's own next look reads it anyway, so no pass now.
        later = await d.schedule(kind="followup", due_at=clock.now() + timedelta(days=3))
        assert not d.woken
        # The clock jumps past the loop's planned look (a test's clock; the system's can too): a job due now by
        # the new clock is due before the loop would look, so it looks at once and runs it.
        clock.advance(timedelta(minutes=5))
        now = await d.schedule(kind="followup", due_at=clock.now())
        assert d.woken
        await asyncio.wait_for(handler.called.wait(), timeout=5)
        assert handler.calls == Counter({now.id: 1})
        assert (await status(db, later.id)).status is JobStatus.PENDING
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
