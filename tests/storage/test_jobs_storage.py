from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from services.clock import ManualClock
from storage import jobs
from storage.db import Database
from storage.jobs import DuplicateJob, JobStatus


async def test_schedule_with_a_pending_dedupe_key_replaces_that_job(db: Database, clock: ManualClock) -> None:
    key = "checkin-followup:1:2"
    first = await jobs.schedule(
        db.conn, kind="followup", due_at=clock.now() + timedelta(days=3), payload={"n": 1}, dedupe_key=key,
        guild_id=1, user_id=2, now=clock.now(),
    )  # fmt: skip
    second = await jobs.schedule(
        db.conn, kind="followup", due_at=clock.now() + timedelta(days=5), payload={"n": 2}, dedupe_key=key,
        guild_id=1, user_id=2, now=clock.now(),
    )  # fmt: skip
    assert second.id == first.id
    [only] = await jobs.pending(db.conn, kind="followup")
    assert only.payload == {"n": 2} and only.due_at == clock.now() + timedelta(days=5)


async def test_a_finished_dedupe_key_can_be_scheduled_again(db: Database, clock: ManualClock) -> None:
    first = await jobs.schedule(db.conn, kind="k", due_at=clock.now(), dedupe_key="once", now=clock.now())
    async with db.transaction() as conn:
        await jobs.claim_due(conn, now=clock.now(), worker="w", lease_seconds=60, limit=10)
        await jobs.mark_done(conn, job_id=first.id, now=clock.now())
    again = await jobs.schedule(db.conn, kind="k", due_at=clock.now(), dedupe_key="once", now=clock.now())
    assert again.id != first.id and again.status is JobStatus.PENDING


async def test_a_running_dedupe_key_cannot_be_replaced(db: Database, clock: ManualClock) -> None:
    await jobs.schedule(db.conn, kind="k", due_at=clock.now(), dedupe_key="busy", now=clock.now())
    async with db.transaction() as conn:
        await jobs.claim_due(conn, now=clock.now(), worker="w", lease_seconds=60, limit=10)
    with pytest.raises(DuplicateJob):
        await jobs.schedule(db.conn, kind="k", due_at=clock.now(), dedupe_key="busy", now=clock.now())


async def test_the_schema_forbids_two_live_jobs_with_one_dedupe_key(db: Database) -> None:
    insert = "INSERT INTO jobs (kind, due_at, status, dedupe_key, created_at) VALUES ('k', 0, 'pending', 'x', 0)"
    await db.conn.execute(insert)
    with pytest.raises(sqlite3.IntegrityError):
        await db.conn.execute(insert)


async def test_cancel_touches_only_matching_pending_jobs_and_needs_a_filter(db: Database, clock: ManualClock) -> None:
    later = clock.now() + timedelta(hours=1)
    await jobs.schedule(db.conn, kind="reminder", due_at=later, user_id=1, now=clock.now())
    await jobs.schedule(db.conn, kind="reminder", due_at=later, user_id=2, now=clock.now())
    await jobs.schedule(db.conn, kind="followup", due_at=later, user_id=1, now=clock.now())
    running = await jobs.schedule(db.conn, kind="reminder", due_at=clock.now(), user_id=1, now=clock.now())
    async with db.transaction() as conn:
        assert [j.id for j in await jobs.claim_due(conn, now=clock.now(), worker="w", lease_seconds=60, limit=9)] == [
            running.id
        ]
    with pytest.raises(ValueError):
        await jobs.cancel(db.conn)
    assert await jobs.cancel(db.conn, kind="reminder", user_id=1, now=clock.now()) == 1
    assert [(j.kind, j.user_id) for j in await jobs.pending(db.conn)] == [("reminder", 2), ("followup", 1)]
    assert (await jobs.get(db.conn, running.id)).status is JobStatus.RUNNING  # type: ignore[union-attr]


async def test_claim_due_takes_only_due_jobs_and_needs_begin_immediate(db: Database, clock: ManualClock) -> None:
    due = await jobs.schedule(db.conn, kind="k", due_at=clock.now(), now=clock.now())
    await jobs.schedule(db.conn, kind="k", due_at=clock.now() + timedelta(seconds=1), now=clock.now())
    with pytest.raises(RuntimeError, match="BEGIN IMMEDIATE"):
        await jobs.claim_due(db.conn, now=clock.now(), worker="w", lease_seconds=60, limit=10)
    async with db.transaction() as conn:
        [claimed] = await jobs.claim_due(conn, now=clock.now(), worker="w", lease_seconds=60, limit=10)
    assert claimed.id == due.id and claimed.status is JobStatus.RUNNING and claimed.attempts == 1
    assert claimed.claimed_by == "w" and claimed.lease_until == clock.now() + timedelta(seconds=60)
    assert await jobs.next_due_at(db.conn) == clock.now() + timedelta(seconds=1)


async def test_a_stale_claim_cannot_record_an_outcome_over_the_new_one(db: Database, clock: ManualClock) -> None:
    job = await jobs.schedule(db.conn, kind="k", due_at=clock.now(), now=clock.now())
    async with db.transaction() as conn:
        [old] = await jobs.claim_due(conn, now=clock.now(), worker="a", lease_seconds=60, limit=1)
    clock.advance(minutes=2)
    async with db.transaction() as conn:
        [new] = await jobs.claim_due(conn, now=clock.now(), worker="b", lease_seconds=60, limit=1)
    assert new.id == job.id and new.attempts == old.attempts + 1
    assert await jobs.mark_done(db.conn, job_id=job.id, now=clock.now(), attempt=old.attempts) is False
    assert await jobs.mark_done(db.conn, job_id=job.id, now=clock.now(), attempt=new.attempts) is True


async def test_delete_for_user_removes_every_job_about_the_member(db: Database, clock: ManualClock) -> None:
    await jobs.schedule(db.conn, kind="k", due_at=clock.now(), user_id=7, now=clock.now())
    await jobs.schedule(db.conn, kind="k", due_at=clock.now(), user_id=8, now=clock.now())
    assert await jobs.delete_for_user(db.conn, user_id=7) == 1
    assert [j.user_id for j in await jobs.pending(db.conn)] == [8]
