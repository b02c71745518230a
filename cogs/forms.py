"""Every form submission, answered by custom id; and "Edit my answers", which re-opens a refused form filled in.

Feature cogs declare their forms (``forms: tuple[Form, ...]``, see ``cogs._forms``); this cog finds the one whose
template matches a submission, runs it, deletes the draft when it went through, and keeps what the member typed
when it was refused or failed. Nothing here is held in memory between interactions, so it all survives a restart."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from cogs._forms import Form, Values, send_form, submitted_values
from cogs._ui import CUSTOM_IDS, RESTARTING, PersistentView, answer_error, reply, routes_errors, timed
from services.errors import PorchlightError
from services.forms import FormDraft

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
Button = discord.ui.Button[discord.ui.View]
DRAFT_GONE = (
    "There's nothing to edit any more: that form was sent, deleted with /privacy delete, or is more than a day old."
)


def find_form(client: discord.Client, custom_id: str) -> tuple[Form, re.Match[str]] | None:
    """The form (declared by a loaded cog) whose template matches this custom id."""
    cogs = client.cogs.values() if isinstance(client, commands.Bot) else ()
    for cog in cogs:
        for form in getattr(cog, "forms", ()):
            if (match := form.match(custom_id)) is not None:
                return form, match
    return None


def _guild_of(interaction: Interaction, match: re.Match[str]) -> int | None:
    if interaction.guild_id is not None:
        return interaction.guild_id
    carried = match.groupdict().get("guild_id")
    return int(carried) if carried else None


class ReopenButton(discord.ui.DynamicItem[Button], template=CUSTOM_IDS["form.reopen"]):
    """Re-opens the member's refused form with what they typed. Only its author can: drafts are read by user id."""

    def __init__(self, draft_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Edit my answers", style=discord.ButtonStyle.primary, custom_id=f"form:reopen:{draft_id}"
            )
        )
        self.draft_id = draft_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["draft_id"]))

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        drafts = interaction.client.services.forms
        draft = await drafts.get_by_id(self.draft_id, interaction.user.id)
        found = find_form(interaction.client, draft.custom_id) if draft is not None else None
        if draft is None or found is None:
            await reply(interaction, DRAFT_GONE)
            return
        form, match = found
        await send_form(interaction, form.rebuild(match, draft))


def reopen_view(draft_id: int) -> discord.ui.View:
    view = PersistentView()
    view.add_item(ReopenButton(draft_id))
    return view


class FormsCog(commands.Cog, name="Forms"):
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_interaction(self, interaction: Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: Any = interaction.data or {}
        custom_id = str(data.get("custom_id", ""))
        found = find_form(self.bot, custom_id)
        if found is None:
            log.warning("modal submission with an unknown custom id id=%s", interaction.id)
            return
        form, match = found
        with timed(interaction):
            await self._submit(interaction, form, match, custom_id)

    async def _submit(self, interaction: Interaction, form: Form, match: re.Match[str], custom_id: str) -> None:
        data: Any = interaction.data or {}
        values = submitted_values(data)
        draft: FormDraft | None = None
        try:
            if getattr(self.bot, "draining", False):
                raise PorchlightError(RESTARTING)
            # Taken (deleted) before the answer: once the form went through, "Edit my answers" on an earlier
            # refusal finds nothing; a refusal keeps it again with what was typed.
            draft = await self.bot.services.forms.take(interaction.user.id, custom_id)
            if draft is None and form.needs_context(match):
                await reply(interaction, form.expired)
                return
            await form.submit(interaction, match, draft.context if draft else {}, values)
        except Exception as error:
            await self._refused(interaction, form, match, values, error, draft)

    async def _refused(
        self,
        interaction: Interaction,
        form: Form,
        match: re.Match[str],
        values: Values,
        error: Exception,
        taken: FormDraft | None,
    ) -> None:
        """Keep what the member typed and answer the error with a button that re-opens the form filled in."""
        view = None
        try:
            draft = await self.bot.services.forms.keep(
                interaction.user.id,
                _guild_of(interaction, match),
                form.key,
                match.string,
                values,
                context=taken.context if taken is not None else None,
            )
            view = reopen_view(draft.id)
        except Exception as keep_error:
            log.error(
                "form draft not kept form=%s user=%d error=%s", form.key, interaction.user.id, type(keep_error).__name__
            )
        await answer_error(interaction, error, view=view)


async def setup(bot: PorchlightBot) -> None:
    bot.add_dynamic_items(ReopenButton)
    await bot.add_cog(FormsCog(bot))


async def teardown(bot: PorchlightBot) -> None:
    bot.remove_dynamic_items(ReopenButton)
