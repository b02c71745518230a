"""Mentor buttons and selects. Persistent components are DynamicItems (templates in ``cogs._ui.CUSTOM_IDS``) whose
state is the custom id plus the database; the forms they open are built in ``_forms`` and answered by custom id.

Every callback answers errors through ``routes_errors``; the work behind each one is in :mod:`cogs.mentors._desk`."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from cogs._forms import send_form
from cogs._ui import CUSTOM_IDS, PersistentView, reply, routes_errors
from cogs.mentors import _render as render
from cogs.mentors._forms import cancel_modal, request_modal, thanks_modal
from services.mentors import Mentor
from storage.db import from_epoch, to_epoch

if TYPE_CHECKING:
    from cogs.mentors._desk import Desk
    from cogs.mentors._moves import Moves

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
Button = discord.ui.Button[discord.ui.View]
Select = discord.ui.Select[discord.ui.View]
COG_NAME = "MentorCog"


def desk(interaction: Interaction) -> Desk:
    cog = interaction.client.get_cog(COG_NAME)
    assert cog is not None, "the mentors cog is not loaded"
    return cog.desk  # type: ignore[no-any-return]


def moves(interaction: Interaction) -> Moves:
    cog = interaction.client.get_cog(COG_NAME)
    assert cog is not None, "the mentors cog is not loaded"
    return cog.moves  # type: ignore[no-any-return]


# --- roster card and /mentors ---------------------------------------------------------------------------------------


class BookButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["mentors.book"]):
    def __init__(self, mentor_id: int, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label="Book a call",
                style=discord.ButtonStyle.primary,
                custom_id=f"mentors:book:{mentor_id}",
                disabled=disabled,
            )
        )
        self.mentor_id = mentor_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["mentor_id"]))

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        if interaction.guild_id is None:
            await reply(interaction, "Book from the server's roster or with `/mentors` there.")
            return
        await desk(interaction).offer_slots(interaction, interaction.guild_id, self.mentor_id)


def card_view(mentor: Mentor) -> discord.ui.View:
    view = PersistentView()
    resting = mentor.status == "paused" and mentor.paused_until is None
    view.add_item(BookButton(mentor.user_id, disabled=resting))
    return view


def book_buttons(mentor_ids: Sequence[int], labels: Sequence[str]) -> discord.ui.View:
    view = PersistentView()
    for mentor_id, label in list(zip(mentor_ids, labels, strict=True))[:10]:
        button = BookButton(mentor_id)
        button.item.label = f"Book {label}"[:80]
        view.add_item(button)
    return view


# --- picking a time -------------------------------------------------------------------------------------------------


class SlotSelect(discord.ui.DynamicItem[Select], template=CUSTOM_IDS["mentors.slot"]):
    """A mentor's free times. Carries the guild id, since it is also sent by DM (after a decline or expiry)."""

    def __init__(self, guild_id: int, mentor_id: int, options: list[discord.SelectOption] | None = None) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"mentors:slot:{guild_id}:{mentor_id}",
                placeholder="Pick a time",
                options=options or [discord.SelectOption(label="-", value="0")],
            )
        )
        self.guild_id = guild_id
        self.mentor_id = mentor_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        options = item.options if isinstance(item, discord.ui.Select) else None
        return cls(int(match["guild_id"]), int(match["mentor_id"]), options)

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        mentor = await desk(interaction).mentors.get(self.guild_id, self.mentor_id)
        needs_phone = mentor is not None and mentor.contact_mode == "i_call_them"
        form = request_modal(self.guild_id, self.mentor_id, int(self.item.values[0]), needs_phone=needs_phone)
        await send_form(interaction, form)


def _slot_options(mentor: Mentor, slots: Sequence[datetime]) -> list[discord.SelectOption]:
    options = []
    for index, slot in enumerate(slots[:25], 1):
        label, description = render.slot_label(index, slot, mentor.timezone)
        options.append(discord.SelectOption(label=label, value=str(to_epoch(slot)), description=description or None))
    return options


