"""The life of a help request as members and helpers drive it: asking, claims, closing, reopening and feedback.
Each command writes its rows and records its Discord effects (``services/effects.py``) in one transaction."""

from __future__ import annotations

import logging
from datetime import timedelta

from services.help_requests._anonymous import ANONYMOUS_OFF, AnonymousAsks
from services.help_requests._answers import (
    AnonymousOff,
    ClaimOutcome,
    CloseOutcome,
    CloseRefused,
    Cooldown,
    Draft,
    FeedbackOutcome,
    FeedbackRefused,
    HelperAtCapacity,
    HelpersFull,
    HelpNotConfigured,
    NotAHelper,
    OpenOutcome,
    OwnRequest,
    ReleaseOutcome,
    ReopenOutcome,
    ReopenRefused,
    RequestClosed,
    RequestNotReady,
    TextTooLong,
    TooManyOpen,
    _not_found,
)
from services.help_requests._rules import (
    _NOT_REOPENABLE,
    ESCALATE_JOB,
    IDLE_JOB,
    NOTE_LIMIT,
    ON_CALL_HELPERS,
    SOURCES,
    TELL_ASKER_AFTER,
    THANKS_LIMIT,
    CloseReason,
    HelpEffect,
    HelpSettings,
    _ids,
    _plural,
    _validate,
    _where,
    can_close,
    help_subject,
    relative,
)
from services.text import clean_text
from storage import guilds
from storage import help_requests as store
from storage import helper_duty as duty_store
from storage.help_requests import HelpRequest
from storage.sql import Conn

log = logging.getLogger(__name__)


