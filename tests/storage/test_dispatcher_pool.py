"""The dispatcher's pool on a real SQLite file: concurrency, per-member order, leases of long jobs, shutdown drain."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from datetime import timedelta

from services.clock import ManualClock
from services.jobs import JobDispatcher, JobKind, RunReport
from storage import jobs
from storage.db import Database
from storage.jobs import Job, JobStatus


class Tracker:
    """A handler that records which jobs ran, in what order per member, and how many ran at once.

    Jobs listed in ``hold`` wait for ``gate`` before finishing; ``started[id]`` is set when a job begins.
    """

    def __init__(self, hold: set[int] | None = None) -> None:
        self.calls: Counter[int] = Counter()
        self.order: defaultdict[int | None, list[int]] = defaultdict(list)
        self.active: set[int] = set()
        self.active_members: set[int] = set()
        self.max_active = 0
        self.overlaps: list[int] = []  # members seen with two jobs running at once
        self.hold = hold or set()
        self.gate = asyncio.Event()
        self.started: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.finished_count = 0
        self.finished_enough = asyncio.Event()
        self.enough = 0

    async def __call__(self, job: Job) -> None:
        self.calls[job.id] += 1
        if job.user_id is not None:
            if job.user_id in self.active_members:
                self.overlaps.append(job.user_id)
            self.active_members.add(job.user_id)
        self.order[job.user_id].append(job.id)
        self.active.add(job.id)
        self.max_active = max(self.max_active, len(self.active))
        self.started[job.id].set()
        try:
            for _ in range(3):
                await asyncio.sleep(0)  # let other jobs, and another dispatcher, interleave
            if job.id in self.hold:
                await self.gate.wait()
        finally:
            self.active.discard(job.id)
            if job.user_id is not None:
                self.active_members.discard(job.user_id)
            self.finished_count += 1
            if self.enough and self.finished_count >= self.enough:
                self.finished_enough.set()


def pool(db: Database, clock: ManualClock, handler: Tracker, worker: str = "w1", concurrency: int = 8) -> JobDispatcher:
    d = JobDispatcher(db, clock, worker=worker, batch_size=5, concurrency=concurrency)
    d.register(JobKind("dm", handler))
    return d


async def schedule_many(d: JobDispatcher, clock: ManualClock, members: int, per_member: int) -> list[Job]:
    """``per_member`` jobs for each member, due times interleaved across members."""
    scheduled = []
    for n in range(per_member):
        for member in range(members):
            due = clock.now() - timedelta(seconds=10_000 - n * members - member)
            scheduled.append(await d.schedule(kind="dm", due_at=due, user_id=1000 + member))
    return scheduled


async def test_two_pools_on_two_connections_run_every_job_exactly_once(
    db: Database, second_db: Database, clock: ManualClock
) -> None:
    handler = Tracker()
    workers_seen: set[str | None] = set()

    async def until_both_pools_run(job: Job) -> None:
        # Jobs wait until both pools hold one, so the test is sure to exercise two pools claiming side by side.
        workers_seen.add(job.claimed_by)
        if len(workers_seen) == 2:
            handler.gate.set()
        await handler(job)

    first = JobDispatcher(db, clock, worker="w1", batch_size=5, concurrency=8)
    second = JobDispatcher(second_db, clock, worker="w2", batch_size=5, concurrency=8)
    for d in (first, second):
        d.register(JobKind("dm", until_both_pools_run))
    scheduled = await schedule_many(first, clock, members=40, per_member=6)
    handler.hold = {job.id for job in scheduled}

    one, two = await asyncio.wait_for(asyncio.gather(first.run_due(), second.run_due()), 30)

    assert handler.calls == Counter({job.id: 1 for job in scheduled})
    assert one.ran + two.ran == 240 and one.ran > 0 and two.ran > 0
    assert handler.max_active > 1  # the pool did run jobs side by side
    rows = await db.conn.execute_fetchall("SELECT status, COUNT(*) FROM jobs GROUP BY status")
    assert [tuple(row) for row in rows] == [("done", 240)]


async def test_a_members_jobs_never_overlap_and_run_in_due_order_across_two_pools(
    db: Database, second_db: Database, clock: ManualClock
) -> None:
    """Every job is held until the test lets it go, one round at a time: in each round exactly one job per member
    runs (across both pools, which have a slot to spare), and it is that member's next job in due order."""
    members, rounds = 5, 6
    starts: list[Job] = []
    round_started = asyncio.Event()
    released: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)

    async def held(job: Job) -> None:
        starts.append(job)
        if len(starts) % members == 0:
            round_started.set()
        await released[job.id].wait()

    # Three slots each: neither pool can take every member's job alone, so both always hold some.
    first = JobDispatcher(db, clock, worker="w1", batch_size=3, concurrency=3)
    second = JobDispatcher(second_db, clock, worker="w2", batch_size=3, concurrency=3)
    for d in (first, second):
        d.register(JobKind("dm", held))
    scheduled = await schedule_many(first, clock, members=members, per_member=rounds)
    expected = {
        member: [j.id for j in sorted(scheduled, key=lambda j: (j.due_at, j.id)) if j.user_id == member]
        for member in {j.user_id for j in scheduled}
    }
    runs = asyncio.gather(first.run_due(), second.run_due())

    for n in range(rounds):
        await asyncio.wait_for(round_started.wait(), 10)
        round_started.clear()
        this_round = starts[n * members : (n + 1) * members]
        assert sorted(j.id for j in this_round) == sorted(ids[n] for ids in expected.values())
        assert first.running + second.running == members  # nobody's next job started early
        for job in this_round:
            released[job.id].set()

    one, two = await asyncio.wait_for(runs, 10)
    assert one.ran + two.ran == members * rounds and one.ran > 0 and two.ran > 0


