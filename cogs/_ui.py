"""What every cog shares: answering ephemerally whatever state the interaction is in, and turning errors into
messages a member can act on."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

import discord
from discord import app_commands

from services.errors import PorchlightError
from services.metric_labels import command_label

log = logging.getLogger(__name__)

SOMETHING_BROKE = (
    "Something went wrong on Porchlight's side and it has been logged (without anything you wrote). "
    "Please try again in a minute; if it keeps happening, tell a moderator."
)
RESTARTING = "Porchlight is restarting. Please try again in a minute."

# Discord wants an interaction answered within 3 seconds. Work that usually takes milliseconds (a transaction) is
# answered in one response when it is done; only past this does the member see "thinking…" and the answer follow.
# With the moderation gate's own wait (``cogs.moderation.GATE_WAIT``, 1 s) before it, a deferral still goes out
# about a second before Discord's deadline.
DEFER_AFTER = 1.0

T = TypeVar("T")

# Every persistent component's custom id template (``feature:action[:id...]``), in one place so they stay disjoint:
# discord.py runs every DynamicItem whose template matches. Ids and fixed words only, never member-written text.
CUSTOM_IDS: dict[str, str] = {
    "checkin.status": r"checkin:status:(?P<guild_id>[0-9]{1,20}):(?P<status>on_track|stuck|rut|hired)"
    r"(?::(?P<source>followup|reminder))?",
    "checkin.ask": r"checkin:ask:(?P<topic>[a-z-]{1,20})(?::(?P<guild_id>[0-9]{1,20}))?",  # guild id when in a DM
    "checkin.mentors": r"checkin:mentors(?::(?P<guild_id>[0-9]{1,20}))?",  # guild id when in a DM
    "checkin.dismiss": r"checkin:dismiss",
    "checkin.reach": r"checkin:reach:(?P<checkin_id>[0-9]{1,20})",
    "mentors.book": r"mentors:book:(?P<mentor_id>[0-9]{1,20})",
    "mentors.slot": r"mentors:slot:(?P<guild_id>[0-9]{1,20}):(?P<mentor_id>[0-9]{1,20})",
    "mentors.answer": r"mentors:(?P<answer>accept|decline):(?P<booking_id>[0-9]{1,20})",
    "mentors.cancel": r"mentors:cancel:(?P<booking_id>[0-9]{1,20})",
    "mentors.move": r"mentors:move:(?P<booking_id>[0-9]{1,20})",  # /calls: move this call
    "mentors.moveslot": r"mentors:moveslot:(?P<booking_id>[0-9]{1,20})",  # the new time, from the mentor's free times
    "mentors.moveanswer": r"mentors:move(?P<answer>yes|no):(?P<move_id>[0-9]{1,20})",  # the mentor's answer
    "mentors.awaycancel": r"mentors:awaycancel:(?P<booking_id>[0-9]{1,20})",  # a call inside an away range
    "mentors.awayclear": r"mentors:awayclear:(?P<absence_id>[0-9]{1,20})",  # /mentor away-list: remove a range
    "mentors.approval": r"mentors:(?P<decision>approve|reject):(?P<user_id>[0-9]{1,20})",
    "mentors.leave": r"mentors:leave",
    "mentors.outcome": r"mentors:outcome:(?P<booking_id>[0-9]{1,20}):(?P<outcome>happened|no_show|rescheduled)",
    "mentors.thanks": r"mentors:thanks:(?P<booking_id>[0-9]{1,20})",
    "mentors.apply": r"mentors:apply:(?P<nonce>[0-9]{1,20})",  # modal: /mentor signup (options kept as a draft)
    "mentors.profile": r"mentors:profile:(?P<nonce>[0-9]{1,20})(?::(?P<options>o))?",  # modal: /mentor edit
    "mentors.request": r"mentors:request:(?P<guild_id>[0-9]{1,20}):(?P<mentor_id>[0-9]{1,20}):"
    r"(?P<starts_at>[0-9]{1,12})",  # modal: booking a slot
    "mentors.cancelnote": r"mentors:cancelnote:(?P<booking_id>[0-9]{1,20})",  # modal: cancelling a call
    "mentors.thanknote": r"mentors:thanknote:(?P<booking_id>[0-9]{1,20})",  # modal: thanking a mentor
    "help.ask": r"help:ask:(?P<topic>[a-z-]{1,20}):(?P<nonce>[0-9]{1,20})(?::(?P<source>checkin))?"
    r"(?::(?P<anon>anon))?(?::g(?P<guild_id>[0-9]{1,20}))?",  # modal; the guild id only when opened from a DM
    "help.thanknote": r"help:thanknote:(?P<request_id>[0-9]{1,20})",  # modal
    "help.claim": r"help:claim:(?P<request_id>[0-9]{1,20})",
    "help.release": r"help:release:(?P<request_id>[0-9]{1,20})",
    "help.close": r"help:close:(?P<request_id>[0-9]{1,20})",
    "help.stuck": r"help:stuck:(?P<request_id>[0-9]{1,20})",
    "help.reopen": r"help:reopen:(?P<request_id>[0-9]{1,20})",
    "help.thanks": r"help:thanks:(?P<request_id>[0-9]{1,20})",
    "help.sorted": r"help:sorted:(?P<request_id>[0-9]{1,20}):(?P<yes>yes|no)",
    "help.feedback": r"help:feedback:(?P<request_id>[0-9]{1,20}):(?P<yes>yes|no)",
    "help.reply": r"help:reply:(?P<request_id>[0-9]{1,20})",  # anonymous thread: opens the relay form
    "help.relay": r"help:relay:(?P<request_id>[0-9]{1,20}):(?P<nonce>[0-9]{1,20})",  # modal: a helper's reply
    "help.reveal": r"help:reveal:(?P<request_id>[0-9]{1,20})",  # anonymous asker's DM: show my name
    "help.revealok": r"help:revealok:(?P<request_id>[0-9]{1,20})",  # ...confirmed
    "privacy.delete": r"privacy:delete:(?P<guild_id>[0-9]{1,20})",
    "privacy.keep": r"privacy:keep",
    "helper.topics": r"helper:topics",  # select
    "setup.confirm": r"setup:confirm:(?P<name>[a-z_]{1,40}):(?P<value>on)",  # a privacy-weakening setting
    "setup.cancel": r"setup:cancel",
    "form.reopen": r"form:reopen:(?P<draft_id>[0-9]{1,20})",  # "Edit my answers" after a refused form
}


class PersistentView(discord.ui.View):
    """Components whose clicks discord.py routes by custom id to the DynamicItem classes the cogs register
    (``bot.add_dynamic_items``), plus link buttons. Nothing ever dispatches to the view itself, so it is stopped from
    the start (built inside the event loop, as handlers do): discord.py stores only a view that is not finished, and
    would keep every ephemeral answer's view 15 minutes (the timeout it forces there) with a task waiting out that
    timeout. It takes only items that need no view to be dispatched."""

    def __init__(self, *items: discord.ui.Item[Any]) -> None:
        super().__init__(timeout=None)
        self.stop()
        for item in items:
            self.add_item(item)

    def add_item(self, item: discord.ui.Item[Any]) -> PersistentView:
        if item.is_dispatchable() and not isinstance(item, discord.ui.DynamicItem):
            raise TypeError(f"{type(item).__name__} is dispatched through its view: use a discord.ui.View")
        super().add_item(item)
        return self


ItemT = TypeVar("ItemT")
Callback = Callable[[ItemT, discord.Interaction[Any]], Coroutine[Any, Any, None]]
# A check every slash command passes before it runs (moderator blocks, rate limits): None lets it through, a string
# is the ephemeral refusal shown instead. A gate may hold something for the command (a reserved use of a limit); its
# Undo gives that back when the command does not go through (a later gate refused it, or it failed).
Gate = Callable[[discord.Interaction[Any]], Awaitable[str | None]]
Undo = Callable[[discord.Interaction[Any]], Awaitable[None]]


def metric_label(interaction: discord.Interaction[Any]) -> str:
    """The interaction's command name or component family: never an id or anything typed."""
    command = interaction.command.qualified_name if interaction.command else None
    data = interaction.data or {}
    return command_label(command, str(data.get("custom_id", "")) or None)


