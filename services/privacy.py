"""/privacy show, export and delete; retention; and what happens when a member leaves or the bot is removed.

Composes each feature's own export and delete (the data-deletion hook per feature) and returns what the Discord
layer must still do: threads to close, bookings whose other person to tell, roster and queue cards to remove. No
Discord here.

Decisions:
- Scope is one server: /privacy in a server shows, exports and deletes what Porchlight keeps about you *there*.
  The DM-delivery record (per person, not per server) is included and deleted too.
  So are the member's form drafts (per person too: a form opened from a DM may have no server).
- Deletion order: collect the Discord work first (thread ids, queue cards, notices), then each feature deletes, then
  the leftovers no feature owns (jobs of any status, reach-outs taken as a helper, a moderator's id on decisions).
  Help requests keep anonymous rows (no asker, no text) for counts, as the help feature decided.
- An active moderator block survives deletion (the server's safety record; the member sees it in show/export).
- Export: JSON, ``{"format": "porchlight.member-export", "version": 1, ...}``; the shape is documented in
  docs/privacy-export.md. Snowflakes are strings. A new field is a minor change; renaming or removing one bumps
  ``version``.
- Retention (the daily pass the privacy cog runs at start-up and every 24 hours): check-ins older than
  ``checkin_retention_days`` (365) are deleted;
  requests closed longer than ``closed_request_retention_days`` (180) lose their text and every member id; finished
  jobs older than 30 days, rate events older than two days and expired blocks are deleted.
- Leaving: the bot has no members intent, so it never hears GUILD_MEMBER_REMOVE. The daily pass reconciles: every
  member with data (and every member recorded as gone) is fetched over REST; Unknown Member (10007) means gone.
  A member found gone gets their upcoming calls cancelled with notice, their live help requests closed (reason
  ``asker_left``), their helper claims released and their mentor profile set to left (card removed); their data is
  kept ``leave_grace_days`` (30) and then deleted like /privacy delete. Found back (or using any command) before
  then: the departure is forgotten and nothing more is deleted.
- The bot removed from a server (GUILD_DELETE while the guild is not unavailable): every row of that server is
  purged 30 days later unless the bot is invited back first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services import settings_catalog
from services.checkins import CheckinService
from services.clock import Clock
from services.effects import Outbox
from services.forms import FormDrafts
from services.help_requests import HelpRequestService
from services.jobs import JobDispatcher
from services.mentors import CancelCause, MentorService, mentor_subject
from services.reminders import describe
from services.safety import SafetyService
from services.takedowns import TakeDown, Target, marked_target, message_target, thread_target
from services.takedowns import record as record_takedowns
from storage import checkins as checkin_store
from storage import guilds
from storage import help_requests as help_store
from storage import helper_duty as helper_duty_store
from storage import jobs as jobs_store
from storage import privacy as store
from storage import safety as safety_store
from storage.db import Database
from storage.mentors import Booking
from storage.sql import Conn

log = logging.getLogger(__name__)

EXPORT_FORMAT = "porchlight.member-export"
EXPORT_VERSION = 1
DEFAULT_CHECKIN_RETENTION_DAYS = 365
DEFAULT_CLOSED_REQUEST_RETENTION_DAYS = 180
DEFAULT_LEAVE_GRACE_DAYS = 30
GUILD_PURGE_DAYS = 30
FINISHED_JOBS_KEEP = timedelta(days=30)
LIVE_CALLS = ("requested", "confirmed")
LEFT_REASON = "The other person is no longer in the server."


@dataclass(frozen=True, slots=True)
class Summary:
    """What /privacy show lists. Counts and dates only, plus the member's own settings."""

    checkins: int
    first_checkin: datetime | None
    last_checkin: datetime | None
    reminder: str | None
    mentor_profile: str | None  # "active — Resume reviews"
    upcoming_calls: list[dict[str, Any]]
    help_requests: int
    open_help_requests: list[dict[str, Any]]
    help_claims: int
    blocked_until: str | None  # "no end date" or ISO instant; None when not blocked
    left_at: datetime | None
    form_drafts: int = 0  # unsent forms kept so nothing typed is lost (24 hours)

    @property
    def empty(self) -> bool:
        return not (
            self.checkins
            or self.reminder
            or self.mentor_profile
            or self.upcoming_calls
            or self.help_requests
            or self.help_claims
            or self.form_drafts
        )


