"""Reach-outs: a helper answering a check-in that asked for one (``share_with_helpers``).

Decisions:
- Only one helper can take a reach-out; the schema decides (the claim row's primary key is the check-in), so two
  helpers pressing at once cannot both get it. A repeated press by the helper who holds it is not an error: it
  hands back the same claim with ``created=False``.
- A claim whose private thread could not be opened (a missing permission, the member gone) is abandoned: the claim
  is released and the reach-out's later effects are cancelled, so the reach-out is not lost: another helper, or the
  same one once the problem is fixed, can take it again.
- Only check-ins that asked for a reach-out can be taken; a check-in deleted since (/privacy delete) cannot.
- Every Discord side of it goes through the effects outbox (``docs/effects.md``), recorded with the change: the
  check-in's notice (subject ``share:<checkin id>``, recorded by the check-in service) and, when a helper takes it,
  the private thread, its opening message, the notice edited to "taken" and the helper's fallback DM (subject
  ``reach:<checkin id>``). ``user_id`` is the member the check-in belongs to; args hold ids only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from services.clock import Clock
from services.effects import Outbox
from services.errors import PorchlightError
from services.jobs import JobDispatcher
from storage import checkins as checkin_store
from storage import reach_outs as store
from storage.checkins import Checkin
from storage.db import Database
from storage.reach_outs import ReachOut

log = logging.getLogger(__name__)

# The helper learns of the thread from the button's answer; only when that answer cannot come (a crash, a Discord
# outage) does a DM tell them, a little later.
TELL_HELPER_AFTER = timedelta(minutes=2)


class ReachEffect(StrEnum):
    NOTICE = "share.notice"  # the nameless notice in the helper queue (subject share:<checkin id>)
    THREAD = "reach.thread"  # find-or-create the private thread, add the member and the helper
    OPENING = "reach.opening"  # its first message: who can see it, and the shared note
    TAKEN = "reach.taken"  # the notice edited to "taken by", its button disabled
    TELL_HELPER = "reach.tell_helper"  # the fallback DM with the thread's link


def share_subject(checkin_id: int) -> str:
    return f"share:{checkin_id}"


def reach_subject(checkin_id: int) -> str:
    return f"reach:{checkin_id}"


class ReachOutGone(PorchlightError):
    """The check-in is gone or never asked for a reach-out."""


@dataclass(frozen=True, slots=True)
class ReachOutClaim:
    reach_out: ReachOut
    checkin: Checkin
    created: bool  # False: somebody (maybe this helper) already holds it


class ReachOutService:
    def __init__(self, db: Database, dispatcher: JobDispatcher, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.outbox = Outbox(db, dispatcher, clock)

    async def take(
        self, guild_id: int, checkin_id: int, helper_id: int, *, notice: tuple[int, int] | None = None
    ) -> ReachOutClaim:
        """Claim the reach-out for ``helper_id`` and, when this call made the claim, record its effects in the same
        transaction. ``notice`` is the (channel id, message id) of the notice that was pressed."""
        checkin = await checkin_store.get_checkin(self.db.conn, checkin_id)
        if checkin is None or checkin.guild_id != guild_id or not checkin.share_with_helpers:
            raise ReachOutGone(
                "This reach-out is no longer available — the member may have deleted their check-ins. "
                "Nothing else needs doing."
            )
        subject = reach_subject(checkin_id)
        async with self.db.transaction() as conn:
            reach_out, created = await store.take(
                conn, checkin_id=checkin_id, guild_id=guild_id, helper_id=helper_id, now=self.clock.now()
            )
            if created:
                helper: dict[str, Any] = {"helper_id": helper_id}
                kinds: list[tuple[ReachEffect, dict[str, Any], timedelta]] = [
                    (ReachEffect.THREAD, helper, timedelta(0)),
                    (ReachEffect.OPENING, helper, timedelta(0)),
                ]
                if notice is not None:
                    where = {**helper, "channel_id": notice[0], "message_id": notice[1]}
                    kinds.append((ReachEffect.TAKEN, where, timedelta(0)))
                kinds.append((ReachEffect.TELL_HELPER, helper, TELL_HELPER_AFTER))
                for kind, args, delay in kinds:
                    await self.outbox.record(
                        conn, subject, kind, guild_id=guild_id, user_id=checkin.user_id, args=args, delay=delay
                    )
        if created:
            log.info("reach-out taken checkin_id=%d helper_id=%d", checkin_id, helper_id)
        return ReachOutClaim(reach_out, checkin, created)

    async def helper_told(self, checkin_id: int) -> None:
        """The button's answer gave the helper the thread: the fallback DM is not needed."""
        async with self.db.transaction() as conn:
            await self.outbox.cancel(conn, reach_subject(checkin_id), ReachEffect.TELL_HELPER)

    async def attach_thread(self, checkin_id: int, thread_id: int) -> None:
        async with self.db.transaction() as conn:
            await store.set_thread(conn, checkin_id=checkin_id, thread_id=thread_id)

    async def abandon(self, checkin_id: int, helper_id: int) -> bool:
        """Give a claim back when its thread could not be opened, with the effects that would have followed it."""
        async with self.db.transaction() as conn:
            released = await store.release(conn, checkin_id=checkin_id, helper_id=helper_id)
            if released:
                await self.outbox.cancel(
                    conn,
                    reach_subject(checkin_id),
                    ReachEffect.OPENING,
                    ReachEffect.TAKEN,
                    ReachEffect.TELL_HELPER,
                )
        if released:
            log.info("reach-out released checkin_id=%d", checkin_id)
        return released

    async def get(self, checkin_id: int) -> ReachOut | None:
        return await store.get(self.db.conn, checkin_id)

    async def checkin(self, checkin_id: int) -> Checkin | None:
        return await checkin_store.get_checkin(self.db.conn, checkin_id)
