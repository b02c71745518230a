"""Service tests run on a real SQLite file in a temp dir, migrated with the real migrations, with a pinned clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from services.checkins import FOLLOWUP_JOB, CheckinService
from services.clock import ManualClock
from services.jobs import JobDispatcher, JobKind
from services.reminders import REMINDER_JOB, ReminderService
from storage.db import Database
from storage.jobs import Job

START = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # Monday 1 June 2026, 12:00 in Berlin
GUILD = 1001
ALICE, BOB, CARA, DEV = 11, 12, 13, 14


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@dataclass
class World:
    """The services wired the way bot.py wires them, with handlers that record what they were asked to send."""

    db: Database
    clock: ManualClock
    dispatcher: JobDispatcher
    checkins: CheckinService
    reminders: ReminderService
    followups_sent: list[Job] = field(default_factory=list)
    reminders_sent: list[Job] = field(default_factory=list)


@pytest.fixture
def world(db: Database, clock: ManualClock) -> World:
    dispatcher = JobDispatcher(db, clock, worker="test")
    checkins = CheckinService(db, dispatcher, clock)
    reminders = ReminderService(db, dispatcher, clock)
    w = World(db, clock, dispatcher, checkins, reminders)

    async def send_followup(job: Job) -> None:
        w.followups_sent.append(job)

    async def send_reminder(job: Job) -> None:
        w.reminders_sent.append(job)
        await reminders.on_reminder_sent(job)

    dispatcher.register(JobKind(FOLLOWUP_JOB, send_followup))
    dispatcher.register(JobKind(REMINDER_JOB, send_reminder))
    return w