async def test_the_pool_runs_up_to_its_concurrency_and_no_more(db: Database, clock: ManualClock) -> None:
    scheduled_ids = set(range(1, 11))
    handler = Tracker(hold=scheduled_ids)
    d = pool(db, clock, handler, concurrency=3)
    for member in range(10):
        await d.schedule(kind="dm", due_at=clock.now(), user_id=member)
    run = asyncio.create_task(d.run_due())
    for job_id in (1, 2, 3):
        await asyncio.wait_for(handler.started[job_id].wait(), 5)
    assert d.running == 3 and len(handler.active) == 3
    handler.gate.set()
    assert await asyncio.wait_for(run, 10) == RunReport(ran=10)
    assert handler.max_active == 3


async def test_a_slow_job_does_not_block_other_members_but_holds_back_its_own_members_next_job(
    db: Database, clock: ManualClock
) -> None:
    handler = Tracker()
    d = pool(db, clock, handler, concurrency=4)
    slow = await d.schedule(kind="dm", due_at=clock.now() - timedelta(minutes=5), user_id=1)
    same_member_next = await d.schedule(kind="dm", due_at=clock.now() - timedelta(minutes=4), user_id=1)
    others = [await d.schedule(kind="dm", due_at=clock.now(), user_id=100 + n) for n in range(12)]
    handler.hold = {slow.id}
    handler.enough = len(others)

    run = asyncio.create_task(d.run_due())
    await asyncio.wait_for(handler.finished_enough.wait(), 10)  # every other member's job is done meanwhile

    assert all(handler.calls[job.id] == 1 for job in others)
    assert handler.calls[same_member_next.id] == 0  # waits for the member's running job
    handler.gate.set()
    assert await asyncio.wait_for(run, 10) == RunReport(ran=14)
    assert handler.order[1] == [slow.id, same_member_next.id]