def slot_view(guild_id: int, mentor: Mentor, slots: Sequence[datetime]) -> discord.ui.View:
    view = PersistentView()
    view.add_item(SlotSelect(guild_id, mentor.user_id, _slot_options(mentor, slots)))
    return view


# --- the mentor's answer --------------------------------------------------------------------------------------------


class AnswerButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["mentors.answer"]):
    def __init__(self, booking_id: int, answer: str) -> None:
        accept = answer == "accept"
        super().__init__(
            discord.ui.Button(
                label="Accept" if accept else "Decline",
                style=discord.ButtonStyle.success if accept else discord.ButtonStyle.secondary,
                custom_id=f"mentors:{answer}:{booking_id}",
            )
        )
        self.booking_id, self.answer = booking_id, answer

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["booking_id"]), match["answer"])

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        if self.answer == "accept":
            await desk(interaction).accept(interaction, self.booking_id)
        else:
            await desk(interaction).decline(interaction, self.booking_id)


def answer_view(booking_id: int) -> discord.ui.View:
    view = PersistentView()
    view.add_item(AnswerButton(booking_id, "accept"))
    view.add_item(AnswerButton(booking_id, "decline"))
    return view


# --- /calls: cancel -------------------------------------------------------------------------------------------------


class CancelButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["mentors.cancel"]):
    def __init__(self, booking_id: int, label: str = "Cancel") -> None:
        super().__init__(
            discord.ui.Button(label=label, style=discord.ButtonStyle.danger, custom_id=f"mentors:cancel:{booking_id}")
        )
        self.booking_id = booking_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["booking_id"]))

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        booking = await desk(interaction).mentors.get_booking(self.booking_id)
        if booking is None or not booking.involves(interaction.user.id):
            await reply(interaction, "I can't find that call any more. Use `/calls` to see your calls.")
            return
        await send_form(interaction, cancel_modal(self.booking_id))


class MoveButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["mentors.move"]):
    """/calls: the member moves a confirmed call to another of the mentor's free times (``_moves.py``)."""

    def __init__(self, booking_id: int, label: str = "Move") -> None:
        super().__init__(discord.ui.Button(label=label, custom_id=f"mentors:move:{booking_id}"))
        self.booking_id = booking_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["booking_id"]))

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await moves(interaction).offer(interaction, self.booking_id)


class MoveSelect(discord.ui.DynamicItem[Select], template=CUSTOM_IDS["mentors.moveslot"]):
    """The booking's slot select, for a new time of a booked call."""

    def __init__(self, booking_id: int, options: list[discord.SelectOption] | None = None) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"mentors:moveslot:{booking_id}",
                placeholder="Pick a new time",
                options=options or [discord.SelectOption(label="-", value="0")],
            )
        )
        self.booking_id = booking_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        options = item.options if isinstance(item, discord.ui.Select) else None
        return cls(int(match["booking_id"]), options)

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await moves(interaction).propose(interaction, self.booking_id, from_epoch(int(self.item.values[0])))


class MoveAnswerButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["mentors.moveanswer"]):
    def __init__(self, move_id: int, answer: str) -> None:
        yes = answer == "yes"
        super().__init__(
            discord.ui.Button(
                label="Accept the new time" if yes else "Keep the original time",
                style=discord.ButtonStyle.success if yes else discord.ButtonStyle.secondary,
                custom_id=f"mentors:move{answer}:{move_id}",
            )
        )
        self.move_id, self.answer = move_id, answer

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["move_id"]), match["answer"])

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await moves(interaction).answer(interaction, self.move_id, accept=self.answer == "yes")


def move_select_view(booking_id: int, mentor: Mentor, slots: Sequence[datetime]) -> discord.ui.View:
    view = PersistentView()
    view.add_item(MoveSelect(booking_id, _slot_options(mentor, slots)))
    return view


