"""The help-request side effects (``services.help_requests.HelpEffect``), each carried out once by the effects runner
(``cogs/_effects.py``): what a message says is rendered from the request as it stands when the effect runs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from cogs._effects import (
    EffectBlocked,
    EffectGone,
    EffectRetry,
    EffectRunner,
    create_private_thread,
    dm_once,
    find_marked,
    find_threads,
    just_before,
    keep_first,
    send_once,
)
from cogs._guilds import guild_of
from cogs._threads import THREAD_PERMISSIONS, missing_thread_permissions
from cogs.help import _render as render
from cogs.help._views import anonymous_opening_view, card_view, feedback_view, opening_view, sorted_view
from services.effects import Landed
from services.help_requests import IDLE_CLOSE_NOTE, Escalation, HelpEffect
from storage.effects import Effect
from storage.help_requests import HelpRequest

if TYPE_CHECKING:
    from cogs.help._desk import HelpDesk

log = logging.getLogger(__name__)

NO_PING = discord.AllowedMentions.none()


def ping(*user_ids: int | None) -> discord.AllowedMentions:
    """Mention these members only: never a role inside a thread (that would add every holder of the role)."""
    users = [discord.Object(u) for u in user_ids if u]
    return discord.AllowedMentions(everyone=False, roles=False, users=users, replied_user=False)


def request_id_of(effect: Effect) -> int:
    return int(effect.subject.removeprefix("help:"))


class HelpEffects:
    def __init__(self, desk: HelpDesk, runner: EffectRunner) -> None:
        self.desk = desk
        self.bot = desk.bot
        self.requests = desk.requests
        for kind, handler in {
            HelpEffect.THREAD: self.thread,
            HelpEffect.OPENING: self.opening,
            HelpEffect.CARD: self.card,
            HelpEffect.TELL_ASKER: self.tell_asker,
            HelpEffect.JOINED: self.joined,
            HelpEffect.RELEASED: self.released,
            HelpEffect.CLOSED: self.closed,
            HelpEffect.FEEDBACK: self.feedback,
            HelpEffect.REOPENED: self.reopened,
            HelpEffect.ESCALATED: self.escalated,
            HelpEffect.ESCALATION_DM: self.escalation_dm,
            HelpEffect.IDLE_ASK: self.idle_ask,
            HelpEffect.GONE_DM: self.gone_dm,
            HelpEffect.ON_CALL_DM: self.on_call_dm,
        }.items():
            runner.register(kind, handler)

    async def _request(self, effect: Effect) -> HelpRequest:
        request = await self.requests.get(request_id_of(effect))
        if request is None:
            raise EffectGone("the request is gone")
        return request

    async def _thread(self, request: HelpRequest) -> discord.Thread:
        thread = await self.desk.thread_of(request)
        if thread is None:
            raise EffectGone("the thread is gone")
        return thread

    # --- opening a request ---------------------------------------------------------------------------------------

    async def thread(self, effect: Effect) -> Landed | None:
        """Find-or-create the private thread: a retry finds the thread a lost response or a crash left behind, and
        duplicates Discord made behind a failed response are removed (the first is kept)."""
        request = await self._request(effect)
        if request.status != "pending_thread":
            return Landed(request.thread_id, request.thread_id)
        guild = await guild_of(self.bot, request.guild_id)
        config = await self.desk.config(request.guild_id)
        parent = guild.get_channel(config.help_channel_id) if guild and config and config.help_channel_id else None
        if not isinstance(parent, discord.TextChannel):
            raise EffectBlocked(["a help channel it can use (run `/setup channels`)"])
        missing = missing_thread_permissions(parent)
        if missing:
            await self._pending_card(request, effect)
            raise EffectBlocked(missing)
        name = render.thread_name(request)
        try:
            # A later run looks first: the thread may exist (made before a crash, or behind a lost response).
            found = await find_threads(parent, name, archived=True) if effect.attempts > 1 else []
            if not found:
                found = await create_private_thread(parent, name)
            if not found:
                raise EffectRetry("the new thread is not listed yet")
            thread = await keep_first(found)
            if thread.archived:
                await thread.edit(archived=False)
            if request.asker_id is not None and not request.hides_asker:  # an anonymous asker is never added
                await thread.add_user(discord.Object(request.asker_id))
        except discord.Forbidden:
            await self._pending_card(request, effect)
            raise EffectBlocked(list(THREAD_PERMISSIONS.values())) from None
        except discord.NotFound:  # the member left between submitting and now
            for outcome in await self.requests.asker_left(request.guild_id, request.asker_id or 0):
                log.info("help request closed before its thread opened request=%d", outcome.request.id)
            raise EffectGone("the asker left") from None
        await self.requests.attach_thread(request.id, thread.id, request.queue_message_id)
        log.info("help thread opened guild=%d request=%d thread=%d", request.guild_id, request.id, thread.id)
        return Landed(parent.id, thread.id)

    async def opening(self, effect: Effect) -> Landed:
        request = await self._request(effect)
        thread = await self._thread(request)
        anonymous = request.anonymous
        content, embed = render.anonymous_opening(request) if anonymous else render.opening(request)
        message = await send_once(
            effect,
            thread,
            marker=f"help:close:{request.id}",
            content=content,
            embed=embed,
            view=anonymous_opening_view(request.id) if anonymous else opening_view(request.id),
            allowed_mentions=NO_PING,
        )
        return Landed(thread.id, message.id)

    async def tell_asker(self, effect: Effect) -> Landed | None:
        request = await self._request(effect)
        guild = await guild_of(self.bot, request.guild_id)
        if request.status != "open" or request.asker_id is None or guild is None:
            return None
        return await dm_once(self.bot, effect, request.asker_id, render.thread_ready_dm(request, guild.name))

    # --- the queue card ------------------------------------------------------------------------------------------

    async def card(self, effect: Effect) -> Landed | None:
        return await self._show_card(await self._request(effect), effect)

    async def _pending_card(self, request: HelpRequest, effect: Effect) -> None:
        """Staff learn from the queue that a request waits for a permission (nameless, like every card)."""
        if request.queue_message_id is None:
            await self._show_card(request, effect)

    async def _show_card(self, request: HelpRequest, effect: Effect) -> Landed | None:
        """Show the card as the request stands now: edit it, or post it when it is missing (never posted, lost by a
        crash, or deleted). A later run first looks for a card it may already have posted."""
        guild = await guild_of(self.bot, request.guild_id)
        queue = self.desk.queue_channel(guild, await self.desk.config(request.guild_id))
        if queue is None:
            return None
        card = await self.requests.card(request.id)
        embed, view = render.card_embed(card), card_view(card)
        message_id = request.queue_message_id
        if message_id is None and effect.attempts > 1:
            assert guild is not None
            found = await find_marked(
                queue, f"help:claim:{request.id}", me=guild.me.id, after=just_before(request.created_at)
            )
            if found:
                message_id = found[0].id
                await self.requests.set_queue_message(request.id, message_id)
                for duplicate in found[1:]:
                    await _delete(queue, duplicate.id)
        if message_id is not None:
            try:
                await queue.get_partial_message(message_id).edit(embed=embed, view=view)
                return Landed(queue.id, message_id)
            except discord.NotFound:
                if card.status == "closed":
                    return None
        message = await queue.send(nonce=effect.nonce, embed=embed, view=view, allowed_mentions=NO_PING)
        await self.requests.set_queue_message(request.id, message.id)
        return Landed(queue.id, message.id)

    async def escalated(self, effect: Effect) -> Landed | None:
        """Re-post the card with the roles mentioned, then remove the old one. The new card's id is kept with the
        effect before the old card is deleted, so a run cut off in between finishes the job instead of posting a
        third card or leaving two live ones."""
        request = await self._request(effect)
        if request.status != "open":
            return None
        guild = await guild_of(self.bot, request.guild_id)
        queue = self.desk.queue_channel(guild, await self.desk.config(request.guild_id))
        if queue is None:
            return None
        new_id = effect.result_id
        if new_id is None:
            card = await self.requests.card(request.id)
            roles: list[int] = list(effect.args.get("roles") or [])
            level, previous = int(effect.args["level"]), int(effect.args["previous"])
            escalation = Escalation(request, level, previous, tuple(roles), notify_asker=True)
            message = await queue.send(
                render.escalation_text(escalation),
                nonce=effect.nonce,
                embed=render.card_embed(card),
                view=card_view(card),
                allowed_mentions=discord.AllowedMentions(
                    everyone=False, users=False, roles=[discord.Object(r) for r in roles]
                ),
            )
            new_id = message.id
            await self.bot.services.outbox.note_progress(effect, Landed(queue.id, new_id))
        if request.queue_message_id is not None and request.queue_message_id != new_id:
            await _delete(queue, request.queue_message_id)
        await self.requests.set_queue_message(request.id, new_id)
        return Landed(queue.id, new_id)

    # --- in the thread -------------------------------------------------------------------------------------------

    async def joined(self, effect: Effect) -> Landed | None:
        request = await self._request(effect)
        helper_id = int(effect.args["helper_id"])
        if request.status != "open" or helper_id not in {c.helper_id for c in await self.requests.helpers(request.id)}:
            return None
        thread = await self._thread(request)
        try:
            await _unarchive(thread)
            await thread.add_user(discord.Object(helper_id))
        except (discord.Forbidden, discord.NotFound) as error:
            # Undo the claim (the card goes back to waiting); the claimer is told if they are still waiting.
            log.warning("help claim could not add helper request=%d status=%s", request.id, error.status)
            await self.requests.release(request.id, helper_id, why=None)
            raise EffectGone("the helper could not be added to the thread") from None
        asker_id = None if request.hides_asker else request.asker_id
        message = await thread.send(
            render.joined(helper_id, asker_id), nonce=effect.nonce, allowed_mentions=ping(asker_id)
        )
        return Landed(thread.id, message.id)

    async def released(self, effect: Effect) -> Landed | None:
        request = await self._request(effect)
        helper_id = int(effect.args["helper_id"])
        thread = await self.desk.thread_of(request) if request.status == "open" else None
        if thread is None:
            return None
        unclaimed = bool(effect.args.get("unclaimed"))
        text = (
            render.lost_role(helper_id, unclaimed)
            if effect.args.get("why") == "lost_role"
            else render.released(helper_id, unclaimed)
        )
        await _unarchive(thread)
        message = await thread.send(text, nonce=effect.nonce, allowed_mentions=NO_PING)
        try:
            await thread.remove_user(discord.Object(helper_id))
        except discord.NotFound:
            pass
        return Landed(thread.id, message.id)

    async def closed(self, effect: Effect) -> Landed | None:
        request = await self._request(effect)
        thread = await self.desk.thread_of(request)
        if thread is None:
            return None
        landed: Landed | None = None
        notice = f"🔒 {IDLE_CLOSE_NOTE}" if effect.args.get("idle") else None
        if effect.args.get("by_member"):
            notice = render.MEMBER_CLOSED  # an anonymous asker closed it from their DM
        if notice is not None:
            await _unarchive(thread)
            message = await thread.send(notice, nonce=effect.nonce, allowed_mentions=NO_PING)
            landed = Landed(thread.id, message.id)
        if not (thread.archived and thread.locked):
            await thread.edit(archived=True, locked=True)
        return landed

    async def reopened(self, effect: Effect) -> Landed | None:
        request = await self._request(effect)
        if request.status != "open":
            return None
        thread = await self._thread(request)
        await thread.edit(archived=False, locked=False)
        helpers = [c.helper_id for c in await self.requests.helpers(request.id) if c.helper_id]
        who = " ".join(f"<@{h}>" for h in helpers)
        message = await thread.send(
            f"{who} The member reopened this request.".strip(), nonce=effect.nonce, allowed_mentions=ping(*helpers)
        )
        return Landed(thread.id, message.id)

    async def idle_ask(self, effect: Effect) -> Landed | None:
        request = await self._request(effect)
        if request.status != "open":
            return None
        if request.hides_asker:  # "Is this sorted?" goes to the anonymous asker by DM
            guild = await guild_of(self.bot, request.guild_id)
            if request.asker_id is None or guild is None:
                return None
            text = render.anonymous_idle_dm(request, guild.name)
            return await dm_once(self.bot, effect, request.asker_id, text, view=sorted_view(request.id))
        thread = await self._thread(request)
        await _unarchive(thread)
        message = await send_once(
            effect,
            thread,
            marker=f"help:sorted:{request.id}:yes",
            content=f"<@{request.asker_id}> It's been quiet here for a few days. **Is this sorted?**",
            view=sorted_view(request.id),
            allowed_mentions=ping(request.asker_id),
        )
        return Landed(thread.id, message.id)

    # --- DMs to the asker ----------------------------------------------------------------------------------------

    async def feedback(self, effect: Effect) -> Landed | None:
        request = await self._request(effect)
        guild = await guild_of(self.bot, request.guild_id)
        if request.status != "closed" or request.asker_id is None or guild is None:
            return None
        return await dm_once(
            self.bot, effect, request.asker_id, render.feedback_dm(request, guild.name), view=feedback_view(request.id)
        )

    async def escalation_dm(self, effect: Effect) -> Landed | None:
        request = await self._request(effect)
        guild = await guild_of(self.bot, request.guild_id)
        if request.status != "open" or request.asker_id is None or guild is None:
            return None
        level = int(effect.args["level"])
        text = (
            render.anonymous_escalation_dm(request, guild.name, level)
            if request.hides_asker
            else render.escalation_dm(request, guild.name, level)
        )
        return await dm_once(self.bot, effect, request.asker_id, text)

    async def on_call_dm(self, effect: Effect) -> Landed | None:
        """An on-call helper whose topics match hears of a new request, with a link to its card (claiming stays in
        the queue, where the server's rules and roles apply). Not when it was claimed meanwhile, nor when they are
        no longer a helper here."""
        request = await self._request(effect)
        helper_id = int(effect.args["helper_id"])
        guild = await guild_of(self.bot, request.guild_id)
        config = await self.desk.config(request.guild_id)
        if guild is None or config is None or request.status != "open" or await self.requests.helpers(request.id):
            return None
        try:
            helper = await guild.fetch_member(helper_id)
        except discord.NotFound:
            return None
        if config.helper_role_id is None or helper.get_role(config.helper_role_id) is None:
            return None
        text = render.on_call_dm(request, guild.name, config.queue_channel_id)
        return await dm_once(self.bot, effect, helper_id, text)

    async def gone_dm(self, effect: Effect) -> Landed | None:
        request = await self._request(effect)
        guild = await guild_of(self.bot, request.guild_id)
        if request.asker_id is None or guild is None:
            return None
        text = (
            f"The thread of your help request #{request.number} in **{guild.name}** was removed by the server's "
            "staff, so the request is closed. If you still need help, use `/ask` there again."
        )
        return await dm_once(self.bot, effect, request.asker_id, text)


async def _delete(channel: discord.TextChannel, message_id: int) -> None:
    try:
        await channel.get_partial_message(message_id).delete()
    except discord.NotFound:
        pass


async def _unarchive(thread: discord.Thread) -> None:
    if thread.archived:
        await thread.edit(archived=False)
