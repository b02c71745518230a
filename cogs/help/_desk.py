"""The Discord side of help requests: private threads, queue cards, DMs. Every rule (limits, who may close, when to
escalate) is the service's; this turns its outcomes into Discord calls, and Discord-side changes back into calls to
the service. Member-written text goes only into the private thread, the asker's own replies and DMs, and the short
"what would help" on the helpers-only card; logs carry ids only."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord

from cogs._dm import send_dm
from cogs._guilds import guild_of
from cogs._presence import confirm_members
from cogs._ui import is_staff, reply
from cogs.help import _render as render
from cogs.help._anon_desk import AnonymousDesk
from cogs.help._effects import NO_PING, ping
from cogs.help._views import after_feedback_view, ask_modal, send_form, sorted_view
from services.errors import PorchlightError
from services.help_requests import (
    AnonymousOff,
    CloseReason,
    HelpEffect,
    IdleAction,
    help_subject,
    request_id_of,
)
from services.help_requests._anonymous import ANONYMOUS_OFF
from storage.guilds import GuildConfig
from storage.help_requests import HelpRequest
from storage.jobs import Job

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
DMS_CLOSED = 50007


class HelpDesk:
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot
        self.requests = bot.services.help_requests
        self.outbox = bot.services.outbox
        self.anon = AnonymousDesk(self)

    # --- lookups ---------------------------------------------------------------------------------------------------

    async def config(self, guild_id: int) -> GuildConfig | None:
        return await self.bot.services.setup.config(guild_id)

    async def thread_of(self, request: HelpRequest) -> discord.Thread | None:
        """The request's thread, fetched when it is not cached (discord.py forgets archived threads)."""
        if request.thread_id is None:
            return None
        guild = await guild_of(self.bot, request.guild_id)
        thread = guild.get_thread(request.thread_id) if guild else None
        if thread is not None:
            return thread
        try:
            channel = await self.bot.fetch_channel(request.thread_id)
        except (discord.NotFound, discord.Forbidden):
            return None
        return channel if isinstance(channel, discord.Thread) else None

    async def _is_moderator(self, interaction: Interaction) -> bool:
        config = await self.config(interaction.guild_id or 0)
        return is_staff(interaction, [config.moderator_role_id if config else None], "manage_threads")

    # --- asking ----------------------------------------------------------------------------------------------------

    async def open_form(
        self,
        interaction: Interaction,
        topic: str | None,
        source: str,
        *,
        guild_id: int | None = None,
        anonymous: bool = False,
    ) -> None:
        """/ask and the check-in's "Ask for help privately": limits first, so nobody types into a form for nothing.
        From a DM, ``guild_id`` (carried by the button) says which server the request is for. /ask decides
        ``anonymous`` by its option; the check-in's form offers the choice itself when the server allows it."""
        in_dm = interaction.guild_id is None
        target = interaction.guild_id or guild_id
        if target is None or await guild_of(self.bot, target) is None:
            await reply(interaction, render.ASK_IN_SERVER)
            return
        settings = await self.requests.check_can_ask(target, interaction.user.id)
        if anonymous and not settings.anonymous_asks:
            raise AnonymousOff(ANONYMOUS_OFF)
        offer: bool | None = anonymous
        if source == "checkin" and settings.anonymous_asks:
            offer = None  # the form asks
        form = ask_modal(topic, interaction.id, source, guild_id=target if in_dm else None, anonymous=offer)
        await send_form(interaction, form)

    async def submit_ask(self, interaction: Interaction, fields: dict[str, Any], values: dict[str, Any]) -> None:
        guild = interaction.guild or (
            await guild_of(self.bot, int(fields["guild_id"])) if fields.get("guild_id") else None
        )
        if guild is None:
            await reply(interaction, render.ASK_IN_SERVER)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        topic = fields["topic"] if fields["topic"] != "none" else next(iter(values.get("topic") or []), "")
        anonymous = bool(fields.get("anon")) or "hide" in (values.get("anonymous") or [])
        # A refusal (HelpRequestRefused) propagates: the forms cog keeps what was typed and offers to re-open the form.
        outcome = await self.requests.open_request(
            guild.id,
            interaction.user.id,
            topic,
            values.get("body"),
            values.get("wants"),
            submit_key=_custom_id(interaction),
            source=fields["source"] or "ask",
            anonymous=anonymous,
        )
        request, blocked = await self.materialize(outcome.request.id)
        if request.status == "open" and request.anonymous:
            await reply(interaction, render.anonymous_opened(request, outcome.created))
            return
        if request.status == "open":
            # The answer tells them, so the fallback DM is dropped first: a crash between the two leaves the member
            # without a confirmation (they are in the thread), never with two.
            await self.requests.asker_told(request.id)
            await reply(interaction, render.opened(request, outcome.created))
            return
        # Saved, but the thread is not there yet: the member is DMed the link as soon as it is.
        await self.outbox.hasten(help_subject(request.id), HelpEffect.TELL_ASKER)
        if blocked:
            config = await self.config(guild.id)
            channel_id = (config.help_channel_id if config else None) or 0
            await reply(interaction, render.pending(request, blocked, channel_id))
        else:
            await reply(interaction, render.saved(request))

    async def materialize(self, request_id: int) -> tuple[HelpRequest, list[str]]:
        """Carry out the request's recorded effects (thread, opening message, card...). Returns the request as it
        then stands and, when the bot lacks a permission, what is missing (the effects wait for the fix)."""
        flush = await self.bot.effects.flush(help_subject(request_id))
        request = await self.requests.get(request_id)
        if request is None:
            raise PorchlightError("That help request is gone. Use /ask to start a new one.")
        return request, flush.blocked or []

    async def retry_pending(self, guild: discord.Guild) -> int:
        """Open the threads of requests stored while a permission was missing (their askers are DMed the link)."""
        opened = 0
        for pending in await self.requests.pending_threads(guild.id):
            request, missing = await self.materialize(pending.id)
            if missing:
                break  # still missing: the others would fail the same way
            opened += request.status == "open"
        if opened:
            log.info("help threads opened after a permission fix guild=%d count=%d", guild.id, opened)
        return opened

    # --- the queue card --------------------------------------------------------------------------------------------

    def queue_channel(self, guild: discord.Guild | None, config: GuildConfig | None) -> discord.TextChannel | None:
        if guild is None or config is None or config.queue_channel_id is None:
            return None
        channel = guild.get_channel(config.queue_channel_id)
        return channel if isinstance(channel, discord.TextChannel) else None

    async def queue_list(self, interaction: Interaction) -> None:
        guild = interaction.guild
        assert guild is not None and isinstance(interaction.user, discord.Member)
        config = await self.config(guild.id)
        roles = [config.helper_role_id, config.moderator_role_id] if config else []
        if not is_staff(interaction, roles, "manage_threads"):
            await reply(interaction, render.HELPERS_ONLY_QUEUE)
            return
        cards = await self.requests.queue(guild.id)
        jump = {
            r.id: f"https://discord.com/channels/{guild.id}/{config.queue_channel_id}/{r.queue_message_id}"
            for r in await self.requests.open_requests(guild.id)
            if config and config.queue_channel_id and r.queue_message_id
        }
        await reply(interaction, embed=render.queue_list(cards, jump))

    # --- claims ----------------------------------------------------------------------------------------------------

    async def claim(self, interaction: Interaction, request_id: int) -> None:
        member = interaction.user
        assert isinstance(member, discord.Member)
        config = await self.config(member.guild.id)
        is_helper = bool(config and config.helper_role_id and member.get_role(config.helper_role_id))
        outcome = await self.requests.claim(request_id, member.id, is_helper)
        request = outcome.request
        if outcome.already:
            await reply(interaction, f"You're already helping with request #{request.number}: <#{request.thread_id}>.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        if await self.thread_of(request) is None:
            await self.requests.release(request_id, member.id, why=None)
            await self.thread_deleted(request.thread_id or 0)
            raise PorchlightError(f"The thread of request #{request.number} is gone, so the request is closed.")
        await self.materialize(request_id)
        if member.id not in {c.helper_id for c in await self.requests.helpers(request_id)}:
            raise PorchlightError(
                f"I couldn't add you to the thread of request #{request.number} — I may be missing Manage Threads in "
                "the help channel. Your claim was undone; a moderator can check with `/setup check`."
            )
        await reply(interaction, f"Thank you. You're in the private thread: <#{request.thread_id}>")

    async def release(self, interaction: Interaction, request_id: int) -> None:
        member = interaction.user
        outcome = await self.requests.release(request_id, member.id)
        request = outcome.request
        if not outcome.released:
            await reply(interaction, f"You weren't holding request #{request.number}, so there's nothing to release.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.materialize(request_id)
        await reply(interaction, f"Released request #{request.number}. Thanks for letting the others know.")

    # --- closing and reopening -------------------------------------------------------------------------------------

    async def close_by_member(self, interaction: Interaction, request_id: int | None, note: str | None) -> None:
        """/close and the Close and Resolved buttons: the asker, a helper holding it, or a moderator."""
        if request_id is None:
            request = await self.requests.by_thread(interaction.channel_id or 0)
            if request is None:
                await reply(interaction, render.NOT_A_HELP_THREAD)
                return
            request_id = request.id
        is_moderator = await self._is_moderator(interaction)
        outcome = await self.requests.close_as_member(
            request_id, interaction.user.id, is_moderator=is_moderator, note=note
        )
        if outcome.already_closed:
            await reply(interaction, f"Request #{outcome.request.number} is already closed.")
            return
        if interaction.guild_id is None:  # an anonymous asker, from the Close button in their DM
            await reply(
                interaction, f"Closed request #{outcome.request.number}. Thank you for letting the helpers know."
            )
            await self.materialize(request_id)
            return
        card = await self.requests.card(request_id)
        text = render.closed_in_thread(interaction.user.id, outcome.note, card.status_text)
        await interaction.response.send_message(text, ephemeral=False, allowed_mentions=NO_PING)
        await self.materialize(request_id)

    async def feedback(self, interaction: Interaction, request_id: int, helped: bool) -> None:
        outcome = await self.requests.record_feedback(request_id, interaction.user.id, helped)
        offer_thanks = helped and bool(await self.requests.helpers(request_id))
        await interaction.response.edit_message(
            content=render.feedback_recorded(helped, offer_thanks),
            view=after_feedback_view(outcome.request.id, offer_thanks),
        )

    async def send_thanks(self, interaction: Interaction, request_id: int, thanks: str | None) -> None:
        """Forward a thank-you (not stored, so not an effect): the nonce per helper, from the submission's id, keeps
        a retried send from posting it twice."""
        outcome = await self.requests.record_feedback(request_id, interaction.user.id, True, thanks)
        guild = await guild_of(self.bot, outcome.request.guild_id)
        sent = 0
        for index, helper_id in enumerate(outcome.forward_to):
            text = render.thanks_dm(outcome.request, guild.name if guild else "the server", outcome.thanks or "")
            if outcome.thanks and await self.dm(helper_id, text, nonce=f"thanks-{interaction.id}-{index}"[:25]):
                sent += 1
        await reply(interaction, f"Sent to {sent} helper{'s' if sent != 1 else ''}. Thank you for closing the loop.")

    async def reopen(self, interaction: Interaction, request_id: int) -> None:
        outcome = await self.requests.reopen(request_id, interaction.user.id)
        request = outcome.request
        if outcome.already_open:
            await reply(interaction, f"Request #{request.number} is already open: <#{request.thread_id}>.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        if await self.thread_of(request) is None:
            await self.thread_deleted(request.thread_id or 0)
            raise PorchlightError(f"The thread of request #{request.number} is gone. Use /ask to start a new one.")
        await self.materialize(request_id)
        await reply(interaction, f"Reopened: <#{request.thread_id}>.")

    # --- inside the thread -----------------------------------------------------------------------------------------

    async def still_stuck(self, interaction: Interaction, request_id: int) -> None:
        request = await self.requests.get(request_id)
        if request is None or request.asker_id != interaction.user.id:
            await reply(interaction, render.ONLY_ASKER_STUCK)
            return
        if request.status != "open":
            await reply(interaction, f"Request #{request.number} is closed; reopen it from my DM, or `/ask` again.")
            return
        await self.requests.record_activity(request.thread_id or 0)
        helpers = [c.helper_id for c in await self.requests.helpers(request_id) if c.helper_id]
        if not helpers:
            await reply(
                interaction,
                "No helper has claimed this yet. It's in the helpers' queue, and if nobody takes it soon they're "
                "asked again automatically — it never closes on its own while you wait.",
            )
            return
        mentions = " ".join(f"<@{h}>" for h in helpers)
        await interaction.response.send_message(
            f"{mentions} <@{request.asker_id}> is still stuck — could you take another look?",
            allowed_mentions=ping(*helpers),
        )

    async def sorted_answer(self, interaction: Interaction, request_id: int, resolved: bool) -> None:
        if resolved:
            await self.close_by_member(interaction, request_id, None)
            return
        request = await self.requests.get(request_id)
        if request is None or request.status != "open":
            await reply(interaction, "This request is already closed.")
            return
        await self.requests.record_activity(request.thread_id or 0)
        await interaction.response.edit_message(
            content="Still need help — noted. The thread stays open.", view=sorted_view(request_id, disabled=True)
        )

    # --- jobs --------------------------------------------------------------------------------------------------------

    async def run_escalation(self, job: Job) -> None:
        """``help.escalate``: the service records the re-post and the asker's DM; they are carried out here (or, after
        a crash or a Discord error, by the effects job). An asker who left is handled as a departure first (request
        closed as asker-left), and nobody is asked."""
        if job.guild_id is not None and job.user_id is not None:
            if not await confirm_members(self.bot, job.guild_id, job.user_id):
                return
        escalation = await self.requests.escalate(request_id_of(job))
        if escalation is not None:
            await self.materialize(escalation.request.id)

    async def run_idle_check(self, job: Job) -> None:
        """``help.idle_check``: ask "Is this sorted?" in the thread, or close it after a quiet spell."""
        outcome = await self.requests.idle_check(request_id_of(job))
        if outcome.request is not None and outcome.action is not IdleAction.NONE:
            await self.materialize(outcome.request.id)

    # --- Discord-side changes ----------------------------------------------------------------------------------------

    async def thread_deleted(self, thread_id: int) -> None:
        outcome = await self.requests.thread_gone(thread_id)
        if outcome is not None and not outcome.already_closed:
            await self.materialize(outcome.request.id)

    async def thread_archived(self, thread_id: int, metadata: dict[str, Any]) -> None:
        """A thread archived by someone else. Locked, or archived sooner than Discord's auto-archive could have
        done it: a moderator closed it, so the request follows. Discord's own auto-archive of a quiet thread
        changes nothing (an unclaimed request is never closed silently; the bot unarchives when it posts)."""
        request = await self.requests.by_thread(thread_id)
        if request is None or request.status != "open":
            return
        if not metadata.get("locked"):
            archived_at = discord.utils.parse_time(metadata.get("archive_timestamp"))
            duration = timedelta(minutes=int(metadata.get("auto_archive_duration") or 10080))
            if archived_at is not None and archived_at - request.last_activity_at >= duration - timedelta(minutes=5):
                return
        outcome = await self.requests.close(request.id, None, CloseReason.MODERATOR)
        if not outcome.already_closed:
            log.info("help request closed by a thread archive request=%d", request.id)
            await self.materialize(request.id)

    async def reconcile(self) -> None:
        """Bring the database and Discord back in line: effects a crash or an outage left pending, threads gone or
        archived, askers who left, helpers who lost the role, and threads still waiting for a permission. Runs at
        start-up and hourly."""
        await self.bot.effects.sweep()
        for guild in list(self.bot.guilds):
            try:
                await self._reconcile_guild(guild)
            except Exception as error:  # one server's trouble must not stop the others
                log.warning("help reconciliation failed guild=%d error=%s", guild.id, type(error).__name__)

    async def _reconcile_guild(self, guild: discord.Guild) -> None:
        config = await self.config(guild.id)
        if config is None:
            return
        await self.retry_pending(guild)
        members: dict[int, discord.Member | None] = {}

        async def member(user_id: int) -> discord.Member | None:
            if user_id not in members:
                try:
                    members[user_id] = await guild.fetch_member(user_id)
                except discord.NotFound:
                    members[user_id] = None
            return members[user_id]

        for request in await self.requests.live_requests(guild.id):
            if request.status != "open":
                continue
            if request.asker_id is not None and await member(request.asker_id) is None:
                await self.requests.asker_left(guild.id, request.asker_id)
                await self.materialize(request.id)
                continue
            thread = await self.thread_of(request)
            if thread is None:
                await self.thread_deleted(request.thread_id or 0)
                continue
            if thread.archived and thread.locked:
                await self.thread_archived(thread.id, {"locked": True})
                continue
            for claim in await self.requests.helpers(request.id):
                helper = await member(claim.helper_id) if claim.helper_id else None
                if claim.helper_id and (helper is None or not _holds(helper, config.helper_role_id)):
                    for released in await self.requests.helper_lost_role(guild.id, claim.helper_id):
                        await self.materialize(released.request.id)

    # --- DMs ---------------------------------------------------------------------------------------------------------

    async def dm(
        self, user_id: int, content: str, view: discord.ui.View | None = None, *, nonce: str | None = None
    ) -> discord.Message | None:
        """A DM outside the effects (a thank-you, which is never stored); None when it could not be delivered (a
        closed DM is recorded, and the member hears of it at their next command)."""
        try:
            return await send_dm(self.bot, user_id, content, **_dm_options(view, nonce))
        except discord.HTTPException as error:
            log.warning("help dm failed user=%d status=%s", user_id, error.status)
            return None


def _dm_options(view: discord.ui.View | None, nonce: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {"allowed_mentions": NO_PING}
    if view is not None:
        options["view"] = view
    if nonce is not None:
        options["nonce"] = nonce
    return options


def _custom_id(interaction: Interaction) -> str:
    data: Any = interaction.data or {}
    return str(data.get("custom_id", ""))


def _holds(member: discord.Member, role_id: int | None) -> bool:
    return role_id is not None and member.get_role(role_id) is not None
