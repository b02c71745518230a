"""Helpers who don't burn out: the topics each helper takes, short on-call windows that end by themselves, and a
view of their own load (/helper). A new request DMs up to two on-call helpers whose topics match, the least recently
helped first (recorded as effects by the help-request service); the per-helper cap on active claims is a help
setting (``max_claims_per_helper``) checked when claiming.

Decisions:
- A helper with no topics set takes every topic (so going on call works before choosing any).
- On call is 1 to 12 hours; it ends by itself at ``on_call_until`` (nothing to switch off, nothing scheduled).
- "Helped this month" counts requests claimed since the first of the month, 00:00 UTC.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.clock import Clock
from services.errors import PorchlightError
from services.help_requests import TOPICS
from storage import help_requests as requests_store
from storage import helper_duty as store
from storage.db import Database
from storage.help_requests import HelpRequest

log = logging.getLogger(__name__)

ON_CALL_HOURS = range(1, 13)


class DutyRefused(PorchlightError):
    pass


@dataclass(frozen=True, slots=True)
class HelperCard:
    """What /helper me shows, to the helper only."""

    topics: tuple[str, ...]
    on_call_until: datetime | None
    active: tuple[HelpRequest, ...]
    helped_this_month: int


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class HelperDutyService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def set_topics(self, guild_id: int, user_id: int, topics: list[str]) -> store.Duty:
        unknown = sorted(set(topics) - set(TOPICS))
        if unknown:
            raise DutyRefused(f"Unknown topic {', '.join(unknown)}. Pick from: {', '.join(TOPICS.values())}.")
        async with self.db.transaction() as conn:
            duty = await store.set_topics(conn, guild_id, user_id, topics, now=self.clock.now())
        log.info("helper topics set guild_id=%d user_id=%d count=%d", guild_id, user_id, len(duty.topics))
        return duty

    async def go_on_call(self, guild_id: int, user_id: int, hours: int) -> store.Duty:
        if hours not in ON_CALL_HOURS:
            raise DutyRefused(f"On call is 1 to 12 hours at a time (you asked for {hours}). It ends by itself.")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            duty = await store.set_on_call(conn, guild_id, user_id, now + timedelta(hours=hours), now=now)
        log.info("helper on call guild_id=%d user_id=%d hours=%d", guild_id, user_id, hours)
        return duty

    async def go_off(self, guild_id: int, user_id: int) -> bool:
        """Off call now; False when they were not on call."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            before = await store.get(conn, guild_id, user_id)
            if before is None or not before.on_call(now):
                return False
            await store.set_on_call(conn, guild_id, user_id, None, now=now)
        return True

    async def card(self, guild_id: int, user_id: int) -> HelperCard:
        now = self.clock.now()
        conn = self.db.conn
        duty = await store.get(conn, guild_id, user_id)
        claims = await requests_store.active_claims_of_helper(conn, guild_id, user_id)
        active = [r for c in claims if (r := await requests_store.get(conn, c.request_id)) is not None]
        return HelperCard(
            topics=duty.topics if duty else (),
            on_call_until=duty.on_call_until if duty and duty.on_call(now) else None,
            active=tuple(active),
            helped_this_month=await store.helped_since(conn, guild_id, user_id, month_start(now)),
        )
