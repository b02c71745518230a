"""Persistent help-request buttons and the forms they open. State is the custom id plus the database, so every
button keeps working after a restart; callbacks hand the work to the desk and answer errors through
``routes_errors``. Forms (modals) are answered by custom id (``cogs/forms.py``), never by a stored ``Modal`` object,
so a double submit or a submit after a restart still finds its handler; a refused one re-opens filled in."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from cogs._forms import Values, prefill, send_form
from cogs._ui import CUSTOM_IDS, PersistentView, routes_errors
from cogs.help._render import ANON_CHOICE
from services.forms import FormDraft
from services.help_requests import BODY_LIMIT, RELAY_LIMIT, THANKS_LIMIT, TOPICS, WANTS_LIMIT, QueueCard

if TYPE_CHECKING:
    from cogs.help._desk import HelpDesk

Interaction = discord.Interaction[Any]
Button = discord.ui.Button[discord.ui.View]


def desk_of(interaction: Interaction) -> HelpDesk:
    cog = interaction.client.get_cog("Help")
    assert cog is not None, "the help cog is not loaded"
    return cog.desk  # type: ignore[no-any-return]


def _button(label: str, custom_id: str, style: discord.ButtonStyle, disabled: bool = False) -> Button:
    return discord.ui.Button(label=label, custom_id=custom_id, style=style, disabled=disabled)


class _RequestButton(discord.ui.DynamicItem[Button], template=r"help:_base:(?P<request_id>[0-9]{1,20})"):
    """A button about one request; subclasses set the template, label and what a click does."""

    action = "_base"
    label = ""
    style = discord.ButtonStyle.secondary

    def __init__(self, request_id: int, *, disabled: bool = False) -> None:
        super().__init__(_button(self.label, f"help:{self.action}:{request_id}", self.style, disabled))
        self.request_id = request_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["request_id"]))


class ClaimButton(_RequestButton, template=CUSTOM_IDS["help.claim"]):
    action, label, style = "claim", "Claim", discord.ButtonStyle.primary

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await desk_of(interaction).claim(interaction, self.request_id)


class ReleaseButton(_RequestButton, template=CUSTOM_IDS["help.release"]):
    action, label = "release", "Release"

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await desk_of(interaction).release(interaction, self.request_id)


class CloseButton(_RequestButton, template=CUSTOM_IDS["help.close"]):
    action, label = "close", "Close"

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await desk_of(interaction).close_by_member(interaction, self.request_id, None)


class StuckButton(_RequestButton, template=CUSTOM_IDS["help.stuck"]):
    action, label = "stuck", "I'm still stuck"

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await desk_of(interaction).still_stuck(interaction, self.request_id)


class ReopenButton(_RequestButton, template=CUSTOM_IDS["help.reopen"]):
    action, label = "reopen", "Reopen"

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await desk_of(interaction).reopen(interaction, self.request_id)


class ThanksButton(_RequestButton, template=CUSTOM_IDS["help.thanks"]):
    action, label, style = "thanks", "Send a thank-you", discord.ButtonStyle.success

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await send_form(interaction, thanks_modal(self.request_id))


class ReplyButton(_RequestButton, template=CUSTOM_IDS["help.reply"]):
    """In an anonymous request's thread: opens the form whose text is DMed to the member."""

    action, label, style = "reply", "Reply to member", discord.ButtonStyle.primary

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await desk_of(interaction).anon.open_reply_form(interaction, self.request_id)


class RevealButton(_RequestButton, template=CUSTOM_IDS["help.reveal"]):
    """In the anonymous asker's DM: show my name (asks to confirm first)."""

    action, label = "reveal", "Show my name"

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await desk_of(interaction).anon.reveal_prompt(interaction, self.request_id)


class RevealConfirmButton(_RequestButton, template=CUSTOM_IDS["help.revealok"]):
    action, label, style = "revealok", "Yes, show my name", discord.ButtonStyle.danger

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await desk_of(interaction).anon.reveal_self(interaction, self.request_id)


