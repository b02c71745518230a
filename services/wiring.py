"""The services one Porchlight process runs on, wired together from its settings and database, and the key its
contact details are encrypted with."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass

from services.backups import BackupService
from services.checkins import CheckinService
from services.clock import Clock
from services.command_sync import CommandSyncLedger
from services.contact import PhoneVault
from services.effects import Outbox
from services.forms import FormDrafts
from services.help_requests import HelpRequestService
from services.helper_duty import HelperDutyService
from services.jobs import JobDispatcher
from services.mentors import MentorService
from services.privacy import PrivacyService
from services.reach_outs import ReachOutService
from services.reminders import ReminderService
from services.safety import SafetyService
from services.setup import SetupService
from services.stats import StatsService
from settings import Settings
from storage.db import Database

log = logging.getLogger("porchlight")


@dataclass(frozen=True, slots=True)
class Services:
    clock: Clock
    setup: SetupService
    command_sync: CommandSyncLedger
    jobs: JobDispatcher
    outbox: Outbox
    checkins: CheckinService
    reminders: ReminderService
    reach_outs: ReachOutService
    help_requests: HelpRequestService
    helper_duty: HelperDutyService
    mentors: MentorService
    safety: SafetyService
    privacy: PrivacyService
    forms: FormDrafts
    backups: BackupService
    stats: StatsService


def build_services(db: Database, clock: Clock, vault: PhoneVault, settings: Settings) -> Services:
    jobs = JobDispatcher(
        db,
        clock,
        worker=settings.worker,
        incarnation=secrets.token_hex(4),  # this start; a crashed earlier start's jobs are taken back at once
        concurrency=settings.job_concurrency,
    )
    checkins = CheckinService(db, jobs, clock)
    help_requests = HelpRequestService(db, jobs, clock)
    mentors = MentorService(db, jobs, clock, vault)
    safety = SafetyService(db, clock)
    forms = FormDrafts(db, clock, vault)
    return Services(
        clock=clock,
        setup=SetupService(db, clock),
        stats=StatsService(db, clock),
        command_sync=CommandSyncLedger(db),
        jobs=jobs,
        outbox=Outbox(db, jobs, clock),
        checkins=checkins,
        reminders=ReminderService(db, jobs, clock),
        reach_outs=ReachOutService(db, jobs, clock),
        help_requests=help_requests,
        helper_duty=HelperDutyService(db, clock),
        mentors=mentors,
        safety=safety,
        privacy=PrivacyService(
            db,
            clock,
            jobs,
            checkins=checkins,
            help_requests=help_requests,
            mentors=mentors,
            safety=safety,
            forms=forms,
        ),
        forms=forms,
        backups=BackupService(
            db,
            jobs,
            clock,
            database=settings.sqlite_file,
            folder=settings.backup_folder,
            keep=settings.backup_keep,
            key_file=settings.key_file,
        ),
    )


def encryption_key(settings: Settings) -> bytes:
    """The key for contact details: from settings, else a key file beside the database, created on first start."""
    if settings.encryption_key is not None:
        return settings.encryption_key.get_secret_value().encode()
    path = settings.key_file
    if path is None:
        raise MissingKey(NO_SHARED_KEY)
    if path.exists():
        return path.read_bytes().strip()
    key = PhoneVault.generate_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    log.info("created an encryption key for contact details at %s", path)
    return key


NO_SHARED_KEY = """\
On PostgreSQL, every Porchlight process must encrypt contact details with the same key, so it cannot be a file
beside the database: set PORCHLIGHT_ENCRYPTION_KEY (the same value in every process). Moving from SQLite? Use the
contents of the key file beside the old database (porchlight.db.key). A new key:
  python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"""


class MissingKey(Exception):
    """No contact-details key that every process shares."""
