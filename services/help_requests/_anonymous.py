"""Anonymous asks (issue 14 §1): the rules of relaying words between an anonymous request's thread and its asker's
DMs, the asker showing their name, and a moderator's audited reveal. Every change records its Discord side effects
in its own transaction; a relay's text waits in ``help_relays`` until delivered, never in an effect."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.help_requests._answers import (
    RelayRefused,
    RevealRefused,
    WhichRequest,
    _not_found,
)
from services.help_requests._arming import HelpRequestBase
from services.help_requests._rules import (
    RELAY_LIMIT,
    REVEAL_REASON_LIMIT,
    HelpEffect,
)
from services.text import clean_text
from storage import help_relays as relay_store
from storage import help_requests as store
from storage.help_relays import TO_MEMBER, TO_THREAD, Relay, Reveal
from storage.help_requests import HelpRequest
from storage.sql import Conn

log = logging.getLogger(__name__)

ANONYMOUS_OFF = (
    "This server hasn't turned on anonymous asks, so helpers will see your name. Ask without the anonymous option, "
    "or ask a moderator about it."
)
RELAYS_PER_HOUR = 30  # an anonymous asker's DMs passed to one thread: a flood guard, far above a conversation
ATTACHMENTS_REFUSED = (
    "I can't pass on files or images to the helpers — they could give away who you are, and I don't keep them. "
    "Please describe it in words instead; your message was not sent."
)


@dataclass(frozen=True, slots=True)
class RelayOutcome:
    request: HelpRequest
    relay: Relay
    created: bool  # False: the same submission or DM was already taken (a retry or a double submit)


@dataclass(frozen=True, slots=True)
class RevealOutcome:
    request: HelpRequest
    asker_id: int | None  # None when the asker already deleted their data
    reveal: Reveal


class AnonymousAsks(HelpRequestBase):
    # -- helpers' replies --

    async def relay_to_member(
        self, request_id: int, helper_id: int, *, is_moderator: bool, text: str | None, source_key: str
    ) -> RelayOutcome:
        """A helper's reply to the anonymous asker (``/reply`` or the Reply to member form): held until the DM is
        sent. Only a helper holding the request, or a moderator, may reply."""
        clean = _clean_relay(text)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            if not request.anonymous:
                raise RelayRefused(
                    f"Request #{request.number} isn't anonymous — the member is in this thread, so write here."
                )
            if request.status != "open" or request.asker_id is None:
                raise RelayRefused(f"Request #{request.number} is closed, so nothing can be sent to the member.")
            claims = await store.active_claims(conn, request_id)
            if not is_moderator and helper_id not in {c.helper_id for c in claims}:
                raise RelayRefused(f"Only the helpers holding request #{request.number} (or a moderator) can reply.")
            relay, created = await relay_store.insert_relay(
                conn,
                request_id=request_id,
                direction=TO_MEMBER,
                author_id=helper_id,
                source_key=source_key,
                text=clean,
                now=now,
            )
            if created:
                await self._effect(conn, request, HelpEffect.RELAY, args={"relay_id": relay.id})
                if request.thread_id is not None:
                    await store.touch_activity(conn, request.thread_id, now)
        if created:
            log.info("help relay to member request=%d relay=%d", request_id, relay.id)
        return RelayOutcome(request, relay, created)

    # -- the asker's DMs --

    async def relay_to_thread(
        self, asker_id: int, text: str | None, *, source_key: str, reply_to: int | None, attachments: bool
    ) -> RelayOutcome:
        """The asker's DM to Porchlight, for the thread of one of their open anonymous requests: the one whose DM
        they replied to, or their only one. Files are refused (they can identify the asker)."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            request = await self._request_of_dm(conn, asker_id, reply_to)
            if attachments:
                raise RelayRefused(ATTACHMENTS_REFUSED)
            clean = _clean_relay(text)
            recent = await relay_store.count_since(conn, request.id, TO_THREAD, now - timedelta(hours=1))
            if recent >= RELAYS_PER_HOUR:
                raise RelayRefused(
                    f"That's {RELAYS_PER_HOUR} messages to the helpers of request #{request.number} in the last hour, "
                    "the most I pass on — give them a moment to answer, then write again. This one was not sent."
                )
            relay, created = await relay_store.insert_relay(
                conn,
                request_id=request.id,
                direction=TO_THREAD,
                author_id=None,
                source_key=source_key,
                text=clean,
                now=now,
            )
            if created:
                await self._effect(conn, request, HelpEffect.RELAY, args={"relay_id": relay.id})
                await self._effect(conn, request, HelpEffect.RELAY_ACK, args={"relay_id": relay.id})
                if request.thread_id is not None:
                    await store.touch_activity(conn, request.thread_id, now)
        if created:
            log.info("help relay to thread request=%d relay=%d", request.id, relay.id)
        return RelayOutcome(request, relay, created)

    async def _request_of_dm(self, conn: Conn, asker_id: int, reply_to: int | None) -> HelpRequest:
        live = await relay_store.live_anonymous_for_asker(conn, asker_id)
        if reply_to is not None:
            request_id = await relay_store.request_of_dm(conn, reply_to)
            request = await store.get(conn, request_id) if request_id is not None else None
            if request is not None and request.asker_id == asker_id and request.anonymous:
                if request.status != "open":
                    raise RelayRefused(
                        f"Request #{request.number} is closed, so your message was not sent. Reopen it from my DM "
                        "about it (the **Reopen** button), then write again."
                    )
                return request
        if len(live) == 1:
            return live[0]
        if not live:
            raise RelayRefused(
                "You have no open anonymous help request, so there's nobody to pass this on to. To ask for help, "
                "use `/ask` in the server."
            )
        numbers = ", ".join(f"#{r.number}" for r in live)
        raise WhichRequest(
            f"You have {len(live)} open anonymous requests ({numbers}). Which one is this for? Use Discord's "
            "**Reply** on one of my messages about that request and send it again — your message was not sent."
        )

    async def relay_delivered(self, relay_id: int, message_id: int | None) -> None:
        """The relay reached Discord (or could not, and was given up): its text is blanked."""
        async with self.db.transaction() as conn:
            await relay_store.delivered(conn, relay_id, message_id=message_id, now=self.clock.now())

    async def relay(self, relay_id: int) -> Relay | None:
        return await relay_store.get_relay(self.db.conn, relay_id)

    async def relayed_posts(self, request_id: int) -> list[int]:
        """The thread messages that carry the asker's relayed words (kept as ids after delivery), for a take-down."""
        return [
            r.message_id
            for r in await relay_store.relays_of(self.db.conn, request_id)
            if r.direction == TO_THREAD and r.message_id is not None
        ]

    # -- showing the asker's name --

    async def reveal_self(self, request_id: int, user_id: int) -> HelpRequest:
        """The asker shows their name: they join the thread and it says so. Never undone, never done by others."""
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            if request.asker_id != user_id:
                raise RevealRefused("Only the member who asked can show their name.")
            if not request.hides_asker:
                return request
            if request.status == "closed":
                raise RevealRefused(
                    f"Request #{request.number} is closed. Reopen it first if you'd like to join its thread."
                )
            revealed = await relay_store.mark_revealed(conn, request_id, now=self.clock.now())
            assert revealed is not None
            await self._effect(conn, revealed, HelpEffect.REVEALED)
            await self._effect(conn, revealed, HelpEffect.CARD)
        log.info("help request revealed by asker id=%d", request_id)
        return revealed

    async def reveal_to_moderator(self, request_id: int, moderator_id: int, reason: str | None) -> RevealOutcome:
        """A moderator looks up who asked (for abuse): kept in the audit list, and the asker is told by DM. The
        helpers still don't see the name. Permission is the caller's business."""
        clean = clean_text(reason)
        if clean is None:
            raise RevealRefused("Give a reason: it's kept in the server's audit list and sent to the member.")
        if len(clean) > REVEAL_REASON_LIMIT:
            raise RevealRefused(f"The reason is {len(clean)} characters; keep it under {REVEAL_REASON_LIMIT}.")
        async with self.db.transaction() as conn:
            request = await store.get(conn, request_id)
            if request is None:
                raise _not_found()
            if not request.anonymous:
                raise RevealRefused(f"Request #{request.number} isn't anonymous: the member is named in its thread.")
            reveal = await relay_store.insert_reveal(
                conn,
                guild_id=request.guild_id,
                request_id=request_id,
                moderator_id=moderator_id,
                reason=clean,
                now=self.clock.now(),
            )
            if request.asker_id is not None:
                await self._effect(conn, request, HelpEffect.REVEAL_DM, args={"reveal_id": reveal.id})
        log.info("help request revealed to a moderator id=%d reveal=%d", request_id, reveal.id)
        return RevealOutcome(request, request.asker_id, reveal)

    async def _export_reveals(self, guild_id: int, user_id: int) -> list[dict[str, Any]]:
        """Moderators' look-ups of who asked: of the member's anonymous requests, and those the member made."""
        conn = self.db.conn
        rows = [("your_request", v) for v in await relay_store.reveals_of_asker(conn, guild_id, user_id)]
        rows += [("by_you", v) for v in await relay_store.reveals_by_moderator(conn, guild_id, user_id)]
        exported = []
        for about, reveal in rows:
            request = await store.get(conn, reveal.request_id)
            exported.append(
                {
                    "about": about,
                    "request_number": request.number if request else None,
                    "revealed_at": reveal.revealed_at.isoformat(),
                    "reason": reveal.reason,
                }
            )
        return exported

    async def reveal(self, reveal_id: int) -> Reveal | None:
        return await relay_store.get_reveal(self.db.conn, reveal_id)

    async def reveals(self, guild_id: int) -> list[Reveal]:
        """The server's audit list of moderators' reveals, newest first (for ``/setup settings``)."""
        return await relay_store.reveals(self.db.conn, guild_id)


def _clean_relay(text: str | None) -> str:
    clean = clean_text(text)
    if clean is None:
        raise RelayRefused("There's nothing to send — write a few words.")
    if len(clean) > RELAY_LIMIT:
        raise RelayRefused(f"That's {len(clean)} characters; keep it under {RELAY_LIMIT} so it fits in one message.")
    return clean