async def test_a_long_job_renews_its_lease_and_is_not_reclaimed_by_another_worker(
    db: Database, second_db: Database, clock: ManualClock
) -> None:
    handler = Tracker()
    first = pool(db, clock, handler, "w1")
    second = pool(second_db, clock, handler, "w2")
    job = await first.schedule(kind="dm", due_at=clock.now(), user_id=7)
    handler.hold = {job.id}
    run = asyncio.create_task(first.run_due())
    await asyncio.wait_for(handler.started[job.id].wait(), 5)

    clock.advance(minutes=4)
    assert await first.renew_leases() == 1
    clock.advance(minutes=4)  # eight minutes into a five-minute lease
    assert await second.run_due() == RunReport()

    handler.gate.set()
    assert await asyncio.wait_for(run, 5) == RunReport(ran=1)
    done = await jobs.get(db.conn, job.id)
    assert done is not None and done.status is JobStatus.DONE and done.attempts == 1 and handler.calls[job.id] == 1


async def test_drain_lets_the_running_job_finish_and_starts_no_other(db: Database, clock: ManualClock) -> None:
    handler = Tracker()
    d = pool(db, clock, handler, concurrency=1)
    running = await d.schedule(kind="dm", due_at=clock.now() - timedelta(seconds=1), user_id=1)
    waiting = await d.schedule(kind="dm", due_at=clock.now(), user_id=2)  # would start the moment a slot frees
    handler.hold = {running.id}
    loop = asyncio.create_task(d.run_forever(idle=timedelta(hours=1)))
    await asyncio.wait_for(handler.started[running.id].wait(), 5)

    draining = asyncio.create_task(d.drain(within=30))
    await asyncio.sleep(0)  # let the drain begin
    assert d.stopping
    handler.gate.set()
    assert await asyncio.wait_for(draining, 10) is True
    await asyncio.wait_for(loop, 10)  # the loop ends by itself once its jobs are done

    finished, untouched = await jobs.get(db.conn, running.id), await jobs.get(db.conn, waiting.id)
    assert finished is not None and finished.status is JobStatus.DONE
    assert untouched is not None and untouched.status is JobStatus.PENDING and untouched.attempts == 0
    assert handler.calls[waiting.id] == 0
    assert not db.conn.in_transaction


async def test_drain_cuts_off_a_job_that_outlives_it_and_leaves_it_to_its_lease(
    db: Database, clock: ManualClock
) -> None:
    handler = Tracker()
    d = pool(db, clock, handler)
    job = await d.schedule(kind="dm", due_at=clock.now(), user_id=1)
    handler.hold = {job.id}  # the gate never opens
    loop = asyncio.create_task(d.run_forever(idle=timedelta(hours=1)))
    await asyncio.wait_for(handler.started[job.id].wait(), 5)

    assert await d.drain(within=0.01) is False
    await asyncio.wait_for(loop, 10)
    cut = await jobs.get(db.conn, job.id)
    assert cut is not None and cut.status is JobStatus.RUNNING  # retried once its lease expires
    assert not db.conn.in_transaction


async def test_once_stopping_a_pass_claims_nothing(db: Database, clock: ManualClock) -> None:
    handler = Tracker()
    d = pool(db, clock, handler)
    job = await d.schedule(kind="dm", due_at=clock.now(), user_id=1)
    d.stop_claiming()
    assert await d.run_due() == RunReport()
    untouched = await jobs.get(db.conn, job.id)
    assert untouched is not None and untouched.status is JobStatus.PENDING and not handler.calls


async def test_a_released_claim_is_pending_again_without_using_an_attempt(db: Database, clock: ManualClock) -> None:
    job = await jobs.schedule(db.conn, kind="dm", due_at=clock.now(), user_id=1, now=clock.now())
    async with db.transaction() as conn:
        [claimed] = await jobs.claim_due(conn, now=clock.now(), worker="w", lease_seconds=300, limit=5)
        assert await jobs.release(conn, job_id=claimed.id, attempt=claimed.attempts)
    back = await jobs.get(db.conn, job.id)
    assert back is not None and back.status is JobStatus.PENDING and back.attempts == 0 and back.claimed_by is None


