"""The work behind mentor commands, buttons and jobs: call the service, which records the Discord side effects of
the change (``MentorEffect``, carried out by ``_effects.py``), run them at once (:meth:`Desk.flush`), then answer
from the state. A crash or a Discord error in between leaves them to the effects job, never half-done or doubled.

Decisions:
- Everything personal goes by ephemeral reply or DM. A closed DM (50007) is recorded through the reminder service
  (the member hears about it after their next command) and never becomes a public post.
- Phone numbers are decrypted only to render the confirmation DM of the booked counterpart, and never logged.
- Invites go as ``.ics`` attachments: METHOD:REQUEST with the confirmation, METHOD:CANCEL when a confirmed call is
  cancelled (to both people: the other by DM, the canceller with the reply).
- Voice rooms are named ``commute-call-<booking id>`` so the effect and the delete job find them after a restart
  without a column (listed from Discord, not the cache, so a room made behind a failed response is found too).
- The only DM sent outside the effects is a forwarded thank-you: it is member-written and never stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from cogs._dm import send_dm
from cogs._guilds import guild_of
from cogs._presence import confirm_members
from cogs._ui import amend, is_staff, reply, soon
from cogs.mentors import _render as render
from cogs.mentors._roster import Roster
from cogs.mentors._views import (
    book_buttons,
    calls_view,
    outcome_view,
    slot_view,
)
from services.mentors import Booking, Mentor, MentorEffect, SlotTaken, booking_subject, mentor_subject
from services.safety import Action
from storage.jobs import Job

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
VOICE_PREFIX = "commute-call-"


class Desk:
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot
        self.mentors = bot.services.mentors
        self.safety = bot.services.safety
        self.roster = Roster(bot)

    # --- DMs ---------------------------------------------------------------------------------------------------------

    async def dm(
        self,
        user_id: int,
        content: str | None = None,
        *,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
        files: Sequence[discord.File] = (),
    ) -> discord.Message | None:
        """Send a DM; None when it could not be delivered (a closed DM is recorded for the member's next command)."""
        kwargs: dict[str, Any] = {}
        if embed is not None:
            kwargs["embed"] = embed
        if view is not None:
            kwargs["view"] = view
        if files:
            kwargs["files"] = list(files)
        try:
            return await send_dm(self.bot, user_id, content, **kwargs)
        except discord.HTTPException as error:
            if error.status not in (400, 403, 404):  # refused for good (an unknown user, no access); 5xx propagate
                raise
            log.info("mentor dm not delivered user=%d status=%s code=%s", user_id, error.status, error.code)
            return None

    def invite(self, booking: Booking, method: str) -> discord.File:
        data = self.mentors.ics_invite(booking, "CANCEL" if method == "CANCEL" else "REQUEST")
        return render.invite_file(booking, data)

    # --- effects -----------------------------------------------------------------------------------------------------

    async def flush(self, *subjects: str) -> None:
        """Carry out what the service recorded, now (``docs/effects.md``); what cannot go yet is retried by the
        effects job."""
        for subject in dict.fromkeys(subjects):
            await self.bot.effects.flush(subject)

    async def flush_booking(self, booking: Booking) -> None:
        await self.flush(
            booking_subject(booking.id, "member"),
            booking_subject(booking.id, "mentor"),
            mentor_subject(booking.guild_id, booking.mentor_user_id),
        )

    async def retry_waiting(self, guild_id: int) -> None:
        """After a /setup change: mentor effects that waited for a channel or a permission are tried again."""
        for subject in await self.bot.services.outbox.pending_subjects(guild_id):
            if subject.startswith(("mentor:", "booking:")):
                await self.bot.effects.flush(subject)

    async def queue_channel(self, guild_id: int) -> discord.TextChannel | None:
        config = await self.bot.services.setup.config(guild_id)
        guild = await guild_of(self.bot, guild_id)
        queue = guild.get_channel(config.queue_channel_id) if guild and config and config.queue_channel_id else None
        return queue if isinstance(queue, discord.TextChannel) else None

    # --- signup and approval -----------------------------------------------------------------------------------------

    async def after_signup(self, interaction: Interaction, mentor: Mentor) -> None:
        """A new profile: straight onto the roster, or to the moderators' queue for approval (the service recorded
        which); the answer says what is missing, if anything."""
        assert interaction.guild is not None
        await self.flush(mentor_subject(mentor.guild_id, mentor.user_id))
        if mentor.status == "active":
            notes = [
                await self.role_note(interaction.guild, mentor.user_id),
                await self.roster.problem(mentor.guild_id),
            ]
            await reply(interaction, render.signup_done(mentor, queue_missing=False) + _notes(notes))
            return
        queue_missing = await self.queue_channel(mentor.guild_id) is None
        await reply(interaction, render.signup_done(mentor, queue_missing=queue_missing))

    def is_moderator(self, interaction: Interaction, moderator_role_id: int | None) -> bool:
        return is_staff(interaction, [moderator_role_id], "manage_guild")

    async def decide_application(self, interaction: Interaction, user_id: int, *, approve: bool) -> None:
        """Approve or decline: the card's edit, the role, the DM and the roster card are the service's recorded
        effects, carried out here at once (and by the effects job after a crash)."""
        assert interaction.guild is not None
        guild = interaction.guild
        config = await self.bot.services.setup.config(guild.id)
        if not self.is_moderator(interaction, config.moderator_role_id if config else None):
            await reply(interaction, "Only moderators can approve or decline mentor applications.")
            return
        moderator = interaction.user.id
        await interaction.response.defer()
        if approve:
            await self.mentors.approve(guild.id, user_id, moderator_id=moderator)
        else:
            await self.mentors.decline_application(guild.id, user_id, moderator_id=moderator)
        await self.flush(mentor_subject(guild.id, user_id))
        if approve:
            notes = [await self.role_note(guild, user_id), await self.roster.problem(guild.id)]
            if any(notes):
                await reply(interaction, "Approved, but:" + _notes(notes))

    async def role_note(self, guild: discord.Guild, user_id: int) -> str | None:
        """What kept the mentor role from being given: a known cause, or Discord's refusal of the role effect."""
        _, problem = await self.role_problem(guild)
        if problem is not None:
            return problem
        given = await self.bot.services.outbox.latest(mentor_subject(guild.id, user_id), MentorEffect.ROLE)
        if given is not None and given.status == "failed":
            return "Discord refused to change the mentor role; check Porchlight's role position and Manage Roles"
        return None

    async def role_problem(self, guild: discord.Guild) -> tuple[int | None, str | None]:
        """The configured mentor role, and what stops Porchlight from giving it (None when nothing does)."""
        config = await self.bot.services.setup.config(guild.id)
        if config is None or config.mentor_role_id is None:
            return None, None
        role = guild.get_role(config.mentor_role_id)
        if role is None:
            return None, "the configured mentor role no longer exists; a moderator can pick one with `/setup roles`"
        me = guild.me
        if not me.guild_permissions.manage_roles:
            return role.id, f"I couldn't give {role.mention}: Porchlight needs the Manage Roles permission"
        if role >= me.top_role:
            return (
                role.id,
                f"I couldn't give {role.mention}: move Porchlight's role above it in Server Settings > Roles",
            )
        return role.id, None

    # --- finding and booking -----------------------------------------------------------------------------------------

    async def show_matching(self, interaction: Interaction, topic: str | None) -> None:
        """``/mentors [topic]`` and the check-in's "Find a commute call": matching mentors with Book buttons."""
        if interaction.guild_id is None:
            await reply(interaction, "Use `/mentors` in the server to see who you can book.")
            return
        matches = await self.mentors.matching(interaction.guild_id, topic, member_id=interaction.user.id)
        if not matches:
            await reply(interaction, render.no_matches(topic))
            return
        shown = matches[:10]
        labels = [str(i) for i in range(1, len(shown) + 1)]
        embed = render.matches_embed(shown, topic)
        for index, field in enumerate(embed.fields):
            embed.set_field_at(index, name=f"{index + 1}. {field.name}", value=field.value, inline=False)
        await reply(interaction, embed=embed, view=book_buttons([m.mentor.user_id for m in shown], labels))

    async def offer_slots(self, interaction: Interaction, guild_id: int, mentor_id: int) -> None:
        # A moderator's block or the server's booking limits are said before any slot is shown.
        await self.safety.check(guild_id, interaction.user.id, Action.BOOKING_REQUEST)
        mentor, slots = await self.mentors.offer(guild_id, mentor_id, interaction.user.id, 25)
        if not slots:
            await reply(interaction, render.no_slots(mentor_id))
            return
        await reply(interaction, render.pick_slot(mentor_id, slots), view=slot_view(guild_id, mentor, slots))

    async def request(
        self,
        interaction: Interaction,
        guild_id: int,
        mentor_id: int,
        starts_at: datetime,
        topic: str,
        phone: str | None,
    ) -> None:
        """Store the request, answer the member at once, then DM the mentor and say it was sent.

        The DM queues under Discord's global limit; the answer does not, so it comes first ("sending it now") and is
        edited once the DM went (or the mentor's DMs turned out closed). The DM is an effect recorded with the
        booking: a crash in between leaves it to the effects job."""

        async def store() -> Booking:
            async with self.safety.counting(guild_id, interaction.user.id, Action.BOOKING_REQUEST):
                return await self.mentors.request_booking(
                    guild_id, mentor_id, interaction.user.id, starts_at, topic_text=topic, member_phone=phone
                )

        try:
            booking = await soon(interaction, store())
        except SlotTaken as taken:
            mentor = await self.mentors.get(guild_id, mentor_id)
            text = render.slot_taken(taken.message, taken.alternatives)
            if taken.alternatives and mentor is not None:
                await reply(interaction, text, view=slot_view(guild_id, mentor, taken.alternatives))
            else:
                await reply(interaction, text)
            return
        await reply(interaction, render.request_sending(booking))
        await self.flush_booking(booking)
        sent = await self.bot.services.outbox.latest(booking_subject(booking.id, "mentor"), MentorEffect.REQUEST_DM)
        delivered = sent is None or sent.status != "done" or sent.result_id is not None  # done without: DMs closed
        await amend(interaction, render.request_sent(booking, delivered))

    async def accept(self, interaction: Interaction, booking_id: int) -> None:
        await interaction.response.defer()
        booking = await self.mentors.accept(booking_id, interaction.user.id)
        await self.flush_booking(booking)  # both confirmations, with their invites, and the roster card
        await interaction.edit_original_response(content=render.answered_request(booking, True), view=None)

    async def decline(self, interaction: Interaction, booking_id: int) -> None:
        await interaction.response.defer()
        result = await self.mentors.decline(booking_id, interaction.user.id)
        await self.flush_booking(result.booking)
        content = render.answered_request(result.booking, False)
        await interaction.edit_original_response(content=content, view=None)

    # --- /calls and cancelling ---------------------------------------------------------------------------------------

    async def show_calls(self, interaction: Interaction) -> None:
        calls = await self.mentors.upcoming_calls(interaction.user.id, interaction.guild_id)
        if not calls:
            await reply(interaction, render.NO_CALLS)
            return
        moving = {b.id: m.starts_at for b in calls if (m := await self.mentors.pending_move(b.id)) is not None}
        embed = render.calls_embed(interaction.user.id, calls, moving)
        movable = [b.id for b in calls if b.status == "confirmed" and b.member_user_id == interaction.user.id]
        await reply(interaction, embed=embed, view=calls_view([b.id for b in calls], movable))

    async def cancel(self, interaction: Interaction, booking_id: int, reason: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        booking = await self.mentors.cancel(booking_id, interaction.user.id, reason)
        await self.flush_booking(booking)  # the other person's DM (the one cancellation path), the card
        confirmed = booking.ics_sequence > 0  # bumped only when a confirmed call is cancelled
        own = [self.invite(booking, "CANCEL")] if confirmed else []
        await reply(interaction, render.you_cancelled(booking), **({"files": own} if own else {}))

    # --- profile changes ---------------------------------------------------------------------------------------------

    async def leave(self, interaction: Interaction, guild_id: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.mentors.leave(guild_id, interaction.user.id)
        for booking in result.cancelled:
            await self.flush_booking(booking)
        await self.flush(mentor_subject(guild_id, interaction.user.id))  # the card removed, the role taken back
        await reply(interaction, render.left(len(result.cancelled)))

    # --- after the call ----------------------------------------------------------------------------------------------

    async def record_outcome(self, interaction: Interaction, booking_id: int, outcome: str) -> None:
        booking = await self.mentors.record_outcome(booking_id, interaction.user.id, outcome)
        member = booking.member_user_id == interaction.user.id
        await interaction.response.edit_message(
            content=render.outcome_recorded(booking, outcome),
            view=outcome_view(booking.id, member=member, answered=booking.outcome or outcome),
        )

    async def forward_thanks(self, interaction: Interaction, booking_id: int, note: str) -> None:
        booking, cleaned = await self.mentors.thanks_note(booking_id, interaction.user.id, note)
        delivered = await self.dm(booking.mentor_user_id, render.thanks_forwarded(booking.member_user_id, cleaned))
        text = "Sent — thank you for saying it." if delivered else "Their DMs are closed, so I couldn't pass it on."
        await reply(interaction, text)

    # --- jobs --------------------------------------------------------------------------------------------------------

    async def on_expiry(self, job: Job) -> None:
        booking_id = int(job.payload["booking_id"])
        if await self.mentors.booking_for_job(booking_id, statuses=("requested",)) is None:
            return
        result = await self.mentors.expire(booking_id)
        if result is not None:
            await self.flush_booking(result.booking)

    async def on_reminder(self, job: Job) -> None:
        booking = await self.mentors.booking_for_job(int(job.payload["booking_id"]))
        if booking is None or self.bot.services.clock.now() >= booking.starts_at:
            return  # cancelled, or too late to remind
        if not await self._both_still_here(booking):
            return  # one of them left: the call was cancelled with notice instead
        reminded = await self.mentors.remind(booking.id, int(job.payload.get("minutes_before", 15)))
        if reminded is not None:
            await self.flush_booking(reminded)

    async def _both_still_here(self, booking: Booking) -> bool:
        return await confirm_members(self.bot, booking.guild_id, booking.member_user_id, booking.mentor_user_id)

    async def on_after_call(self, job: Job) -> None:
        booking = await self.mentors.after_call(int(job.payload["booking_id"]))
        if booking is not None:
            await self.flush_booking(booking)

    async def on_voice_create(self, job: Job) -> None:
        booking = await self.mentors.booking_for_job(int(job.payload["booking_id"]))
        if booking is None or booking.contact_mode != "discord_voice":
            return
        if not await self._both_still_here(booking):
            return  # one of them left: no room; the call was cancelled with notice instead
        opened = await self.mentors.open_voice(booking.id)
        if opened is not None:
            await self.flush_booking(opened)  # the room first (the member's subject), then each person's DM

    async def on_voice_delete(self, job: Job) -> None:
        statuses = ("confirmed", "completed", "cancelled")
        booking = await self.mentors.booking_for_job(int(job.payload["booking_id"]), statuses=statuses)
        guild = await guild_of(self.bot, booking.guild_id) if booking else None
        if guild is None or booking is None:
            return
        for room in await voice_rooms(guild, booking.id):  # every one of that name: a duplicate never outlives it
            try:
                await room.delete(reason="Porchlight commute call ended")
            except discord.NotFound:
                continue
            log.info("voice room deleted channel=%d", room.id)


async def voice_rooms(guild: discord.Guild, booking_id: int) -> list[discord.VoiceChannel]:
    """The call's voice rooms as Discord lists them (not the cache: a room made behind a failed response counts),
    oldest first."""
    name = f"{VOICE_PREFIX}{booking_id}"
    rooms = [c for c in await guild.fetch_channels() if isinstance(c, discord.VoiceChannel) and c.name == name]
    return sorted(rooms, key=lambda room: room.id)


def _notes(notes: Sequence[str | None]) -> str:
    return "".join(f"\n• {note}" for note in notes if note)