def move_answer_view(move_id: int) -> discord.ui.View:
    view = PersistentView()
    view.add_item(MoveAnswerButton(move_id, "yes"))
    view.add_item(MoveAnswerButton(move_id, "no"))
    return view


def calls_view(booking_ids: Sequence[int], movable: Sequence[int] = ()) -> discord.ui.View:
    """Cancel for each call; Move for the confirmed calls the member may move (``movable``)."""
    view = PersistentView()
    for index, booking_id in enumerate(booking_ids[:10], 1):
        view.add_item(CancelButton(booking_id, f"Cancel {index}"))
        if booking_id in movable:
            view.add_item(MoveButton(booking_id, f"Move {index}"))
    return view


# --- approval -------------------------------------------------------------------------------------------------------


class ApprovalButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["mentors.approval"]):
    def __init__(self, user_id: int, decision: str) -> None:
        approve = decision == "approve"
        super().__init__(
            discord.ui.Button(
                label="Approve" if approve else "Decline",
                style=discord.ButtonStyle.success if approve else discord.ButtonStyle.secondary,
                custom_id=f"mentors:{decision}:{user_id}",
            )
        )
        self.user_id, self.decision = user_id, decision

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["user_id"]), match["decision"])

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await desk(interaction).decide_application(interaction, self.user_id, approve=self.decision == "approve")


def approval_view(user_id: int) -> discord.ui.View:
    view = PersistentView()
    view.add_item(ApprovalButton(user_id, "approve"))
    view.add_item(ApprovalButton(user_id, "reject"))
    return view


# --- leaving --------------------------------------------------------------------------------------------------------


class LeaveButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["mentors.leave"]):
    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(label="Leave the roster", style=discord.ButtonStyle.danger, custom_id="mentors:leave")
        )

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls()

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        await desk(interaction).leave(interaction, interaction.guild_id)


def leave_view() -> discord.ui.View:
    view = PersistentView()
    view.add_item(LeaveButton())
    return view


# --- after the call -------------------------------------------------------------------------------------------------


class OutcomeButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["mentors.outcome"]):
    def __init__(self, booking_id: int, outcome: str, *, chosen: bool = False, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=render.OUTCOME_LABELS[outcome],
                style=discord.ButtonStyle.success if chosen else discord.ButtonStyle.secondary,
                custom_id=f"mentors:outcome:{booking_id}:{outcome}",
                disabled=disabled,
            )
        )
        self.booking_id, self.outcome = booking_id, outcome

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["booking_id"]), match["outcome"])

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await desk(interaction).record_outcome(interaction, self.booking_id, self.outcome)


class ThanksButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["mentors.thanks"]):
    def __init__(self, booking_id: int) -> None:
        super().__init__(discord.ui.Button(label="Send a thank-you", custom_id=f"mentors:thanks:{booking_id}", row=1))
        self.booking_id = booking_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["booking_id"]))

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        booking = await desk(interaction).mentors.get_booking(self.booking_id)
        if booking is None or booking.member_user_id != interaction.user.id:
            await reply(interaction, "Only the member of this call can send a thank-you from here.")
            return
        await send_form(interaction, thanks_modal(self.booking_id))


def outcome_view(booking_id: int, *, member: bool, answered: str | None = None) -> discord.ui.View:
    view = PersistentView()
    for outcome in render.OUTCOME_LABELS:
        view.add_item(OutcomeButton(booking_id, outcome, chosen=outcome == answered, disabled=answered is not None))
    if member:
        view.add_item(ThanksButton(booking_id))
    return view


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    BookButton,
    SlotSelect,
    AnswerButton,
    CancelButton,
    MoveButton,
    MoveSelect,
    MoveAnswerButton,
    ApprovalButton,
    LeaveButton,
    OutcomeButton,
    ThanksButton,
)
