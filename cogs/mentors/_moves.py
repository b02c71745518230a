"""Moving a booked call (``services/mentors/_moves.py``): the member's Move button in ``/calls``, the mentor's answer
by DM, the move's expiry job, and the two DMs it records (``booking.move_request_dm``, ``booking.move_answer_dm``).

Everything goes to the two people only: the member's picks and answers are ephemeral, the mentor's question and both
people's news are DMs. The new confirmation (with the updated invite) is the ordinary ``booking.confirmation``."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from cogs._effects import dm_once
from cogs._ui import reply
from cogs.mentors import _render as render
from cogs.mentors._views import move_answer_view, move_select_view
from services.effects import Landed
from services.jobs import JobKind
from services.mentors import MOVE_EXPIRY_JOB, MentorEffect, SlotTaken, booking_of
from storage.effects import Effect
from storage.jobs import Job

if TYPE_CHECKING:
    from cogs._effects import EffectRunner
    from cogs.mentors._desk import Desk
    from cogs.mentors._effects import MentorEffects

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]


class Moves:
    def __init__(self, desk: Desk, effects: MentorEffects, runner: EffectRunner) -> None:
        self.desk = desk
        self.effects = effects
        self.mentors = desk.mentors
        runner.register(MentorEffect.MOVE_REQUEST_DM, self.request_dm)
        runner.register(MentorEffect.MOVE_ANSWER_DM, self.answer_dm)

    def job_kinds(self) -> list[JobKind]:
        return [JobKind(MOVE_EXPIRY_JOB, self.on_expiry)]

    # --- the member --------------------------------------------------------------------------------------------------

    async def offer(self, interaction: Interaction, booking_id: int) -> None:
        booking, mentor, slots = await self.mentors.move_slots(booking_id, interaction.user.id)
        if not slots:
            await reply(interaction, MOVE_NO_SLOTS.format(mentor=booking.mentor_user_id))
            return
        text = MOVE_PICK.format(mentor=booking.mentor_user_id, now=render.when(booking.starts_at))
        await reply(
            interaction, f"{text}\n{render.slot_lines(slots)}", view=move_select_view(booking.id, mentor, slots)
        )

    async def propose(self, interaction: Interaction, booking_id: int, starts_at: datetime) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            booking, move = await self.mentors.propose_move(booking_id, interaction.user.id, starts_at)
        except SlotTaken as taken:
            mentor = await self.mentors.get_booking(booking_id)
            profile = await self.mentors.get(mentor.guild_id, mentor.mentor_user_id) if mentor else None
            text = render.slot_taken(taken.message, taken.alternatives)
            if taken.alternatives and profile is not None:
                await reply(interaction, text, view=move_select_view(booking_id, profile, taken.alternatives))
            else:
                await reply(interaction, text)
            return
        await self.desk.flush_booking(booking)
        await reply(
            interaction,
            MOVE_ASKED.format(
                mentor=booking.mentor_user_id, new=render.when(move.starts_at), old=render.when(booking.starts_at)
            ),
        )

    # --- the mentor --------------------------------------------------------------------------------------------------

    async def answer(self, interaction: Interaction, move_id: int, *, accept: bool) -> None:
        await interaction.response.defer()
        if accept:
            booking, move = await self.mentors.accept_move(move_id, interaction.user.id)
        else:
            booking, move = await self.mentors.decline_move(move_id, interaction.user.id)
        await self.desk.flush_booking(booking)  # the new confirmations with their invites, or the member's news
        if move.status == "accepted":
            content = MOVE_ACCEPTED.format(member=booking.member_user_id, new=render.when(booking.starts_at))
        elif move.status == "declined":
            content = MOVE_KEPT.format(member=booking.member_user_id, old=render.when(booking.starts_at))
        else:
            content = MOVE_OVERTAKEN.format(old=render.when(booking.starts_at))
        await interaction.edit_original_response(content=content, embed=None, view=None)

    async def on_expiry(self, job: Job) -> None:
        booking = await self.mentors.expire_move(int(job.payload["move_id"]))
        if booking is not None:
            await self.desk.flush_booking(booking)

    # --- effects -----------------------------------------------------------------------------------------------------

    async def request_dm(self, effect: Effect) -> Landed | None:
        move = await self.mentors.get_move(int(effect.args["move_id"]))
        booking_id, _ = booking_of(effect.subject)
        booking = await self.mentors.get_booking(booking_id)
        if move is None or booking is None or move.status != "pending" or booking.status != "confirmed":
            return None  # answered, lapsed or cancelled before it went
        text = MOVE_REQUEST.format(
            member=booking.member_user_id,
            old=render.when(booking.starts_at),
            new=render.when(move.starts_at),
            until=render.ts(move.expires_at, "R"),
        )
        return await dm_once(self.desk.bot, effect, booking.mentor_user_id, text, view=move_answer_view(move.id))

    async def answer_dm(self, effect: Effect) -> Landed | None:
        """To the member: the mentor kept the original time, or the request lapsed (to both), or the new time was
        taken in between. The call stands where it was."""
        assert effect.user_id is not None
        move = await self.mentors.get_move(int(effect.args["move_id"]))
        booking_id, role = booking_of(effect.subject)
        booking = await self.mentors.get_booking(booking_id)
        if move is None or booking is None or booking.status != "confirmed":
            return None
        old, new = render.when(booking.starts_at), render.when(move.starts_at)
        if move.status == "expired" and role == "mentor":
            text = MOVE_LAPSED_MENTOR.format(member=booking.member_user_id, old=old)
        elif move.status == "expired":
            text = MOVE_LAPSED_MEMBER.format(mentor=booking.mentor_user_id, old=old, new=new)
        elif move.status == "declined":
            text = MOVE_DECLINED_MEMBER.format(mentor=booking.mentor_user_id, old=old, new=new)
        else:
            text = MOVE_TAKEN_MEMBER.format(old=old, new=new)
        return await dm_once(self.desk.bot, effect, effect.user_id, text)


MOVE_PICK = (
    "Move your call with <@{mentor}> (now {now}) to another of their free times (shown in your time zone). "
    "They'll be asked to accept; until then the call stays where it is."
)
MOVE_NO_SLOTS = (
    "<@{mentor}> has no other free times right now, so the call can't be moved. If you can't make it, cancel it "
    "here with a note."
)
MOVE_ASKED = (
    "Asked <@{mentor}> to move your call to {new}. It stays at {old} until they accept; I'll DM you either way."
)
MOVE_REQUEST = (
    "<@{member}> asks to move your call from {old} to **{new}**. Accept, or keep the original time "
    "(the request lapses {until} and the call then stays where it is)."
)
MOVE_ACCEPTED = "You moved the call with <@{member}> to {new}. You both have an updated invite."
MOVE_KEPT = "You kept the call with <@{member}> at {old}. I've told them."
MOVE_OVERTAKEN = "That time was taken in the meantime, so the call stays at {old}. I've told the member."
MOVE_DECLINED_MEMBER = (
    "<@{mentor}> can't make {new}, so your call stays at {old}. If that time no longer works, cancel it in `/calls`."
)
MOVE_LAPSED_MEMBER = (
    "<@{mentor}> didn't answer your request to move the call to {new} in time, so it stays at {old}. "
    "If that time no longer works, cancel it in `/calls`."
)
MOVE_LAPSED_MENTOR = "The request from <@{member}> to move your call lapsed unanswered, so the call stays at {old}."
MOVE_TAKEN_MEMBER = "The time you asked for ({new}) was taken in the meantime, so your call stays at {old}."
