"""``/mentor away``, ``/mentor travel`` and ``/mentor away-list`` (``services/mentors/_away.py``), the Remove and
"Cancel with notice" buttons, and the DM that flags the calls inside a new away range (``mentor.away_calls_dm``).

All of it is the mentor's alone: ephemeral answers and one DM."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from cogs._effects import dm_once
from cogs._ui import CUSTOM_IDS, PersistentView, reply, routes_errors
from cogs.mentors import _render as render
from services.effects import Landed
from services.mentors import MentorEffect
from services.mentors._away import AwayResult, describe
from storage.effects import Effect
from storage.mentor_absences import AbsenceRow
from storage.mentors import Booking

if TYPE_CHECKING:
    from cogs._effects import EffectRunner
    from cogs.mentors._desk import Desk
    from cogs.mentors._effects import MentorEffects

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
Button = discord.ui.Button[discord.ui.View]
COG_NAME = "MentorCog"


def away(interaction: Interaction) -> Away:
    cog = interaction.client.get_cog(COG_NAME)
    assert cog is not None, "the mentors cog is not loaded"
    return cog.away_desk  # type: ignore[no-any-return]


class Away:
    def __init__(self, desk: Desk, effects: MentorEffects, runner: EffectRunner) -> None:
        self.desk = desk
        self.effects = effects
        self.mentors = desk.mentors
        runner.register(MentorEffect.AWAY_CALLS_DM, self.calls_dm)

    async def set(self, interaction: Interaction, result: AwayResult) -> None:
        row = result.absence
        await self.desk.flush(f"mentor:{row.guild_id}:{row.user_id}")  # the flag DM, the roster card
        if row.kind == "away":
            text = f"You're away {row.first_day} to {row.last_day}: no new calls on those dates."
            if result.flagged:
                count = len(result.flagged)
                text += (
                    f"\n{count} call{'s' if count != 1 else ''} already booked then: I've sent you a DM to cancel "
                    f"{'them' if count != 1 else 'it'} with notice, or keep {'them' if count != 1 else 'it'}."
                )
        else:
            text = (
                f"From {row.first_day} to {row.last_day} your weekly times are read in {row.timezone}: members see "
                "your slots at those local times. Calls already booked keep their time."
            )
        await reply(interaction, text + "\n`/mentor away-list` shows or removes your ranges.")

    async def show(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        rows = await self.mentors.absences(interaction.guild_id, interaction.user.id)
        if not rows:
            await reply(interaction, NO_RANGES)
            return
        lines = [f"`{i}.` {describe(row)}" for i, row in enumerate(rows, 1)]
        await reply(interaction, "Your away and travel dates:\n" + "\n".join(lines), view=ranges_view(rows))

    async def clear(self, interaction: Interaction, absence_id: int) -> None:
        if interaction.guild_id is None:
            await reply(interaction, "Use `/mentor away-list` in the server.")
            return
        row = await self.mentors.clear_absence(interaction.guild_id, interaction.user.id, absence_id)
        await self.desk.flush(f"mentor:{row.guild_id}:{row.user_id}")
        rows = await self.mentors.absences(interaction.guild_id, interaction.user.id)
        lines = [f"`{i}.` {describe(r)}" for i, r in enumerate(rows, 1)]
        text = f"Removed: {describe(row)}." + ("\nStill set:\n" + "\n".join(lines) if lines else "")
        await interaction.response.edit_message(content=text, view=ranges_view(rows) if rows else None)

    async def cancel(self, interaction: Interaction, booking_id: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        booking = await self.mentors.cancel_for_away(booking_id, interaction.user.id)
        await self.desk.flush_booking(booking)  # the member's notice, with the cancelling invite
        files = [self.desk.invite(booking, "CANCEL")] if booking.ics_sequence > 0 else []
        text = f"Cancelled the call on {render.ts(booking.starts_at, 'F')}; <@{booking.member_user_id}> is told."
        await reply(interaction, text, **({"files": files} if files else {}))

    async def calls_dm(self, effect: Effect) -> Landed | None:
        """To the mentor: the calls booked inside a new away range, each with Cancel with notice. Rendered when it
        runs: a range removed or calls cancelled in between are not listed."""
        assert effect.user_id is not None
        found = await self.mentors.calls_in_absence(int(effect.args["absence_id"]))
        if found is None or not found[1]:
            return None
        row, calls = found
        return await dm_once(
            self.desk.bot, effect, effect.user_id, away_calls_text(row, calls), view=cancel_view(calls)
        )


def away_calls_text(row: AbsenceRow, calls: list[Booking]) -> str:
    lines = [
        f"`{i}.` {render.when(b.starts_at)} with <@{b.member_user_id}>"
        + ("" if b.status == "confirmed" else " (request)")
        for i, b in enumerate(calls[:20], 1)
    ]
    return (
        f"You're away {row.first_day} to {row.last_day}, and these calls are booked then:\n"
        + "\n".join(lines)
        + "\nCancel one and the member is told you're away (with a calendar update); or keep it."
    )


NO_RANGES = (
    "You have no away or travel dates set. `/mentor away` hides your slots for some days; `/mentor travel` shows "
    "them in another time zone while you're there."
)


class AwayCancelButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["mentors.awaycancel"]):
    def __init__(self, booking_id: int, label: str = "Cancel with notice") -> None:
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.danger, custom_id=f"mentors:awaycancel:{booking_id}"
            )
        )
        self.booking_id = booking_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["booking_id"]))

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await away(interaction).cancel(interaction, self.booking_id)


class AwayClearButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["mentors.awayclear"]):
    def __init__(self, absence_id: int, label: str = "Remove") -> None:
        super().__init__(discord.ui.Button(label=label, custom_id=f"mentors:awayclear:{absence_id}"))
        self.absence_id = absence_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["absence_id"]))

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await away(interaction).clear(interaction, self.absence_id)


def cancel_view(calls: list[Booking]) -> discord.ui.View:
    view = PersistentView()
    for index, booking in enumerate(calls[:20], 1):
        view.add_item(AwayCancelButton(booking.id, f"Cancel {index} with notice"))
    return view


def ranges_view(rows: list[AbsenceRow]) -> discord.ui.View:
    view = PersistentView()
    for index, row in enumerate(rows[:20], 1):
        view.add_item(AwayClearButton(row.id, f"Remove {index}"))
    return view


AWAY_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (AwayCancelButton, AwayClearButton)