async def crashed_run_holds(db: Database, clock: ManualClock, claimed_by: str) -> Job:
    """A job that a run which then died (SIGKILL, power loss) was running: its five-minute lease is still live."""
    job = await jobs.schedule(db.conn, kind="dm", due_at=clock.now(), now=clock.now())
    async with db.transaction() as conn:
        [claimed] = await jobs.claim_due(conn, now=clock.now(), worker=claimed_by, lease_seconds=300, limit=1)
    assert claimed.id == job.id
    clock.advance(seconds=20)  # the restart
    return job


async def test_after_a_crash_the_restarted_worker_takes_back_its_previous_runs_jobs_at_once(
    db: Database, clock: ManualClock
) -> None:
    job = await crashed_run_holds(db, clock, "bot:0ld0ld00")
    handler = Tracker()
    restarted = JobDispatcher(db, clock, worker="bot", incarnation="n3wn3wn3")
    restarted.register(JobKind("dm", handler))

    assert await restarted.run_due() == RunReport()  # the lease would hold it back for minutes
    assert await restarted.reclaim_from_previous_run() == 1
    assert await restarted.run_due() == RunReport(ran=1)
    done = await jobs.get(db.conn, job.id)
    assert done is not None and done.status is JobStatus.DONE and done.attempts == 2
    assert done.claimed_by == "bot:n3wn3wn3"


async def test_a_job_claimed_before_incarnations_existed_is_taken_back_too(db: Database, clock: ManualClock) -> None:
    await crashed_run_holds(db, clock, "bot")
    restarted = JobDispatcher(db, clock, worker="bot", incarnation="n3w")
    assert await restarted.reclaim_from_previous_run() == 1


async def test_another_workers_live_lease_and_this_runs_own_are_left_alone(db: Database, clock: ManualClock) -> None:
    await crashed_run_holds(db, clock, "bot-eu:aaaa")  # another process, whose name merely starts the same
    await crashed_run_holds(db, clock, "other:bbbb")
    await crashed_run_holds(db, clock, "bot:n3w")  # claimed by this very run
    restarted = JobDispatcher(db, clock, worker="bot", incarnation="n3w")
    restarted.register(JobKind("dm", Tracker()))
    assert await restarted.reclaim_from_previous_run() == 0
    assert await restarted.run_due() == RunReport()
    plain = JobDispatcher(db, clock, worker="bot")  # no incarnation: cannot tell runs apart, takes nothing
    assert await plain.reclaim_from_previous_run() == 0


async def test_a_members_job_cut_off_by_a_crash_is_retried_before_their_next_one(
    db: Database, clock: ManualClock
) -> None:
    first = await jobs.schedule(db.conn, kind="dm", due_at=clock.now(), user_id=5, now=clock.now())
    async with db.transaction() as conn:
        await jobs.claim_due(conn, now=clock.now(), worker="crashed", lease_seconds=60, limit=5)
    second = await jobs.schedule(db.conn, kind="dm", due_at=clock.now(), user_id=5, now=clock.now())
    clock.advance(minutes=2)  # the crashed worker's lease is over
    async with db.transaction() as conn:
        claimed = await jobs.claim_due(conn, now=clock.now(), worker="w", lease_seconds=60, limit=5)
        assert [job.id for job in claimed] == [first.id]  # the member's next job waits for it
        assert await jobs.claim_due(conn, now=clock.now(), worker="w2", lease_seconds=60, limit=5) == []
    handler = Tracker()
    d = pool(db, clock, handler)
    await jobs.mark_done(db.conn, job_id=first.id, now=clock.now())
    assert await d.run_due() == RunReport(ran=1) and handler.calls == Counter({second.id: 1})