@dataclass(frozen=True, slots=True)
class DiscordWork:
    """What the Discord layer does after a deletion or a departure (the database part is already done)."""

    guild_id: int
    user_id: int
    threads_to_close: list[int] = field(default_factory=list)
    cancelled_calls: list[Booking] = field(default_factory=list)  # tell the other person
    queue_cards: list[int] = field(default_factory=list)  # message ids in the queue channel (a departed asker's)
    departed: bool = False  # the member left the server (else they deleted their data): how calls are explained
    # Effects subjects to run now: the take-downs of what was posted with her words or name (services/takedowns.py)
    # and the queue cards that listed her as a helper.
    effects: list[str] = field(default_factory=list)
    open_threads: int = 0  # her threads that were still open (closed by the take-downs)


@dataclass(frozen=True, slots=True)
class RetentionReport:
    checkins: int = 0
    requests: int = 0
    other: int = 0


def _setting_change(change: guilds.SettingChange) -> dict[str, Any]:
    """A setting this admin changed here (``from``/``to`` null: the default)."""
    return {"name": change.name, "from": change.old_value, "to": change.new_value, "at": change.changed_at.isoformat()}


def _iso(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class PrivacyService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        dispatcher: JobDispatcher,
        *,
        checkins: CheckinService,
        help_requests: HelpRequestService,
        mentors: MentorService,
        safety: SafetyService,
        forms: FormDrafts,
    ) -> None:
        self.db = db
        self.clock = clock
        self.dispatcher = dispatcher
        self.checkins = checkins
        self.help_requests = help_requests
        self.mentors = mentors
        self.safety = safety
        self.forms = forms
        self.outbox = Outbox(db, dispatcher, clock)

    # --- show and export -----------------------------------------------------------------------------------------

    async def export(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Everything kept about the member in this server, in the documented, versioned shape."""
        checkins = await self.checkins.export_member(guild_id, user_id)
        help_data = await self.help_requests.export_member(guild_id, user_id)
        mentor_data = await self.mentors.export_member(user_id, guild_id)
        safety = await self.safety.export_member(guild_id, user_id)
        departure = await safety_store.get_departure(self.db.conn, guild_id, user_id)
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": self.clock.now().isoformat(),
            "server_id": str(guild_id),
            "member_id": str(user_id),
            "checkins": checkins["checkins"],
            "reminder_schedule": checkins["reminder_schedule"],
            "dm_delivery": checkins["dm_delivery"],
            "dm_channel_id": checkins["dm_channel_id"],
            "help_requests": help_data["help_requests"],
            "help_claims": help_data["help_claims"],
            "help_reveals": help_data["help_reveals"],
            "mentor_profiles": [{**p, "guild_id": str(p["guild_id"])} for p in mentor_data["mentor_profiles"]],
            "calls": [
                {**c, "guild_id": str(c["guild_id"]), "with_user_id": str(c["with_user_id"])}
                for c in mentor_data["calls"]
            ],
            "mentor_away": [{**a, "guild_id": str(a["guild_id"])} for a in mentor_data["mentor_away"]],
            "block": safety["block"],
            "left_server_at": departure.left_at.isoformat() if departure else None,
            "form_drafts": await self.forms.export_member(user_id),
            "helper_duty": await _helper_duty(self.db, guild_id, user_id),
            "settings_changes": [
                _setting_change(c) for c in await guilds.setting_changes_by(self.db.conn, guild_id, user_id)
            ],
        }

    async def summary(self, guild_id: int, user_id: int) -> Summary:
        data = await self.export(guild_id, user_id)
        now = self.clock.now()
        checkins = data["checkins"]
        schedule = data["reminder_schedule"]
        reminder = None
        if schedule is not None:
            view = await self.checkins_reminder_text(guild_id, user_id)
            reminder = view or f"{schedule['cadence']} at {schedule['local_time']} ({schedule['timezone']})"
        profile = next((p for p in data["mentor_profiles"] if p["status"] != "left"), None)
        calls = [c for c in data["calls"] if c["status"] in LIVE_CALLS and (_iso(c["ends_at"]) or now) > now]
        requests = data["help_requests"]
        block = data["block"]
        return Summary(
            checkins=len(checkins),
            first_checkin=_iso(checkins[0]["created_at"]) if checkins else None,
            last_checkin=_iso(checkins[-1]["created_at"]) if checkins else None,
            reminder=reminder,
            mentor_profile=f"{profile['status']} — {profile['headline']}" if profile else None,
            upcoming_calls=calls,
            help_requests=len(requests),
            open_help_requests=[r for r in requests if r["status"] != "closed"],
            help_claims=len(data["help_claims"]),
            blocked_until=None if block is None else (block["until"] or "no end date"),
            left_at=_iso(data["left_server_at"]),
            form_drafts=len(data["form_drafts"]),
        )

    async def checkins_reminder_text(self, guild_id: int, user_id: int) -> str | None:
        schedule = await checkin_store.get_reminder_schedule(self.db.conn, guild_id, user_id)
        if schedule is None:
            return None
        return describe(schedule) + (" — paused after DMs could not be delivered" if schedule.paused else "")

    # --- delete --------------------------------------------------------------------------------------------------

    async def _discord_work(self, guild_id: int, user_id: int) -> tuple[list[int], list[int], list[int]]:
        """(threads, queue cards, reach-out check-in ids) to clean up in Discord, read before anything is deleted."""
        live = [r for r in await self.help_requests.live_requests(guild_id) if r.asker_id == user_id]
        threads = [r.thread_id for r in live if r.thread_id is not None]
        threads += [thread for _, thread in await store.reach_outs_of_member(self.db.conn, guild_id, user_id)]
        queue_cards = [r.queue_message_id for r in live if r.queue_message_id is not None]
        shared = await store.shared_checkin_ids(self.db.conn, guild_id, user_id)
        return threads, queue_cards, shared

    async def _posted_rows(self, conn: Conn, guild_id: int, user_id: int) -> list[Target]:
        """What the rows say Porchlight posted for her (read before they are deleted): the take-downs the outbox may
        no longer know of, its finished effects being purged after 30 days."""
        config = await guilds.get_config(conn, guild_id)
        queue = config.queue_channel_id if config else None
        known: list[Target] = []
        for request in await help_store.for_asker(conn, guild_id, user_id):
            source = f"help:{request.id}"
            if queue is not None and request.queue_message_id is not None:
                known.append(message_target(source, TakeDown.DELETE, queue, request.queue_message_id))
            if request.thread_id is not None:
                known.append(thread_target(source, request.thread_id))
        for checkin_id, thread_id in await store.reach_outs_of_member(conn, guild_id, user_id):
            known.append(thread_target(f"reach:{checkin_id}", thread_id))
        if queue is not None:
            for checkin_id in await store.shared_checkin_ids(conn, guild_id, user_id):
                known.append(marked_target(f"share:{checkin_id}", queue, f"checkin:reach:{checkin_id}"))
        return known

    async def delete(self, guild_id: int, user_id: int) -> DiscordWork:
        """/privacy delete: what Porchlight posted with her words or name is taken down, then every feature deletes
        its part; returns the Discord work still to do.

        The take-downs are effects, recorded first, in one transaction, from her effects and rows as they stand
        (they are the record of what was posted where): a crash anywhere after it leaves them to the effects job,
        and a crash before it leaves everything in place for her to press Delete again."""
        threads, _, _ = await self._discord_work(guild_id, user_id)
        async with self.db.transaction() as conn:
            known = await self._posted_rows(conn, guild_id, user_id)
            takedowns = await record_takedowns(conn, self.outbox, guild_id, user_id, known)
        claimed = {c.request_id for c in await help_store.claims_of_helper(self.db.conn, guild_id, user_id)}
        await self.help_requests.delete_member(guild_id, user_id)
        mentor_result = await self.mentors.delete_member(user_id, guild_id)
        await self.checkins.delete_member(guild_id, user_id)
        await self.safety.delete_member(guild_id, user_id)
        await self.forms.delete_member(user_id)
        async with self.db.transaction() as conn:
            await store.delete_member_leftovers(conn, guild_id, user_id)
        log.info(
            "member data deleted guild=%d user=%d threads=%d calls=%d takedowns=%d",
            guild_id,
            user_id,
            len(threads),
            len(mentor_result.cancelled),
            len(takedowns),
        )
        return DiscordWork(
            guild_id,
            user_id,
            cancelled_calls=mentor_result.cancelled,
            effects=takedowns + [f"help:{request_id}" for request_id in sorted(claimed)] + mentor_result.subjects,
            open_threads=len(threads),
        )

    # --- retention -----------------------------------------------------------------------------------------------

    async def _days(self, guild_id: int, name: str, default: int) -> int:
        return settings_catalog.number(await guilds.get_config(self.db.conn, guild_id), name)

    async def purge_expired(self) -> RetentionReport:
        """The daily retention pass over every server with data."""
        now = self.clock.now()
        checkins = requests = 0
        for guild_id in sorted(await store.guilds_with_data(self.db.conn)):
            keep_checkins = await self._days(guild_id, "checkin_retention_days", DEFAULT_CHECKIN_RETENTION_DAYS)
            keep_closed = await self._days(
                guild_id, "closed_request_retention_days", DEFAULT_CLOSED_REQUEST_RETENTION_DAYS
            )
            async with self.db.transaction() as conn:
                checkins += await store.purge_checkins(conn, guild_id, now - timedelta(days=keep_checkins))
                requests += await store.purge_closed_requests(conn, guild_id, now - timedelta(days=keep_closed))
        other = await self.safety.purge()
        other += await self.forms.purge_expired()
        async with self.db.transaction() as conn:
            other += await jobs_store.purge_finished(conn, before=now - FINISHED_JOBS_KEEP)
            # Kept for members who left until their purge: they say what to take down then.
            other += await store.purge_finished_effects(conn, before=now - FINISHED_JOBS_KEEP)
        log.info("retention purge checkins=%d requests=%d other=%d", checkins, requests, other)
        return RetentionReport(checkins, requests, other)

    # --- members leaving and returning ---------------------------------------------------------------------------

    async def members_to_reconcile(self, guild_id: int) -> set[int]:
        """Members with data here, and members recorded as gone (to notice a return)."""
        held = await store.members_with_data(self.db.conn, guild_id)
        gone = {d.user_id for d in await safety_store.departures(self.db.conn, guild_id)}
        return held | gone

    async def is_departed(self, guild_id: int, user_id: int) -> bool:
        return await safety_store.get_departure(self.db.conn, guild_id, user_id) is not None

    async def member_left(self, guild_id: int, user_id: int) -> DiscordWork | None:
        """The member is gone: cancel their calls, close their requests, release their claims, take down their
        mentor card; keep the rest for ``leave_grace_days``. None when this departure was already handled."""
        now = self.clock.now()
        grace = await self._days(guild_id, "leave_grace_days", DEFAULT_LEAVE_GRACE_DAYS)
        async with self.db.transaction() as conn:
            _, new = await safety_store.record_departure(
                conn, guild_id=guild_id, user_id=user_id, now=now, purge_after=now + timedelta(days=grace)
            )
        if not new:
            return None
        threads, queue_cards, _ = await self._discord_work(guild_id, user_id)
        await self.help_requests.asker_left(guild_id, user_id)
        await self.help_requests.helper_lost_role(guild_id, user_id)
        cancelled: list[Booking] = []
        subjects: list[str] = []
        mentor = await self.mentors.get(guild_id, user_id)
        if mentor is not None and mentor.status in ("pending_approval", "active", "paused"):
            result = await self.mentors.leave(guild_id, user_id, cause=CancelCause.LEFT_SERVER)
            cancelled += result.cancelled
            subjects.append(mentor_subject(guild_id, user_id))  # the card removed, the role taken back
        for booking in await self.mentors.upcoming_calls(user_id, guild_id):
            try:
                cancelled.append(
                    await self.mentors.cancel(booking.id, user_id, LEFT_REASON, cause=CancelCause.LEFT_SERVER)
                )
            except Exception as error:  # a call that started meanwhile: left as it is
                log.info("call not cancelled on leave booking=%d error=%s", booking.id, type(error).__name__)
        subjects += await self.mentors.take_down(guild_id, user_id)  # what was posted carrying her goes now
        await self.dispatcher.cancel(guild_id=guild_id, user_id=user_id)
        log.info("member left guild=%d user=%d calls=%d threads=%d", guild_id, user_id, len(cancelled), len(threads))
        return DiscordWork(
            guild_id,
            user_id,
            threads_to_close=threads,
            cancelled_calls=cancelled,
            effects=subjects,
            queue_cards=queue_cards,
            departed=True,
        )

    async def member_present(self, guild_id: int, user_id: int) -> bool:
        """The member is in the server (came back, or used a command): forget a departure. True if there was one."""
        async with self.db.transaction() as conn:
            returned = await safety_store.delete_departure(conn, guild_id, user_id)
        if returned:
            log.info("member returned guild=%d user=%d", guild_id, user_id)
        return returned

    async def purge_departed(self) -> list[DiscordWork]:
        """Delete the data of members gone longer than the grace period."""
        done = []
        for departure in await safety_store.due_departures(self.db.conn, self.clock.now()):
            done.append(await self.delete(departure.guild_id, departure.user_id))
        return done

    # --- the bot removed from a server ---------------------------------------------------------------------------

    async def bot_removed(self, guild_id: int) -> None:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await safety_store.mark_removed(conn, guild_id, now, now + timedelta(days=GUILD_PURGE_DAYS))
        log.info("bot removed from guild=%d; data purged after %d days", guild_id, GUILD_PURGE_DAYS)

    async def bot_present(self, guild_id: int) -> bool:
        async with self.db.transaction() as conn:
            return await safety_store.mark_present(conn, guild_id)

    async def first_welcome(self, guild_id: int) -> bool:
        """True exactly once per server: when the getting-started message should go out."""
        async with self.db.transaction() as conn:
            return await safety_store.mark_welcomed(conn, guild_id, self.clock.now())

    async def purge_removed_guilds(self) -> list[int]:
        purged = []
        for guild_id in await safety_store.due_guild_purges(self.db.conn, self.clock.now()):
            async with self.db.transaction() as conn:
                rows = await store.purge_guild(conn, guild_id)
            log.info("guild data purged guild=%d rows=%d", guild_id, rows)
            purged.append(guild_id)
        return purged


async def _helper_duty(db: Database, guild_id: int, user_id: int) -> dict[str, Any] | None:
    """A helper's topics and on-call window (/helper), if they set any."""
    duty = await helper_duty_store.get(db.conn, guild_id, user_id)
    if duty is None:
        return None
    return {"topics": list(duty.topics), "on_call_until": _iso_or_none(duty.on_call_until)}


def _iso_or_none(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()