class _AnswerButton(
    discord.ui.DynamicItem[Button], template=r"help:_answer:(?P<request_id>[0-9]{1,20}):(?P<yes>yes|no)"
):
    """Yes / no about one request."""

    action = "_answer"
    labels = ("Yes", "No")

    def __init__(self, request_id: int, yes: bool, *, disabled: bool = False) -> None:
        label = self.labels[0] if yes else self.labels[1]
        style = discord.ButtonStyle.success if yes else discord.ButtonStyle.secondary
        custom_id = f"help:{self.action}:{request_id}:{'yes' if yes else 'no'}"
        super().__init__(_button(label, custom_id, style, disabled))
        self.request_id = request_id
        self.yes = yes

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> Any:
        return cls(int(match["request_id"]), match["yes"] == "yes")


class SortedButton(_AnswerButton, template=CUSTOM_IDS["help.sorted"]):
    """The idle check's "Is this sorted?": Resolved closes, Still need help keeps it open."""

    action, labels = "sorted", ("Resolved", "Still need help")

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await desk_of(interaction).sorted_answer(interaction, self.request_id, self.yes)


class FeedbackButton(_AnswerButton, template=CUSTOM_IDS["help.feedback"]):
    """ "Did this help?" in the asker's DM after a close."""

    action, labels = "feedback", ("Yes, it helped", "No")

    @routes_errors
    async def callback(self, interaction: Interaction) -> None:
        await desk_of(interaction).feedback(interaction, self.request_id, self.yes)


def card_view(card: QueueCard) -> discord.ui.View:
    closed = card.status == "closed"
    claimable = card.status in ("waiting", "claimed")
    return PersistentView(
        ClaimButton(card.request_id, disabled=not claimable),
        ReleaseButton(card.request_id, disabled=closed or card.helper_count == 0),
    )


def opening_view(request_id: int) -> discord.ui.View:
    return PersistentView(CloseButton(request_id), StuckButton(request_id))


def anonymous_opening_view(request_id: int) -> discord.ui.View:
    return PersistentView(ReplyButton(request_id), CloseButton(request_id))


def anonymous_dm_view(request_id: int) -> discord.ui.View:
    return PersistentView(CloseButton(request_id), RevealButton(request_id))


def reveal_confirm_view(request_id: int) -> discord.ui.View:
    return PersistentView(RevealConfirmButton(request_id))


def sorted_view(request_id: int, *, disabled: bool = False) -> discord.ui.View:
    return PersistentView(
        SortedButton(request_id, True, disabled=disabled), SortedButton(request_id, False, disabled=disabled)
    )


def feedback_view(request_id: int) -> discord.ui.View:
    return PersistentView(FeedbackButton(request_id, True), FeedbackButton(request_id, False), ReopenButton(request_id))


def after_feedback_view(request_id: int, offer_thanks: bool) -> discord.ui.View:
    items: list[discord.ui.Item[Any]] = [ThanksButton(request_id)] if offer_thanks else []
    return PersistentView(*items, ReopenButton(request_id))


# --- forms (answered by custom id in cogs/forms.py; see cogs/_forms.py) --------------------------------------------


