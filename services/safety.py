"""Safety limits, moderator blocks and input hygiene. No Discord here.

Decisions:
- Limits are per server, in ``guild_config.settings`` with these defaults: ``limit_checkins_per_hour`` (6),
  ``limit_help_requests_per_day`` (5, on top of the help feature's own open-request limit and cooldown),
  ``limit_booking_requests_per_day`` (5) and ``limit_pending_bookings`` (3 unanswered booking requests at a time).
  A limit counts the writes it let through (``rate_events``), in a sliding window; a refusal says when to try again.
- Checking and counting are one step: :meth:`SafetyService.reserve` checks the block and the limit and counts the
  use in the same BEGIN IMMEDIATE transaction, so concurrent or quick successive commands (even from two processes)
  cannot both take the last use; :meth:`SafetyService.release` gives the use back when the command fails (raises).
  :meth:`SafetyService.counting` does both around a block of code. A cancelled command keeps its use (it may have
  written before it was cancelled): erring towards counting never lets a member past a limit.
- ``/block member [days]`` stops a member from opening help requests and requesting calls (actions in
  :data:`BLOCKED_ACTIONS`); check-ins, history, reminders and /privacy always stay open to them, so nobody is ever
  locked out of their own data. No days: until a moderator unblocks. The refusal explains, ephemerally, and says
  until when; it never names the moderator.
- An active block survives the member's /privacy delete (it is the server's safety record, shown to them in
  /privacy show and export); an expired block is deleted then, and by the daily job.
- Free text: cleaned by :func:`services.text.clean_text`, length-limited with a clear message, and mass mentions
  neutralised (a zero-width space after
  the ``@``, so ``@everyone``, ``@here``, ``<@&role>`` and ``<@user>`` render as text). This is belt and braces:
  the bot already sends every message with ``allowed_mentions`` none.
- Helpers for other cogs: :meth:`SafetyService.is_blocked`, :meth:`SafetyService.check` (a read-only preview that
  raises a :class:`PorchlightError` to show as is, e.g. before showing slots), and :meth:`SafetyService.counting`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services import settings_catalog
from services.clock import Clock
from services.errors import PorchlightError
from services.member_text import neutralise_mentions
from services.text import clean_text
from storage import guilds
from storage import safety as store
from storage.db import Database
from storage.safety import Block
from storage.sql import Conn, guild_scope

log = logging.getLogger(__name__)

REASON_LIMIT = 200
MAX_BLOCK_DAYS = 365
EVENT_KEEP = timedelta(days=2)  # longer than any window below


class Action(StrEnum):
    CHECKIN = "checkin"
    HELP_REQUEST = "help_request"
    BOOKING_REQUEST = "booking_request"
    CHANGE = "change"  # other write commands: reminder schedules, mentor profile changes, closing a request


# What a block stops. Check-ins stay open: a blocked member can still say privately how they are doing.
BLOCKED_ACTIONS = frozenset({Action.HELP_REQUEST, Action.BOOKING_REQUEST})


@dataclass(frozen=True, slots=True)
class Limit:
    setting: str
    default: int
    window: timedelta
    words: str  # "check-ins an hour"


LIMITS: dict[Action, Limit] = {
    Action.CHECKIN: Limit("limit_checkins_per_hour", 6, timedelta(hours=1), "check-ins an hour"),
    Action.HELP_REQUEST: Limit("limit_help_requests_per_day", 5, timedelta(days=1), "help requests a day"),
    Action.BOOKING_REQUEST: Limit("limit_booking_requests_per_day", 5, timedelta(days=1), "call requests a day"),
    Action.CHANGE: Limit(
        "limit_changes_per_hour",
        30,
        timedelta(hours=1),
        "changes an hour (reminders, mentor profile, closing requests)",
    ),
}
PENDING_BOOKINGS = Limit("limit_pending_bookings", 3, timedelta(0), "unanswered call requests at a time")

_WHAT = {
    Action.CHECKIN: "check in",
    Action.HELP_REQUEST: "open help requests",
    Action.BOOKING_REQUEST: "request calls with mentors",
    Action.CHANGE: "make changes",
}


@dataclass(frozen=True, slots=True)
class Use:
    """One counted use, reserved by :meth:`SafetyService.reserve`; :meth:`SafetyService.release` gives it back."""

    event_id: int
    guild_id: int
    user_id: int
    action: Action


class Blocked(PorchlightError):
    def __init__(self, message: str, block: Block) -> None:
        super().__init__(message)
        self.block = block


class RateLimited(PorchlightError):
    def __init__(self, message: str, retry_at: datetime | None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class TextTooLong(PorchlightError):
    pass


class BadBlock(PorchlightError):
    pass


def bounded_text(text: str | None, *, limit: int, field: str) -> str | None:
    """:func:`services.text.clean_text`, then refuse over ``limit`` characters (saying how long it is) and
    neutralise mass mentions; empty -> None."""
    cleaned = clean_text(text)
    if cleaned is None:
        return None
    if len(cleaned) > limit:
        raise TextTooLong(f"Please keep the {field} to {limit} characters (it's {len(cleaned)}).")
    return neutralise_mentions(cleaned)


def _stamp(instant: datetime) -> str:
    return f"<t:{int(instant.timestamp())}:f>"


def block_message(block: Block, action: Action) -> str:
    until = f"until {_stamp(block.until)}" if block.until else "until a moderator lifts it"
    return (
        f"A moderator has paused your access to {_WHAT[action]} on this server, {until}. "
        "Your check-ins, reminders and /privacy still work. If you think this is a mistake, message a moderator."
        + (f"\nTheir reason: {neutralise_mentions(block.reason)}" if block.reason else "")
    )


class SafetyService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # --- blocks --------------------------------------------------------------------------------------------------

    async def block(
        self, guild_id: int, user_id: int, *, by: int, days: int | None = None, reason: str | None = None
    ) -> Block:
        if user_id == by:
            raise BadBlock("You can't block yourself.")
        if days is not None and not 1 <= days <= MAX_BLOCK_DAYS:
            raise BadBlock(f"Choose between 1 and {MAX_BLOCK_DAYS} days, or leave days empty for no end date.")
        cleaned = bounded_text(reason, limit=REASON_LIMIT, field="reason")
        now = self.clock.now()
        until = now + timedelta(days=days) if days else None
        async with self.db.transaction() as conn:
            block = await store.put_block(
                conn, guild_id=guild_id, user_id=user_id, blocked_by=by, reason=cleaned, until=until, now=now
            )
        log.info("member blocked guild=%d user=%d days=%s", guild_id, user_id, days)
        return block

    async def unblock(self, guild_id: int, user_id: int) -> bool:
        async with self.db.transaction() as conn:
            removed = await store.delete_block(conn, guild_id, user_id)
        log.info("member unblocked guild=%d user=%d removed=%s", guild_id, user_id, removed)
        return removed

    async def active_block(self, guild_id: int, user_id: int) -> Block | None:
        block = await store.get_block(self.db.conn, guild_id, user_id)
        return block if block is not None and block.active(self.clock.now()) else None

    async def is_blocked(self, guild_id: int, user_id: int) -> bool:
        """For the help and mentor cogs: True while a moderator's block stops this member's requests."""
        return await self.active_block(guild_id, user_id) is not None

    # --- limits --------------------------------------------------------------------------------------------------

    async def check(self, guild_id: int, user_id: int, action: Action | str) -> None:
        """Raise :class:`Blocked` or :class:`RateLimited` (messages ready to show) if the member may not do this now.
        A preview that counts nothing (e.g. before showing slots): the write itself goes through :meth:`reserve`."""
        await self._refuse_if_over(self.db.conn, guild_id, user_id, Action(action), self.clock.now())

    async def reserve(self, guild_id: int, user_id: int, action: Action | str) -> Use:
        """Check as :meth:`check` does and count the use in the same step: of any number of concurrent calls,
        exactly as many as the limit has room for succeed. Give the use back with :meth:`release` if the action then
        fails."""
        act = Action(action)
        now = self.clock.now()
        event_id = await self._count_within_limits(guild_id, user_id, act, now)
        if event_id is None:  # refused: the check that says why (and counts the use, should the state have changed)
            async with self.db.transaction(scope=guild_scope(guild_id)) as conn:
                await self._refuse_if_over(conn, guild_id, user_id, act, now)
                event_id = await store.add_event(conn, guild_id=guild_id, user_id=user_id, action=act.value, now=now)
        return Use(event_id, guild_id, user_id, act)

    async def _count_within_limits(self, guild_id: int, user_id: int, action: Action, now: datetime) -> int | None:
        """The common case, a use within every limit :meth:`_refuse_if_over` checks, in one statement: checked and
        counted as it runs (it runs on every gated command, before the command can answer, under the lock every
        write waits for). The event's id, or None when a limit refused it."""
        limit = LIMITS[action]
        config = await guilds.get_config(self.db.conn, guild_id)  # the server's limits: settings, read beforehand
        async with self.db.statement(scope=guild_scope(guild_id)) as conn:
            return await store.add_event_within_limits(
                conn,
                guild_id=guild_id,
                user_id=user_id,
                action=action.value,
                now=now,
                since=now - limit.window,
                allowed=settings_catalog.number(config, limit.setting),
                blockable=action in BLOCKED_ACTIONS,
                pending_most=settings_catalog.number(config, PENDING_BOOKINGS.setting)
                if action is Action.BOOKING_REQUEST
                else None,
            )

    async def release(self, use: Use) -> None:
        """The action a use was reserved for failed: it no longer counts. Releasing twice changes nothing."""
        async with self.db.transaction(scope=guild_scope(use.guild_id)) as conn:
            await store.delete_event(conn, use.event_id)
        log.info("use released guild=%d user=%d action=%s", use.guild_id, use.user_id, use.action.value)

    @asynccontextmanager
    async def counting(self, guild_id: int, user_id: int, action: Action | str) -> AsyncIterator[Use]:
        """``async with safety.counting(...):`` reserve a use (raising :class:`Blocked` / :class:`RateLimited`),
        and release it if the block raises an Exception. A cancelled block keeps its use."""
        use = await self.reserve(guild_id, user_id, action)
        try:
            yield use
        except Exception:
            await self.release(use)
            raise

    async def record(self, guild_id: int, user_id: int, action: Action | str) -> None:
        """Count a use without checking (e.g. a use made elsewhere); commands go through :meth:`reserve`."""
        async with self.db.transaction() as conn:
            await store.add_event(
                conn, guild_id=guild_id, user_id=user_id, action=Action(action).value, now=self.clock.now()
            )

    async def _refuse_if_over(self, conn: Conn, guild_id: int, user_id: int, action: Action, now: datetime) -> None:
        if action in BLOCKED_ACTIONS:
            block = await store.get_block(conn, guild_id, user_id)
            if block is not None and block.active(now):
                raise Blocked(block_message(block, action), block)
        limit = LIMITS[action]
        config = await guilds.get_config(conn, guild_id)  # read once for both limits
        allowed = settings_catalog.number(config, limit.setting)
        count, oldest = await store.count_events(
            conn, guild_id=guild_id, user_id=user_id, action=action.value, since=now - limit.window
        )
        if count >= allowed:
            retry = oldest + limit.window if oldest else None
            when = f" You can again {_stamp(retry)}." if retry else ""
            log.info("rate limited guild=%d user=%d action=%s", guild_id, user_id, action.value)
            raise RateLimited(f"This server allows {allowed} {limit.words}.{when}", retry)
        if action is Action.BOOKING_REQUEST:
            pending = await store.pending_booking_requests(conn, guild_id, user_id)
            most = settings_catalog.number(config, PENDING_BOOKINGS.setting)
            if pending >= most:
                raise RateLimited(
                    f"You have {pending} call requests waiting for an answer, and this server allows {most} "
                    "at a time. Wait for a mentor to answer, or cancel one in /calls.",
                    None,
                )

    # --- privacy -------------------------------------------------------------------------------------------------

    async def export_member(self, guild_id: int, user_id: int) -> dict[str, object]:
        block = await self.active_block(guild_id, user_id)
        return {
            "block": None
            if block is None
            else {
                "since": block.created_at.isoformat(),
                "until": block.until.isoformat() if block.until else None,
                "reason": block.reason,
            }
        }

    async def delete_member(self, guild_id: int, user_id: int) -> int:
        async with self.db.transaction() as conn:
            return await store.delete_member_safety(conn, guild_id, user_id, self.clock.now())

    async def purge(self) -> int:
        """Daily: drop old rate events and expired blocks."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            return await store.purge_events(conn, now - EVENT_KEEP) + await store.delete_expired_blocks(conn, now)
