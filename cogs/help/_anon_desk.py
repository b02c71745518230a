"""The Discord side of anonymous asks: helpers' replies (/reply, the Reply to member form), the asker's DMs passed to
the thread, the asker showing their name, and a moderator's audited reveal. Every rule is the service's
(``services/help_requests/_anonymous.py``); every Discord side effect of a change is an effect, carried out here at
once (``flush``) so the answer can say how it went. Logs carry ids only."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from cogs._forms import send_form
from cogs._ui import reply
from cogs.help import _render as render
from cogs.help._effects import NO_PING
from cogs.help._views import relay_modal, reveal_confirm_view
from services.errors import PorchlightError
from services.help_requests import RelayRefused, help_subject

if TYPE_CHECKING:
    from cogs.help._desk import HelpDesk

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]


class AnonymousDesk:
    def __init__(self, desk: HelpDesk) -> None:
        self.desk = desk
        self.bot = desk.bot
        self.requests = desk.requests

    # --- helpers' replies ------------------------------------------------------------------------------------------

    async def open_reply_form(self, interaction: Interaction, request_id: int) -> None:
        await send_form(interaction, relay_modal(request_id, interaction.id))

    async def reply_command(self, interaction: Interaction, text: str) -> None:
        """/reply text: inside an anonymous request's thread."""
        request = await self.requests.by_thread(interaction.channel_id or 0)
        if request is None:
            await reply(interaction, render.NOT_ANONYMOUS_HERE)
            return
        await self.relay_from_helper(interaction, request.id, text, f"reply:{interaction.id}")

    async def relay_from_helper(self, interaction: Interaction, request_id: int, text: str | None, key: str) -> None:
        """Record the reply (refusals answer privately), DM it to the member, and show the thread what was sent."""
        is_moderator = await self.desk._is_moderator(interaction)
        outcome = await self.requests.relay_to_member(
            request_id, interaction.user.id, is_moderator=is_moderator, text=text, source_key=key
        )
        if not outcome.created:
            await reply(interaction, f"That reply to the member of request #{outcome.request.number} was already sent.")
            return
        await interaction.response.defer(thinking=True)  # public: the thread sees what was sent in its name
        await self.bot.effects.flush(help_subject(request_id))
        relay = await self.requests.relay(outcome.relay.id)
        if relay is None or relay.delivered_at is None:
            answer = render.relay_pending(outcome.request)
        elif relay.message_id is None:
            answer = render.relay_not_delivered(outcome.request)
        else:
            answer = render.relay_sent(interaction.user.id, outcome.relay.text or "")
        await reply(interaction, answer, allowed_mentions=NO_PING)

    # --- the asker's DMs -------------------------------------------------------------------------------------------

    async def on_dm(self, message: discord.Message) -> None:
        """A member's DM to Porchlight: for the thread of one of their open anonymous requests."""
        reference = message.reference.message_id if message.reference is not None else None
        try:
            outcome = await self.requests.relay_to_thread(
                message.author.id,
                message.content,
                source_key=f"dm:{message.id}",
                reply_to=reference,
                attachments=bool(message.attachments),
            )
        except RelayRefused as refusal:
            log.info("help relay from dm refused user=%d kind=%s", message.author.id, type(refusal).__name__)
            await self._answer_dm(message, str(refusal))
            return
        if outcome.created:
            await self.bot.effects.flush(help_subject(outcome.request.id))

    async def _answer_dm(self, message: discord.Message, text: str) -> None:
        try:
            await message.channel.send(text, nonce=f"rf{message.id}", allowed_mentions=NO_PING)
        except discord.HTTPException as error:
            log.warning("help dm answer failed user=%d status=%s", message.author.id, error.status)

    # --- showing the asker's name ----------------------------------------------------------------------------------

    async def reveal_prompt(self, interaction: Interaction, request_id: int) -> None:
        request = await self.requests.get(request_id)
        if request is None or request.asker_id != interaction.user.id:
            await reply(interaction, "This button is for the member who asked.")
            return
        if not request.hides_asker:
            await reply(interaction, f"The helpers of request #{request.number} already see your name.")
            return
        await reply(interaction, render.reveal_confirm(request), view=reveal_confirm_view(request_id))

    async def reveal_self(self, interaction: Interaction, request_id: int) -> None:
        revealed = await self.requests.reveal_self(request_id, interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.effects.flush(help_subject(request_id))
        await reply(interaction, render.revealed_to_member(revealed))

    async def reveal_to_moderator(self, interaction: Interaction, reason: str) -> None:
        """/reveal reason: in an anonymous request's thread, moderators only; audited, and the asker is told."""
        request = await self.requests.by_thread(interaction.channel_id or 0)
        if request is None:
            await reply(interaction, "`/reveal` works inside the thread of an anonymous help request.")
            return
        if not await self.desk._is_moderator(interaction):
            raise PorchlightError("Only moderators can look up who asked an anonymous request.")
        outcome = await self.requests.reveal_to_moderator(request.id, interaction.user.id, reason)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.effects.flush(help_subject(request.id))
        await reply(
            interaction, render.revealed_to_moderator(outcome.request, outcome.asker_id), allowed_mentions=NO_PING
        )