def ask_modal(
    topic: str | None,
    nonce: int,
    source: str,
    *,
    guild_id: int | None = None,
    values: Values | None = None,
    anonymous: bool | None = False,
) -> discord.ui.Modal:
    """/ask's form. ``nonce`` (the opening interaction's id) makes the custom id the submission's find-or-create
    key: a double submit of the same form sends the same id. ``guild_id`` only for a form opened from a DM.
    ``values``: what the member typed before, when the form is re-opened after a refusal. ``anonymous``: True when
    /ask was asked with ``anonymous``; None when the form itself offers the choice (the check-in's path)."""
    suffix = (
        (":checkin" if source == "checkin" else "")
        + (":anon" if anonymous else "")
        + (f":g{guild_id}" if guild_id is not None else "")
    )
    modal = discord.ui.Modal(
        title="Ask for help privately", custom_id=f"help:ask:{topic or 'none'}:{nonce}{suffix}", timeout=None
    )
    if topic is None:
        picked = set((values or {}).get("topic") or [])
        options = [
            discord.SelectOption(label=label, value=value, default=value in picked) for value, label in TOPICS.items()
        ]
        modal.add_item(discord.ui.Label(text="Topic", component=discord.ui.Select(custom_id="topic", options=options)))
    body: discord.ui.TextInput[Any] = discord.ui.TextInput(
        custom_id="body",
        style=discord.TextStyle.paragraph,
        max_length=BODY_LIMIT,
        placeholder="Only you, the helpers who join and staff with Manage Threads will see this.",
        default=prefill(values, "body", BODY_LIMIT),
    )
    wants: discord.ui.TextInput[Any] = discord.ui.TextInput(
        custom_id="wants",
        max_length=WANTS_LIMIT,
        required=False,
        placeholder="e.g. a second pair of eyes on my CV (shown to helpers, without your name)",
        default=prefill(values, "wants", WANTS_LIMIT),
    )
    modal.add_item(discord.ui.Label(text="What's going on?", component=body))
    modal.add_item(discord.ui.Label(text="What would help most?", component=wants))
    if anonymous is None:
        hide = "hide" in ((values or {}).get("anonymous") or [])
        choice: discord.ui.Select[Any] = discord.ui.Select(
            custom_id="anonymous",
            required=False,
            min_values=0,
            placeholder="Helpers see your name (pick to hide it)",
            options=[discord.SelectOption(label=ANON_CHOICE, value="hide", default=hide)],
        )
        modal.add_item(discord.ui.Label(text="Your name", component=choice))
    return modal


def rebuild_ask(match: re.Match[str], draft: FormDraft) -> discord.ui.Modal:
    topic = match["topic"] if match["topic"] != "none" else None
    guild_id = int(match["guild_id"]) if match["guild_id"] else None
    anonymous: bool | None = True if match["anon"] else None if "anonymous" in draft.values else False
    return ask_modal(
        topic,
        int(match["nonce"]),
        match["source"] or "ask",
        guild_id=guild_id,
        values=draft.values,
        anonymous=anonymous,
    )


def relay_modal(request_id: int, nonce: int, values: Values | None = None) -> discord.ui.Modal:
    """A helper's reply to an anonymous member. ``nonce`` (the click's id) makes a double submit one relay."""
    modal = discord.ui.Modal(title="Reply to member", custom_id=f"help:relay:{request_id}:{nonce}", timeout=None)
    text: discord.ui.TextInput[Any] = discord.ui.TextInput(
        custom_id="text",
        style=discord.TextStyle.paragraph,
        max_length=RELAY_LIMIT,
        placeholder="Sent to the member by DM, with the request number and your display name.",
        default=prefill(values, "text", RELAY_LIMIT),
    )
    modal.add_item(discord.ui.Label(text="Your reply", component=text))
    return modal


def rebuild_relay(match: re.Match[str], draft: FormDraft) -> discord.ui.Modal:
    return relay_modal(int(match["request_id"]), int(match["nonce"]), draft.values)


def thanks_modal(request_id: int, values: Values | None = None) -> discord.ui.Modal:
    modal = discord.ui.Modal(title="Thank your helpers", custom_id=f"help:thanknote:{request_id}", timeout=None)
    text: discord.ui.TextInput[Any] = discord.ui.TextInput(
        custom_id="thanks",
        style=discord.TextStyle.paragraph,
        max_length=THANKS_LIMIT,
        default=prefill(values, "thanks", THANKS_LIMIT),
    )
    modal.add_item(discord.ui.Label(text="Your thank-you (sent to them by DM)", component=text))
    return modal


def rebuild_thanks(match: re.Match[str], draft: FormDraft) -> discord.ui.Modal:
    return thanks_modal(int(match["request_id"]), draft.values)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    ClaimButton,
    ReleaseButton,
    CloseButton,
    StuckButton,
    ReopenButton,
    ThanksButton,
    SortedButton,
    FeedbackButton,
    ReplyButton,
    RevealButton,
    RevealConfirmButton,
)