class RequestLifecycle(AnonymousAsks):
    """Asking, claims, closing, reopening and feedback: the commands a member or helper runs."""

    # -- asking --

    async def _check_can_ask(self, conn: Conn, guild_id: int, asker_id: int, draft: Draft | None) -> HelpSettings:
        config = await guilds.get_config(conn, guild_id)
        if config is None or config.help_channel_id is None or config.queue_channel_id is None:
            raise HelpNotConfigured(
                "Help requests aren't set up on this server yet — a moderator needs to run /setup channels.", draft
            )
        settings = HelpSettings.of(config)
        live = await store.live_for_asker(conn, guild_id, asker_id)
        if len(live) >= settings.max_open_requests:
            where = ", ".join(_where(r) for r in live)
            raise TooManyOpen(
                f"You already have {_plural(len(live), 'open help request')} ({where}) — the most this server "
                f"allows at once is {settings.max_open_requests}. Add to an open thread, or close one with /close "
                "inside its thread, then ask again.",
                draft,
            )
        latest = await store.latest_for_asker(conn, guild_id, asker_id)
        if latest is not None:
            until = latest.created_at + timedelta(minutes=settings.request_cooldown_minutes)
            if self.clock.now() < until:
                raise Cooldown(
                    f"You opened a help request a moment ago. You can open another {relative(until)} — until then, "
                    f"add anything new in {_where(latest)}.",
                    until,
                    draft,
                )
        return settings

    async def check_can_ask(self, guild_id: int, asker_id: int) -> HelpSettings:
        """The checks of :meth:`open_request` that do not need the text: run them before showing the modal."""
        return await self._check_can_ask(self.db.conn, guild_id, asker_id, None)

    async def open_request(
        self,
        guild_id: int,
        asker_id: int,
        topic: str,
        body: str | None,
        wants: str | None,
        submit_key: str | None,
        source: str = "ask",
        anonymous: bool = False,
    ) -> OpenOutcome:
        """Find-or-create a request in ``pending_thread``; the Discord layer then creates the thread and calls
        :meth:`attach_thread`. Refusals carry the member's text as ``error.draft``."""
        if source not in SOURCES:
            raise ValueError(f"unknown help request source {source!r}")
        draft = _validate(topic, body, wants)
        key = clean_text(submit_key)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if key is not None:
                existing = await store.get_by_submit_key(conn, guild_id=guild_id, asker_id=asker_id, submit_key=key)
                if existing is not None:
                    return OpenOutcome(existing, created=False)
            settings = await self._check_can_ask(conn, guild_id, asker_id, draft)
            if anonymous and not settings.anonymous_asks:
                raise AnonymousOff(ANONYMOUS_OFF, draft)
            request = await store.insert(
                conn,
                guild_id=guild_id,
                asker_id=asker_id,
                topic=topic,
                body=draft.body,
                wants=draft.wants,
                source=source,
                submit_key=key,
                now=now,
                anonymous=anonymous,
            )
            for effect in (HelpEffect.THREAD, HelpEffect.OPENING, HelpEffect.CARD):
                await self._effect(conn, request, effect)
            for helper_id in await duty_store.on_call_for_topic(
                conn, guild_id, topic, now=now, exclude=asker_id, limit=ON_CALL_HELPERS
            ):
                await self._effect(conn, request, HelpEffect.ON_CALL_DM, args={"helper_id": helper_id})
            if anonymous:  # the asker is not in the thread: this DM is how they follow it, so it always goes
                await self._effect(conn, request, HelpEffect.ANON_DM)
            else:
                await self._effect(conn, request, HelpEffect.TELL_ASKER, delay=TELL_ASKER_AFTER)
        log.info(
            "help request opened id=%d guild_id=%d number=%d anonymous=%s",
            request.id,
            guild_id,
            request.number,
            anonymous,
        )
        return OpenOutcome(request, created=True)

    async def asker_told(self, request_id: int) -> None:
        """The interaction's own answer gave the member their thread: the fallback DM is not needed."""
        async with self.db.transaction() as conn:
            await self.outbox.cancel(conn, help_subject(request_id), HelpEffect.TELL_ASKER)

    async def attach_thread(self, request_id: int, thread_id: int, queue_message_id: int | None) -> HelpRequest:
        """The private thread exists (and the queue card, when posted): the request is ``open``; escalation is
        armed, counted from when the member asked."""
        async with self.db.transaction() as conn:
            try:
                request = await store.attach_thread(
                    conn, request_id, thread_id=thread_id, queue_message_id=queue_message_id
                )
            except store.ThreadAlreadyAttached:
                raise ValueError(f"thread {thread_id} already belongs to another help request") from None
            if request is None:
                existing = await store.get(conn, request_id)
        if request is None:
            if existing is None:
                raise _not_found()
            raise RequestClosed(
                f"Request #{existing.number} was closed before its thread opened. Use /ask to start a new one."
            )
        await self._arm_escalation(request)
        log.info("help request thread attached id=%d", request.id)
        return request

    async def set_queue_message(self, request_id: int, queue_message_id: int | None) -> HelpRequest:
        """The queue card was re-posted (escalation) or could not be posted (None)."""
        async with self.db.transaction() as conn:
            request = await store.set_queue_message(conn, request_id, queue_message_id)
        if request is None:
            raise _not_found()
        return request

    # -- claims --

    async def claim(self, request_id: int, helper_id: int, is_helper: bool) -> ClaimOutcome:
        if not is_helper:
            raise NotAHelper(
                "Only members with the server's helper role can claim requests. If you'd like to help, ask a "
                "moderator for the role."
            )
        now = self.clock.now()
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            if request.status == "closed":
                raise RequestClosed(f"Request #{request.number} is already closed. Pick another from /help-queue.")
            if request.status == "pending_thread":
                raise RequestNotReady(
                    f"Request #{request.number} has no thread yet (the bot is missing a permission in the help "
                    "channel). A moderator can fix it with /setup check; try again then."
                )
            if request.asker_id == helper_id:
                raise OwnRequest("That's your own request — another helper will pick it up. Pick another one.")
            claims = await store.active_claims(conn, request_id)
            mine = next((c for c in claims if c.helper_id == helper_id), None)
            if mine is not None:
                return ClaimOutcome(request, mine, already=True, first_claim=False, helper_ids=_ids(claims))
            settings = HelpSettings.of(await guilds.get_config(conn, request.guild_id))
            if len(claims) >= settings.max_helpers:
                raise HelpersFull(
                    f"Request #{request.number} already has {_plural(len(claims), 'helper')}, the most this server "
                    "allows. It's in good hands — pick another from /help-queue."
                )
            held = await store.active_claims_of_helper(conn, request.guild_id, helper_id)
            if len(held) >= settings.max_claims_per_helper:
                held_requests = [await store.get(conn, c.request_id) for c in held]
                numbers = ", ".join(f"#{r.number}" for r in held_requests if r is not None)
                raise HelperAtCapacity(
                    f"You're already helping with {_plural(len(held), 'request')} ({numbers}), the most this server "
                    "asks of one helper at a time — thank you! Close or release one first, and take a breather."
                )
            first_claim = not claims
            try:
                claim = await store.insert_claim(conn, request_id, helper_id, now=now)
            except store.ClaimExists:  # pragma: no cover - the read above runs in the same write transaction
                claims = await store.active_claims(conn, request_id)
                mine = next(c for c in claims if c.helper_id == helper_id)
                return ClaimOutcome(request, mine, already=True, first_claim=False, helper_ids=_ids(claims))
            updated = await store.mark_claimed(conn, request_id, now=now)
            assert updated is not None
            claims.append(claim)
            await self._effect(conn, updated, HelpEffect.JOINED, args={"helper_id": helper_id})
            await self._effect(conn, updated, HelpEffect.CARD)
        if request.awaiting_since is not None:
            await self._cancel_jobs(request, ESCALATE_JOB)
        await self._arm_idle(updated, idle_days=settings.idle_days)
        log.info("help request claimed id=%d helper_id=%d helpers=%d", request_id, helper_id, len(claims))
        return ClaimOutcome(updated, claim, already=False, first_claim=first_claim, helper_ids=_ids(claims))

    async def release(self, request_id: int, helper_id: int, *, why: str | None = "released") -> ReleaseOutcome:
        """The helper steps back. When nobody holds an open request any more, it waits again and escalation is
        re-armed from now. ``why`` is what the thread is told ("released", "lost_role"); None when the helper
        never got in (adding them failed), so nothing is said."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            released = await store.release_claim(conn, request_id, helper_id, now=now)
            remaining = await store.active_claims(conn, request_id)
            unclaimed = released and not remaining and request.status == "open"
            if unclaimed:
                marked = await store.mark_awaiting(conn, request_id, since=now)
                assert marked is not None
                request = marked
            if released:
                if why is None:
                    await self.outbox.cancel(conn, help_subject(request_id), HelpEffect.JOINED)
                elif request.status == "open":
                    args = {"helper_id": helper_id, "why": why, "unclaimed": unclaimed}
                    await self._effect(conn, request, HelpEffect.RELEASED, args=args)
                await self._effect(conn, request, HelpEffect.CARD)
        if unclaimed:
            await self._cancel_jobs(request, IDLE_JOB)
            await self._arm_escalation(request)
        if released:
            log.info("help request released id=%d helper_id=%d helpers=%d", request_id, helper_id, len(remaining))
        return ReleaseOutcome(request, released, _ids(remaining), unclaimed=not remaining and request.status == "open")

    # -- closing and reopening --

    def can_close(self, request: HelpRequest, user_id: int, is_moderator: bool, is_helper_in_thread: bool) -> bool:
        return can_close(request, user_id, is_moderator, is_helper_in_thread)

    async def close(
        self, request_id: int, by_user_id: int | None, reason: CloseReason | str, note: str | None = None
    ) -> CloseOutcome:
        """Close the request (idempotent: closing a closed request changes nothing and says ``already_closed``).
        Permission is the caller's business; :meth:`close_as_member` checks it for /close and the Close button."""
        why = CloseReason(reason)
        clean_note = clean_text(note)
        if clean_note is not None and len(clean_note) > NOTE_LIMIT:
            raise TextTooLong(f"The note is {len(clean_note)} characters; keep it under {NOTE_LIMIT}.")
        async with self.db.transaction() as conn:
            closed = await store.close(conn, request_id, by_user_id=by_user_id, reason=why.value, now=self.clock.now())
            request = closed or await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            claims = await store.active_claims(conn, request_id)
            if closed is not None:
                await self._closing_effects(conn, closed, why)
        if closed is not None:
            await self._cancel_jobs(request, ESCALATE_JOB)
            await self._cancel_jobs(request, IDLE_JOB)
            log.info("help request closed id=%d reason=%s", request_id, why.value)
        return CloseOutcome(request, already_closed=closed is None, helper_ids=_ids(claims), note=clean_note)

    async def close_as_member(
        self, request_id: int, user_id: int, *, is_moderator: bool, note: str | None = None
    ) -> CloseOutcome:
        """/close or the Close button: the asker, a helper holding the request, or a moderator; others refused."""
        request = await self.get(request_id)
        if request is None:
            raise _not_found()
        claims = await self.helpers(request_id)
        is_helper_in_thread = any(c.helper_id == user_id for c in claims)
        if not can_close(request, user_id, is_moderator, is_helper_in_thread):
            raise CloseRefused(
                f"Only the member who asked, a helper who claimed it, or a moderator can close request "
                f"#{request.number}. To help, claim it from the helper queue first."
            )
        if request.asker_id == user_id:
            reason = CloseReason.ASKER
        elif is_helper_in_thread:
            reason = CloseReason.HELPER
        else:
            reason = CloseReason.MODERATOR
        return await self.close(request_id, user_id, reason, note)

    async def reopen(self, request_id: int, user_id: int) -> ReopenOutcome:
        """The asker reopens a closed request within ``reopen_days``; the Discord layer unarchives the thread."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            if request.asker_id != user_id:
                raise ReopenRefused(
                    f"Only the member who asked can reopen request #{request.number}. Use /ask to start your own."
                )
            if request.status != "closed":
                return ReopenOutcome(request, already_open=True)
            if request.thread_id is None or request.close_reason in _NOT_REOPENABLE:
                raise ReopenRefused(
                    f"The thread of request #{request.number} is gone, so it can't be reopened. Use /ask to start a "
                    f"new request — mention #{request.number} so helpers know the background."
                )
            settings = HelpSettings.of(await guilds.get_config(conn, request.guild_id))
            assert request.closed_at is not None
            if now > request.closed_at + timedelta(days=settings.reopen_days):
                raise ReopenRefused(
                    f"Request #{request.number} closed more than {_plural(settings.reopen_days, 'day')} ago, so it "
                    f"can't be reopened. Use /ask to start a new one — mention #{request.number} so helpers know "
                    "the background."
                )
            live = await store.live_for_asker(conn, request.guild_id, user_id)
            if len(live) >= settings.max_open_requests:
                raise TooManyOpen(
                    f"You already have {_plural(len(live), 'open help request')} "
                    f"({', '.join(_where(r) for r in live)}) — the most this server allows at once is "
                    f"{settings.max_open_requests}. Close one with /close inside its thread, then reopen this one."
                )
            claims = await store.active_claims(conn, request_id)
            reopened = await store.reopen(conn, request_id, now=now, awaiting=not claims)
            assert reopened is not None
            await self._effect(conn, reopened, HelpEffect.REOPENED)
            await self._effect(conn, reopened, HelpEffect.CARD)
        if claims:
            await self._arm_idle(reopened, idle_days=settings.idle_days)
        else:
            await self._arm_escalation(reopened)
        log.info("help request reopened id=%d", request_id)
        return ReopenOutcome(reopened, already_open=False)

    async def record_feedback(
        self, request_id: int, user_id: int, helped: bool, thanks: str | None = None
    ) -> FeedbackOutcome:
        """The asker's answer to "Did this help?" (the last answer counts). A thank-you is not stored: it is
        returned with the helpers to forward it to by DM."""
        clean_thanks = clean_text(thanks)
        if thanks is not None and clean_thanks is None:
            raise TextTooLong("The thank-you came through empty, so nothing was sent. Write a few words and send it.")
        if clean_thanks is not None and len(clean_thanks) > THANKS_LIMIT:
            raise TextTooLong(
                f"The thank-you is {len(clean_thanks)} characters; keep it under {THANKS_LIMIT} so it fits in a DM."
            )
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            if request.asker_id != user_id:
                raise FeedbackRefused("Only the member who asked can answer this.")
            if request.status != "closed":
                raise FeedbackRefused(
                    f"Request #{request.number} is open again, so there's nothing to rate yet — close it with /close "
                    "when you're done."
                )
            updated = await store.set_feedback(conn, request_id, "yes" if helped else "no")
            assert updated is not None
            claims = await store.claims(conn, request_id)
        forward: tuple[int, ...] = ()
        if clean_thanks is not None:
            forward = tuple(dict.fromkeys(c.helper_id for c in claims if c.helper_id is not None))
        log.info("help request feedback id=%d helped=%s", request_id, helped)
        return FeedbackOutcome(updated, forward, clean_thanks)
