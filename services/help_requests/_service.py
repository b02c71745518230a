"""The help-request service: the request's life (``_lifecycle.py``) plus what runs without a command (activity, idle
checks, escalation), Discord-side changes (a thread deleted, a member gone) and a member's export and deletion. See
the package docstring for the decisions."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from services.help_requests._answers import (
    CloseOutcome,
    Escalation,
    IdleAction,
    IdleOutcome,
    ReleaseOutcome,
)
from services.help_requests._lifecycle import RequestLifecycle
from services.help_requests._rules import (
    ESCALATE_JOB,
    IDLE_CLOSE_NOTE,
    IDLE_JOB,
    CloseReason,
    HelpEffect,
    HelpSettings,
    _ids,
    _iso,
)
from storage import guilds
from storage import help_relays as relay_store
from storage import help_requests as store
from storage.help_requests import HelpRequest

log = logging.getLogger(__name__)


class HelpRequestService(RequestLifecycle):
    """The commands of help requests (asking, claims, closing, reopening, feedback, idle and escalation, departures,
    privacy); each writes its rows and records its effects in one transaction."""

    # -- activity, idle and escalation --

    async def record_activity(self, thread_id: int, at: datetime | None = None) -> bool:
        """A member's message in a help thread (gateway MESSAGE_CREATE; not the bot's own). False when the thread
        is not an open help request, so the caller can ignore other threads cheaply."""
        async with self.db.transaction() as conn:
            return await store.touch_activity(conn, thread_id, at or self.clock.now())

    async def idle_check(self, request_id: int) -> IdleOutcome:
        """Run by the "help.idle_check" job: ask "Is this sorted?", close as idle, or re-arm for later."""
        now = self.clock.now()
        closed: HelpRequest | None = None
        next_at: datetime | None = None
        action = IdleAction.NONE
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None or request.status != "open":
                return IdleOutcome(IdleAction.NONE, request)
            claims = await store.active_claims(conn, request_id)
            if not claims:
                return IdleOutcome(IdleAction.NONE, request)  # unclaimed: escalation is its safety net
            settings = HelpSettings.of(await guilds.get_config(conn, request.guild_id))
            if request.idle_asked_at is None:
                due = request.last_activity_at + timedelta(days=settings.idle_days)
                if now < due:
                    next_at = due
                else:
                    asked = await store.set_idle_asked(conn, request_id, now)
                    assert asked is not None
                    request = asked
                    action = IdleAction.ASK
                    await self._effect(conn, request, HelpEffect.IDLE_ASK)
                    next_at = now + timedelta(days=settings.idle_close_after_days)
            else:
                due = request.idle_asked_at + timedelta(days=settings.idle_close_after_days)
                if now < due:
                    next_at = due
                else:
                    closed = await store.close(
                        conn, request_id, by_user_id=None, reason=CloseReason.IDLE.value, now=now
                    )
                    assert closed is not None
                    request = closed
                    action = IdleAction.CLOSE
                    await self._closing_effects(conn, closed, CloseReason.IDLE)
        if closed is not None:
            await self._cancel_jobs(closed, ESCALATE_JOB)
            log.info("help request closed id=%d reason=idle", request_id)
            outcome = CloseOutcome(closed, already_closed=False, helper_ids=_ids(claims), note=IDLE_CLOSE_NOTE)
            return IdleOutcome(IdleAction.CLOSE, closed, closed=outcome)
        if next_at is not None:
            await self._schedule_idle(request, next_at)
        if action is IdleAction.ASK:
            log.info("help request idle ask id=%d", request_id)
        return IdleOutcome(action, request, next_check_at=next_at)

    async def escalate(self, request_id: int) -> Escalation | None:
        """Run by the "help.escalate" jobs: the level due for a request still waiting for a helper, and whom to
        mention in the queue channel. None when there is nothing to do (claimed, closed, not due, already
        applied). Never closes anything."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None or request.status != "open" or request.awaiting_since is None:
                return None
            if await store.active_claims(conn, request_id):
                return None
            config = await guilds.get_config(conn, request.guild_id)
            settings = HelpSettings.of(config)
            waited = now - request.awaiting_since
            level = 0
            if waited >= timedelta(hours=settings.moderator_escalate_after_hours):
                level = 2
            elif waited >= timedelta(hours=settings.escalate_after_hours):
                level = 1
            if level <= request.escalation_level:
                return None
            raised = await store.raise_escalation(conn, request_id, level)
            if raised is None:
                return None
            roles: list[int] = []
            if config is not None and config.helper_role_id is not None:
                roles.append(config.helper_role_id)
            if level >= 2 and config is not None and config.moderator_role_id is not None:
                roles.append(config.moderator_role_id)
            args = {"level": level, "previous": request.escalation_level, "roles": roles}
            await self._effect(conn, raised, HelpEffect.ESCALATED, args=args)
            await self._effect(conn, raised, HelpEffect.ESCALATION_DM, args={"level": level})
        log.info("help request escalated id=%d level=%d", request_id, level)
        return Escalation(raised, level, request.escalation_level, tuple(roles), notify_asker=True)

    # -- Discord-side changes (reconciliation) --

    async def thread_gone(self, thread_id: int) -> CloseOutcome | None:
        """The thread was deleted (e.g. by a moderator): the request is closed with reason ``thread_deleted``."""
        request = await self.by_thread(thread_id)
        if request is None:
            return None
        return await self.close(request.id, None, CloseReason.THREAD_DELETED)

    async def asker_left(self, guild_id: int, user_id: int) -> list[CloseOutcome]:
        """The member left the server: their live requests close with reason ``asker_left``."""
        live = await store.live_for_asker(self.db.conn, guild_id, user_id)
        return [await self.close(r.id, None, CloseReason.ASKER_LEFT) for r in live]

    async def helper_lost_role(self, guild_id: int, user_id: int) -> list[ReleaseOutcome]:
        """The helper lost the helper role (or left): their claims on live requests are released."""
        claims = await store.active_claims_of_helper(self.db.conn, guild_id, user_id)
        return [await self.release(c.request_id, user_id, why="lost_role") for c in claims]

    # -- privacy --

    async def export_member(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Everything kept about the member here: their requests (with their text) and the claims they made."""
        requests = await store.for_asker(self.db.conn, guild_id, user_id)
        claims = await store.claims_of_helper(self.db.conn, guild_id, user_id)
        numbers = {}
        for claim in claims:
            claimed = await store.get(self.db.conn, claim.request_id)
            if claimed is not None:
                numbers[claim.request_id] = (claimed.number, claimed.topic)
        return {
            "help_requests": [
                {
                    "number": r.number,
                    "topic": r.topic,
                    "what_is_going_on": r.body,
                    "what_would_help": r.wants,
                    "status": r.status,
                    "source": r.source,
                    "thread_id": r.thread_id,
                    "created_at": r.created_at.isoformat(),
                    "first_claimed_at": _iso(r.first_claimed_at),
                    "closed_at": _iso(r.closed_at),
                    "close_reason": r.close_reason,
                    "feedback": r.feedback,
                    "anonymous": r.anonymous,
                    "revealed_at": _iso(r.revealed_at),
                }
                for r in requests
            ],
            "help_reveals": await self._export_reveals(guild_id, user_id),
            "help_claims": [
                {
                    "request_number": numbers.get(c.request_id, (None, None))[0],
                    "topic": numbers.get(c.request_id, (None, None))[1],
                    "claimed_at": c.claimed_at.isoformat(),
                    "released_at": _iso(c.released_at),
                }
                for c in claims
            ],
        }

    async def delete_member(self, guild_id: int, user_id: int) -> int:
        """Close the member's live requests, blank their text and unlink them; release and unlink their claims (the
        cards that listed her are shown again without her). Anonymous counts remain. Returns how many requests and
        claims were changed."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            for request in await store.live_for_asker(conn, guild_id, user_id):
                await store.close(conn, request.id, by_user_id=None, reason=CloseReason.ASKER.value, now=now)
            await relay_store.forget_member(conn, guild_id, user_id)
            await relay_store.anonymize_moderator(conn, guild_id, user_id)
            count = await store.anonymize_asker(conn, guild_id, user_id)
            claimed = {c.request_id for c in await store.claims_of_helper(conn, guild_id, user_id)}
            count += await store.anonymize_helper(conn, guild_id, user_id, now=now)
            await store.anonymize_closer(conn, guild_id, user_id)
            # Queue cards that listed her as a claiming helper are shown again without her.
            for request_id in sorted(claimed):
                claimed_request = await store.get(conn, request_id)
                if claimed_request is not None and claimed_request.asker_id is not None:
                    await self._effect(conn, claimed_request, HelpEffect.CARD)
        for kind in (ESCALATE_JOB, IDLE_JOB):
            await self.dispatcher.cancel(kind=kind, guild_id=guild_id, user_id=user_id)
        log.info("help request data deleted guild_id=%d user_id=%d rows=%d", guild_id, user_id, count)
        return count