@contextlib.contextmanager
def timed(interaction: discord.Interaction[Any]) -> Iterator[None]:
    """Observe how long handling the interaction took (porchlight_interaction_seconds)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics = getattr(interaction.client, "metrics", None)
        if metrics is not None:
            metrics.interaction_seconds.labels(metric_label(interaction)).observe(time.perf_counter() - started)


def is_staff(interaction: discord.Interaction[Any], role_ids: Iterable[int | None], *permissions: str) -> bool:
    """Whether the member holds one of ``role_ids`` (the server's configured helper or moderator roles) or has one
    of the Discord ``permissions`` here (e.g. "manage_guild"), which stands in for a role an admin did not set."""
    if any(getattr(interaction.permissions, name) for name in permissions):
        return True
    member = interaction.user
    return isinstance(member, discord.Member) and any(member.get_role(r) for r in role_ids if r)


async def soon(interaction: discord.Interaction[Any], work: Awaitable[T], *, defer_after: float = DEFER_AFTER) -> T:
    """``work``'s result, deferring the interaction (ephemeral "thinking…") only if it takes over ``defer_after``.

    One request instead of two when the work is quick (the answer is the interaction's response); a slow database
    still answers in time. Cancelling the caller cancels the work."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=defer_after)
        if not done and not interaction.response.is_done():
            await interaction.response.defer(ephemeral=True, thinking=True)
        return await task
    finally:
        if not task.done():
            task.cancel()


async def amend(interaction: discord.Interaction[Any], content: str | None = None, **kwargs: Any) -> None:
    """Replace what the interaction's answer says (answering it if nothing was sent yet): the edit is a PATCH, which a
    retry cannot repeat, and exempt from Discord's global limit."""
    response = interaction.response
    placeholder = response.type is discord.InteractionResponseType.deferred_channel_message
    if response.is_done() and (not placeholder or interaction.extras.get("answered")):
        await interaction.edit_original_response(content=content, **kwargs)
    else:
        await reply(interaction, content, **kwargs)


async def reply(interaction: discord.Interaction[Any], content: str | None = None, **kwargs: Any) -> None:
    """Answer ephemerally, whether or not the interaction was already acknowledged (deferred or answered).

    After a deferral ("thinking…"), the first answer edits that placeholder (a PATCH, which a retry cannot repeat)
    instead of posting a follow-up (a POST without a nonce: when Discord fails after posting it, discord.py's retry
    would show the member the same answer twice)."""
    kwargs.setdefault("ephemeral", True)
    if not interaction.response.is_done():
        await interaction.response.send_message(content, **kwargs)
    elif interaction.response.type is discord.InteractionResponseType.deferred_channel_message and not (
        interaction.extras.get("answered")
    ):
        interaction.extras["answered"] = True
        kwargs.pop("ephemeral")  # the deferral already decided who sees it
        files = [*kwargs.pop("files", []), *([kwargs.pop("file")] if "file" in kwargs else [])]
        if files:
            kwargs["attachments"] = files
        await interaction.edit_original_response(content=content, **kwargs)
    else:
        await interaction.followup.send(content, **kwargs)


class StaffOnly(app_commands.CheckFailure):
    """A command for a configured role (moderators, helpers), refused in the bot: the message says whose it is."""


def _describe_check_failure(error: app_commands.CheckFailure) -> str:
    if isinstance(error, StaffOnly):
        return str(error)
    if isinstance(error, app_commands.MissingPermissions):
        names = ", ".join(p.replace("_", " ").replace("guild", "server").title() for p in error.missing_permissions)
        return f"You need the {names} permission to use this command. Ask a server admin if this is unexpected."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works inside a server, not in DMs."
    return "You can't use this command here."


async def answer_error(
    interaction: discord.Interaction[Any], error: BaseException, *, view: discord.ui.View | None = None
) -> None:
    """The one place errors become messages. Domain errors are shown as written; anything else is logged with ids
    only (never member text) and answered with a neutral apology. ``view``: buttons to send with it (e.g. "Edit my
    answers" after a refused form)."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, PorchlightError):
        message = original.message
    elif isinstance(original, app_commands.CheckFailure):
        message = _describe_check_failure(original)
    else:
        command = interaction.command.qualified_name if interaction.command else None
        data = interaction.data or {}
        log.error(
            "interaction failed id=%s command=%s custom_id=%s guild=%s user=%s error=%s",
            interaction.id,
            command,
            data.get("custom_id"),
            interaction.guild_id,
            interaction.user.id,
            type(original).__name__,
            exc_info=(type(original), original, original.__traceback__),
        )
        message = SOMETHING_BROKE
        metrics = getattr(interaction.client, "metrics", None)
        if metrics is not None:
            metrics.interactions_failed.labels(metric_label(interaction)).inc()
    try:
        await reply(interaction, message, **({"view": view} if view is not None else {}))
    except discord.HTTPException:
        log.warning("could not deliver error message interaction=%s", interaction.id)


def routes_errors(callback: Callback[ItemT]) -> Callback[ItemT]:
    """For DynamicItem callbacks, whose errors discord.py only logs: answer the user through answer_error."""

    @functools.wraps(callback)
    async def wrapper(item: ItemT, interaction: discord.Interaction[Any]) -> None:
        with timed(interaction):
            try:
                await callback(item, interaction)
            except Exception as error:
                await answer_error(interaction, error)

    return wrapper


class PorchlightTree(app_commands.CommandTree[Any]):
    """Refuses new work while the bot drains for shutdown, and routes every command error through answer_error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gates: list[Gate] = []  # cogs append theirs in cog_load and remove them in cog_unload
        self.undos: list[Undo] = []  # likewise: each must be safe to call when its gate held nothing

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if getattr(self.client, "draining", False):
            await reply(interaction, RESTARTING)
            return False
        for gate in self.gates:
            refusal = await gate(interaction)
            if refusal is not None:
                await self._undo(interaction)  # an earlier gate may hold something for this command
                await reply(interaction, refusal)
                return False
        return True

    async def on_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        # The command failed: what the gates held is given back first, so an immediate retry is judged fairly.
        await self._undo(interaction)
        await answer_error(interaction, error)

    async def _undo(self, interaction: discord.Interaction[Any]) -> None:
        for undo in self.undos:
            try:
                await undo(interaction)
            except Exception as error:
                log.warning("gate undo failed interaction=%s error=%s", interaction.id, type(error).__name__)

    async def _call(self, interaction: discord.Interaction[Any]) -> None:
        # discord.py's one entry point for every command and autocomplete; wrapped so the closed-DM notice follows
        # every answered command, whether it succeeded or failed.
        if interaction.type is discord.InteractionType.application_command:
            with timed(interaction):
                await super()._call(interaction)
        else:
            await super()._call(interaction)  # autocomplete: not an answer a member waits on the same way
        if interaction.type is discord.InteractionType.application_command and interaction.response.is_done():
            await self._send_pending_notice(interaction)

    async def _send_pending_notice(self, interaction: discord.Interaction[Any]) -> None:
        """Tell the member, ephemerally and once, that a DM to them could not be delivered (never in public)."""
        services = getattr(self.client, "services", None)
        if services is None:
            return
        try:
            notice = await services.reminders.pending_notice(interaction.user.id)
            if notice is not None:
                await interaction.followup.send(notice, ephemeral=True)
        except Exception as error:
            log.warning("could not deliver dm notice interaction=%s error=%s", interaction.id, type(error).__name__)
