"""The mentor side effects (``services.mentors.MentorEffect``), each carried out once by the effects runner
(``cogs/_effects.py``, ``docs/effects.md``). Effects carry ids only: what a message says, and the ``.ics`` invite it
attaches, are rendered from the database when the effect runs, so a change in between (a cancellation, a deletion)
is what the message says.

How "once" holds here:
- DMs and new posts are sent with the effect's nonce (a retry within Discord's window gets the same message back);
  the application card is also found by its Approve button's custom id in the queue after a longer gap;
- the roster card is found by its stored id, else by its Book button's custom id in the roster channel, before one is
  posted (``_roster.py``);
- edits (the decided application, a redaction, a take-down) and role changes are idempotent by nature.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord

from cogs._effects import EffectBlocked, EffectGone, EffectRetry, EffectRunner, dm_once, send_once
from cogs._guilds import guild_of
from cogs.mentors import _render as render
from cogs.mentors._desk import VOICE_PREFIX, voice_rooms
from cogs.mentors._views import answer_view, approval_view, outcome_view, slot_view
from services.effects import Landed
from services.mentors import Booking, CancelCause, MentorEffect, booking_of, booking_subject
from storage.effects import Effect

if TYPE_CHECKING:
    from cogs.mentors._desk import Desk

log = logging.getLogger(__name__)

NO_PING = discord.AllowedMentions.none()


class MentorEffects:
    def __init__(self, desk: Desk, runner: EffectRunner) -> None:
        self.desk = desk
        self.bot = desk.bot
        self.mentors = desk.mentors
        self.outbox = self.bot.services.outbox
        for kind, handler in {
            MentorEffect.APPLICATION: self.application,
            MentorEffect.ROLE: self.role,
            MentorEffect.DECIDED_DM: self.decided_dm,
            MentorEffect.CARD: self.card,
            MentorEffect.REQUEST_DM: self.request_dm,
            MentorEffect.CONFIRMATION: self.confirmation,
            MentorEffect.DECLINED_DM: self.declined_dm,
            MentorEffect.EXPIRED_DM: self.expired_dm,
            MentorEffect.CANCELLED_DM: self.cancelled_dm,
            MentorEffect.REMINDER: self.reminder,
            MentorEffect.AFTER_CALL: self.after_call,
            MentorEffect.VOICE_ROOM: self.voice_room,
            MentorEffect.VOICE_READY: self.voice_ready,
            MentorEffect.REDACT: self.redact,
            MentorEffect.TAKE_DOWN: self.take_down,
        }.items():
            runner.register(kind, handler)

    # --- helpers -----------------------------------------------------------------------------------------------------

    async def _posted(self, subject: str, kind: MentorEffect) -> Effect | None:
        """The first message a ``kind`` effect of ``subject`` posted, if any."""
        return next(
            (e for e in await self.outbox.posted(subject) if e.kind == kind and e.result_id and e.channel_id), None
        )

    async def _edit(self, channel_id: int, message_id: int, **changes: Any) -> Landed | None:
        channel = self.bot.get_partial_messageable(channel_id)
        try:
            await channel.get_partial_message(message_id).edit(**changes)
        except discord.NotFound:
            return None
        return Landed(channel_id, message_id)

    async def _booking(self, effect: Effect, *statuses: str) -> Booking | None:
        booking_id, _ = booking_of(effect.subject)
        booking = await self.mentors.get_booking(booking_id)
        if booking is None or (statuses and booking.status not in statuses):
            return None
        return booking

    # --- the profile -------------------------------------------------------------------------------------------------

    async def application(self, effect: Effect) -> Landed | None:
        """Post the application to the helper queue while it waits; once decided (or withdrawn), edit that post."""
        assert effect.guild_id is not None and effect.user_id is not None
        mentor = await self.mentors.get(effect.guild_id, effect.user_id)
        if mentor is None:
            return None
        posted = await self._posted(effect.subject, MentorEffect.APPLICATION)
        if mentor.status == "pending_approval":
            if posted is not None:
                return Landed(posted.channel_id, posted.result_id)
            queue = await self.desk.queue_channel(effect.guild_id)
            if queue is None:
                # Waits for the queue (the member is told to ask a moderator); /setup runs it again.
                raise EffectBlocked(["a helper queue channel (`/setup channels`)"])
            message = await send_once(
                effect,
                queue,
                marker=f"mentors:approve:{mentor.user_id}",
                embed=render.application_embed(mentor),
                view=approval_view(mentor.user_id),
                allowed_mentions=NO_PING,
            )
            return Landed(queue.id, message.id)
        if posted is None or posted.channel_id is None or posted.result_id is None:
            return None
        if mentor.status in ("active", "paused", "declined") and mentor.decided_by is not None:
            content = render.application_decided(mentor, mentor.decided_by, mentor.status != "declined")
            return await self._edit(posted.channel_id, posted.result_id, content=content, view=None)
        return await self._edit(
            posted.channel_id, posted.result_id, content=render.APPLICATION_WITHDRAWN, embed=None, view=None
        )

    async def role(self, effect: Effect) -> Landed | None:
        """Give the mentor role to a listed mentor, take it back from one who left; a missing permission is said to
        whoever acted (``Desk.role_problem``), not retried."""
        assert effect.guild_id is not None and effect.user_id is not None
        mentor = await self.mentors.get(effect.guild_id, effect.user_id)
        guild = await guild_of(self.bot, effect.guild_id)
        if mentor is None or guild is None or mentor.status == "pending_approval":
            return None
        listed = mentor.status in ("active", "paused")
        role_id, problem = await self.desk.role_problem(guild)
        if role_id is None or problem is not None:
            return None
        try:
            if listed:
                await self.bot.http.add_role(guild.id, mentor.user_id, role_id, reason="Porchlight: approved mentor")
            else:
                await self.bot.http.remove_role(
                    guild.id, mentor.user_id, role_id, reason="Porchlight: left the mentor roster"
                )
        except discord.NotFound:
            return None  # they left the server
        except discord.Forbidden as error:
            raise EffectGone("the role change was refused") from error
        return None

    async def decided_dm(self, effect: Effect) -> Landed | None:
        assert effect.guild_id is not None and effect.user_id is not None
        guild = await guild_of(self.bot, effect.guild_id)
        if guild is None:
            return None
        text = render.approved_dm(guild.name) if effect.args.get("approved") else render.declined_dm(guild.name)
        return await dm_once(self.bot, effect, effect.user_id, text)

    async def card(self, effect: Effect) -> Landed | None:
        """Bring the roster card up to date (at most one edit a minute: a later one is scheduled), or remove it."""
        assert effect.guild_id is not None and effect.user_id is not None
        await self.desk.roster.refresh(effect.guild_id, effect.user_id)
        return None

    # --- a booking ---------------------------------------------------------------------------------------------------

    async def request_dm(self, effect: Effect) -> Landed | None:
        booking = await self._booking(effect, "requested")
        if booking is None:
            return None
        return await dm_once(
            self.bot,
            effect,
            booking.mentor_user_id,
            embed=render.request_for_mentor(booking),
            view=answer_view(booking.id),
        )

    async def confirmation(self, effect: Effect) -> Landed | None:
        booking = await self._booking(effect, "confirmed")
        assert effect.user_id is not None
        if booking is None:
            return None
        number = await self.mentors.contact_for(booking, effect.user_id)
        moved = effect.args.get("moved_from")
        moved_from = datetime.fromtimestamp(int(moved), UTC) if moved else None
        text = render.confirmation(booking, effect.user_id, number, moved_from=moved_from)
        return await dm_once(self.bot, effect, effect.user_id, text, files=[self.desk.invite(booking, "REQUEST")])

    async def declined_dm(self, effect: Effect) -> Landed | None:
        booking = await self._booking(effect, "declined", "expired")
        if booking is None:
            return None
        alternatives = await self.mentors.alternatives(booking)
        text = render.declined_for_member(booking, alternatives, expired=bool(effect.args.get("expired")))
        mentor = await self.mentors.get(booking.guild_id, booking.mentor_user_id)
        send: dict[str, Any] = {}
        if alternatives and mentor is not None:
            send["view"] = slot_view(booking.guild_id, mentor, alternatives)
        return await dm_once(self.bot, effect, booking.member_user_id, text, **send)

    async def expired_dm(self, effect: Effect) -> Landed | None:
        booking = await self._booking(effect, "expired")
        if booking is None:
            return None
        return await dm_once(self.bot, effect, booking.mentor_user_id, render.expired_for_mentor(booking))

    async def cancelled_dm(self, effect: Effect) -> Landed | None:
        """The one cancellation DM, whatever the cause, with the METHOD:CANCEL invite when the call was confirmed.
        After a deletion the booking row is gone: the DM and invite are rendered from what the effect kept (times
        and sequence, no member)."""
        assert effect.user_id is not None
        booking = await self._booking(effect) or _stand_in(effect)
        cause = CancelCause(str(effect.args.get("cause", CancelCause.BY_PERSON.value)))
        files = [self.desk.invite(booking, "CANCEL")] if booking.ics_sequence > 0 else []
        landed = await dm_once(
            self.bot, effect, effect.user_id, render.cancelled_notice(booking, effect.user_id, cause), files=files
        )
        log.info("call cancellation told booking=%d cause=%s", booking.id, cause.value)
        return landed

    async def reminder(self, effect: Effect) -> Landed | None:
        booking = await self._booking(effect, "confirmed")
        assert effect.user_id is not None
        if booking is None or self.bot.services.clock.now() >= booking.starts_at:
            return None
        text = render.reminder(booking, effect.user_id, int(effect.args.get("minutes", 15)))
        return await dm_once(self.bot, effect, effect.user_id, text)

    async def after_call(self, effect: Effect) -> Landed | None:
        booking = await self._booking(effect, "confirmed", "completed")
        assert effect.user_id is not None
        if booking is None:
            return None
        view = outcome_view(booking.id, member=effect.user_id == booking.member_user_id)
        return await dm_once(self.bot, effect, effect.user_id, render.after_call(booking, effect.user_id), view=view)

    async def voice_room(self, effect: Effect) -> Landed | None:
        """Find-or-create the call's private voice room (named ``commute-call-<id>``): a retry finds the room a lost
        response or a crash left behind, and a duplicate Discord made behind a failed response is deleted."""
        booking = await self._booking(effect, "confirmed")
        guild = await guild_of(self.bot, booking.guild_id) if booking else None
        if booking is None or guild is None:
            return None
        if not guild.me.guild_permissions.manage_channels:
            raise EffectGone("Manage Channels is missing")  # each person is told to call from their DMs instead
        rooms = await voice_rooms(guild, booking.id)
        if not rooms:
            allow = discord.PermissionOverwrite(view_channel=True, connect=True, speak=True)
            overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {
                guild.default_role: discord.PermissionOverwrite(view_channel=False),
                guild.me: discord.PermissionOverwrite(view_channel=True),
                discord.Object(booking.member_user_id, type=discord.Member): allow,
                discord.Object(booking.mentor_user_id, type=discord.Member): allow,
            }
            try:
                await guild.create_voice_channel(
                    f"{VOICE_PREFIX}{booking.id}", overwrites=overwrites, reason="Porchlight commute call"
                )
            except discord.Forbidden as error:
                raise EffectGone("the voice room was refused") from error
            rooms = await voice_rooms(guild, booking.id)
        if not rooms:
            raise EffectRetry("the new voice room is not listed yet")
        first, *extra = rooms
        for duplicate in extra:
            try:
                await duplicate.delete(reason="Porchlight: a duplicate commute-call room")
            except discord.NotFound:
                pass
        log.info("voice room ready booking=%d channel=%d", booking.id, first.id)
        return Landed(first.id, first.id)

    async def voice_ready(self, effect: Effect) -> Landed | None:
        """Tell one person where to join, or, when the room could not be made, to call from their DMs."""
        booking = await self._booking(effect, "confirmed")
        assert effect.user_id is not None
        if booking is None:
            return None
        room = await self.outbox.latest(booking_subject(booking.id, "member"), MentorEffect.VOICE_ROOM)
        if room is not None and room.status == "pending":
            raise EffectRetry("the voice room is not made yet")
        if room is not None and room.status == "done" and room.result_id is not None:
            text = render.voice_ready(booking, room.result_id)
        else:
            text = render.voice_missing(booking, effect.user_id)
        return await dm_once(self.bot, effect, effect.user_id, text)

    # --- taking things back ------------------------------------------------------------------------------------------

    async def redact(self, effect: Effect) -> Landed | None:
        """Edit a DM Porchlight sent: the confirmation without the other's number once the call is cancelled or
        over (``what=confirmation``), or every DM about a call whose other person deleted their data
        (``what=gone``: their name, words and number go)."""
        assert effect.user_id is not None
        if effect.args.get("what") == "gone":
            starts = effect.args.get("starts_at")
            starts_at = datetime.fromtimestamp(int(starts), UTC) if starts else None
            landed = None
            kinds = (MentorEffect.REQUEST_DM, MentorEffect.CONFIRMATION, MentorEffect.MOVE_REQUEST_DM)
            for posted in await self.outbox.posted(effect.subject):
                if posted.kind in kinds and posted.channel_id and posted.result_id:
                    confirmed = posted.kind != MentorEffect.REQUEST_DM
                    text = render.gone_note(starts_at, confirmed=confirmed, left=bool(effect.args.get("left")))
                    landed = await self._edit(posted.channel_id, posted.result_id, content=text, embed=None, view=None)
            return landed
        booking = await self._booking(effect)
        if booking is None:
            return None  # deleted with the other person's data: their own redaction (what=gone) edits it
        landed = None
        for posted in await self.outbox.posted(effect.subject):  # a moved call has one confirmation per time
            if posted.kind == MentorEffect.CONFIRMATION and posted.channel_id and posted.result_id:
                content = render.confirmation_redacted(booking, effect.user_id)
                landed = await self._edit(posted.channel_id, posted.result_id, content=content)
        return landed

    async def take_down(self, effect: Effect) -> Landed | None:
        """A member deleted their data: their application in the helper queue becomes a neutral note (the
        moderators' record that something was there stays, her words and name go); their roster card is deleted."""
        channel_id, message_id = effect.args.get("channel_id"), effect.args.get("message_id")
        if not channel_id or not message_id:
            return None
        if effect.args.get("what") == "application":
            return await self._edit(
                int(channel_id), int(message_id), content=render.APPLICATION_REMOVED, embed=None, view=None
            )
        try:
            await self.bot.get_partial_messageable(int(channel_id)).get_partial_message(int(message_id)).delete()
        except discord.NotFound:
            pass
        return None


def _stand_in(effect: Effect) -> Booking:
    """A cancelled booking whose row is gone (deleted with the other person's data), from the effect's args: enough
    for the notice and the cancelling invite, naming nobody but the recipient."""
    assert effect.user_id is not None and effect.guild_id is not None
    booking_id, role = booking_of(effect.subject)
    args = effect.args

    def at(key: str) -> datetime:
        return datetime.fromtimestamp(int(args[key]), UTC)

    me, other = effect.user_id, 0
    return Booking(
        id=booking_id,
        guild_id=effect.guild_id,
        mentor_user_id=me if role == "mentor" else other,
        member_user_id=me if role == "member" else other,
        starts_at=at("starts_at"),
        ends_at=at("ends_at"),
        status="cancelled",
        contact_mode=str(args.get("contact_mode", "discord_voice")),
        topic_text="",
        member_phone_encrypted=None,
        expires_at=at("starts_at"),
        cancel_reason=None,
        cancelled_by=None,
        outcome=None,
        outcome_reported_by=None,
        no_show_user_id=None,
        ics_sequence=int(args.get("sequence", 0)),
        created_at=at("updated_at"),
        decided_at=None,
        updated_at=at("updated_at"),
    )
