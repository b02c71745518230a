"""Reach-outs: a helper answering a check-in that asked for one (``share_with_helpers``).

Decisions:
- Only one helper can take a reach-out; the schema decides (the claim row's primary key is the check-in), so two
  helpers pressing at once cannot both get it. A repeated press by the helper who holds it is not an error: it
  hands back the same claim with ``created=False``.
- A claim whose private thread could not be opened (a missing permission, a deleted channel) is released, so the
  reach-out is not lost: another helper, or the same one once the problem is fixed, can take it again.
- Only check-ins that asked for a reach-out can be taken; a check-in deleted since (/privacy delete) cannot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from services.clock import Clock
from services.errors import PorchlightError
from storage import checkins as checkin_store
from storage import reach_outs as store
from storage.checkins import Checkin
from storage.db import Database
from storage.reach_outs import ReachOut

log = logging.getLogger(__name__)


class ReachOutGone(PorchlightError):
    """The check-in is gone or never asked for a reach-out."""


@dataclass(frozen=True, slots=True)
class ReachOutClaim:
    reach_out: ReachOut
    checkin: Checkin
    created: bool  # False: somebody (maybe this helper) already holds it


class ReachOutService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def take(self, guild_id: int, checkin_id: int, helper_id: int) -> ReachOutClaim:
        checkin = await checkin_store.get_checkin(self.db.conn, checkin_id)
        if checkin is None or checkin.guild_id != guild_id or not checkin.share_with_helpers:
            raise ReachOutGone(
                "This reach-out is no longer available — the member may have deleted their check-ins. "
                "Nothing else needs doing."
            )
        async with self.db.transaction() as conn:
            reach_out, created = await store.take(
                conn, checkin_id=checkin_id, guild_id=guild_id, helper_id=helper_id, now=self.clock.now()
            )
        if created:
            log.info("reach-out taken checkin_id=%d helper_id=%d", checkin_id, helper_id)
        return ReachOutClaim(reach_out, checkin, created)

    async def attach_thread(self, checkin_id: int, thread_id: int) -> None:
        async with self.db.transaction() as conn:
            await store.set_thread(conn, checkin_id=checkin_id, thread_id=thread_id)

    async def release(self, checkin_id: int, helper_id: int) -> bool:
        """Give a claim back when its thread could not be opened."""
        async with self.db.transaction() as conn:
            released = await store.release(conn, checkin_id=checkin_id, helper_id=helper_id)
        if released:
            log.info("reach-out released checkin_id=%d", checkin_id)
        return released

    async def get(self, checkin_id: int) -> ReachOut | None:
        return await store.get(self.db.conn, checkin_id)
