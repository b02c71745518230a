"""The daily automatic backup: a ``backup.daily`` job in the jobs table, a timestamped copy, rotation.

The job carries no member data. Each run makes a backup (``storage.backup``, off the event loop), removes all but the
newest ``keep``, and schedules the next run a day later. At start-up :meth:`BackupService.ensure_scheduled` schedules
the next run from the newest backup on disk (or now, when there is none), so restarts neither skip nor postpone it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

from services.clock import Clock
from services.jobs import JobDispatcher, JobKind
from storage import backup as files
from storage import jobs as store
from storage.db import Database
from storage.jobs import DuplicateJob, Job

log = logging.getLogger(__name__)

BACKUP_JOB = "backup.daily"
INTERVAL = timedelta(days=1)


class BackupService:
    def __init__(
        self,
        db: Database,
        dispatcher: JobDispatcher,
        clock: Clock,
        *,
        database: Path | None,
        folder: Path,
        keep: int,
        key_file: Path | None,
    ) -> None:
        self._db = db
        self._dispatcher = dispatcher
        self._clock = clock
        self.database = database
        self.folder = folder
        self.keep = keep
        self._key_file = key_file
        dispatcher.register(JobKind(BACKUP_JOB, self._run, max_attempts=3))

    @property
    def enabled(self) -> bool:
        """Daily copies of the SQLite file; on PostgreSQL (no file) the server's own backups (pg_dump) apply."""
        return self.keep > 0 and self.database is not None

    async def ensure_scheduled(self) -> Job | None:
        """Make sure the next automatic backup is scheduled (nothing when automatic backups are off)."""
        if not self.enabled or self.database is None:
            return None
        waiting = await store.pending(self._db.conn, kind=BACKUP_JOB)
        if waiting:
            return waiting[0]
        latest = await asyncio.to_thread(files.latest_backup_at, self.folder, self.database)
        now = self._clock.now()
        due = now if latest is None else max(min(latest + INTERVAL, now + INTERVAL), now)
        # One key for every start: two processes starting at once schedule one job, not two.
        return await self._schedule(due, dedupe_key="backup:start")

    async def _schedule(self, due: datetime, *, dedupe_key: str) -> Job | None:
        try:
            return await self._dispatcher.schedule(kind=BACKUP_JOB, due_at=due, dedupe_key=dedupe_key)
        except DuplicateJob:
            return None  # that job is running right now (another process); it schedules the next one

    async def _run(self, job: Job) -> None:
        if self.database is None:  # a job left from before a move to PostgreSQL
            log.info("automatic backup skipped: the database is PostgreSQL (use its own backups, e.g. pg_dump)")
            return
        now = self._clock.now()
        # The next run first, so a backup that fails for good does not end the chain. Keyed by this job, so each
        # retry moves the same successor instead of adding one.
        following = job.due_at + INTERVAL
        await self._schedule(following if following > now else now + INTERVAL, dedupe_key=f"backup:after:{job.id}")
        made, removed = await asyncio.to_thread(
            files.make_automatic_backup, self.database, self.folder, at=now, keep=self.keep, key_file=self._key_file
        )
        log.info(
            "backup made path=%s bytes=%d key_copied=%s removed=%d",
            made.path,
            made.size_bytes,
            made.key_path is not None,
            len(removed),
        )
