"""The daily automatic backup as a job: scheduled at start, made, rotated, rescheduled, caught up after downtime."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from services.backups import BACKUP_JOB, BackupService
from services.clock import ManualClock
from services.jobs import JobDispatcher, RunReport
from storage import jobs as store
from storage.backup import automatic_backups
from storage.db import Database

pytestmark = pytest.mark.sqlite_only  # about the SQLite file itself


def service(
    db: Database, clock: ManualClock, db_path: Path, folder: Path, keep: int = 7
) -> tuple[BackupService, JobDispatcher]:
    """The service wired as bot.py wires it, and the dispatcher that runs its jobs."""
    dispatcher = JobDispatcher(db, clock, worker="test")
    return BackupService(db, dispatcher, clock, database=db_path, folder=folder, keep=keep, key_file=None), dispatcher


async def pending_backup_due(db: Database) -> list[object]:
    return [job.due_at for job in await store.pending(db.conn, kind=BACKUP_JOB)]


async def test_the_first_start_backs_up_at_once_then_daily_keeping_the_newest_seven(
    db: Database, db_path: Path, tmp_path: Path, clock: ManualClock
) -> None:
    folder = tmp_path / "backups"
    backups, jobs = service(db, clock, db_path, folder)
    await db.conn.execute("INSERT INTO meta (key, value) VALUES ('marker', 'before the first backup')")

    first = await backups.ensure_scheduled()
    assert first is not None and first.due_at == clock.now()
    for _ in range(9):
        assert await jobs.run_due() == RunReport(ran=1)
        assert await pending_backup_due(db) == [clock.now() + timedelta(days=1)]  # exactly one next run
        clock.advance(days=1)

    kept = automatic_backups(folder, db_path)
    assert len(kept) == 7
    assert folder.stat().st_mode & 0o777 == 0o700
    newest = sqlite3.connect(kept[-1])
    try:
        assert newest.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        assert newest.execute("SELECT value FROM meta WHERE key = 'marker'").fetchall() == [
            ("before the first backup",)
        ]
    finally:
        newest.close()


async def test_a_restart_neither_postpones_nor_duplicates_the_next_backup(
    db: Database, db_path: Path, tmp_path: Path, clock: ManualClock
) -> None:
    folder = tmp_path / "backups"
    backups, jobs = service(db, clock, db_path, folder)
    await backups.ensure_scheduled()
    await jobs.run_due()
    made_at = clock.now()
    clock.advance(hours=5)

    restarted, _ = service(db, clock, db_path, folder)
    await restarted.ensure_scheduled()
    assert await pending_backup_due(db) == [made_at + timedelta(days=1)]

    # Without a pending row (say, the jobs table was emptied), the next run is a day after the newest file.
    await store.cancel(db.conn, kind=BACKUP_JOB)
    again, _ = service(db, clock, db_path, folder)
    job = await again.ensure_scheduled()
    assert job is not None and job.due_at == made_at + timedelta(days=1)


async def test_after_days_of_downtime_one_backup_is_made_and_the_next_is_a_day_later(
    db: Database, db_path: Path, tmp_path: Path, clock: ManualClock
) -> None:
    folder = tmp_path / "backups"
    backups, jobs = service(db, clock, db_path, folder)
    await backups.ensure_scheduled()
    clock.advance(days=4)
    assert await jobs.run_due() == RunReport(ran=1)
    assert len(automatic_backups(folder, db_path)) == 1
    assert await pending_backup_due(db) == [clock.now() + timedelta(days=1)]


async def test_keep_zero_turns_automatic_backups_off(
    db: Database, db_path: Path, tmp_path: Path, clock: ManualClock
) -> None:
    backups, jobs = service(db, clock, db_path, tmp_path / "backups", keep=0)
    assert await backups.ensure_scheduled() is None
    assert await pending_backup_due(db) == []
    assert not (tmp_path / "backups").exists()
