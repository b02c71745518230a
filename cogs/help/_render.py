"""What help-request messages say: texts and embeds, no I/O. Member-written text appears only in the private thread,
the asker's own ephemeral replies and DMs, and (the short "what would help") on the helpers-only queue card."""

from __future__ import annotations

import discord

from cogs._text import member_text, quote
from services.help_requests import TOPICS, Escalation, QueueCard, relative
from storage.help_requests import HelpRequest

VISIBILITY = (
    "🔒 **Who can see this thread:** you, the helpers who join to help, and server staff who hold Manage Threads. "
    "Nobody else can see it or find it, and nothing about it is posted in a public channel."
)
NOT_A_HELP_THREAD = "`/close` works inside a help thread. Open your thread from the link I sent when you asked."
HELPERS_ONLY_QUEUE = "`/help-queue` is for this server's helpers and moderators."
ASK_IN_SERVER = "Asking for help works inside the server: run `/ask` there, and a private thread opens just for you."
ONLY_ASKER_STUCK = "This button is for the member who asked. To help, use the thread itself."
ONLY_ASKER_SORTED = "Only the member who asked, a helper in the thread, or a moderator can answer this."


def thread_name(request: HelpRequest) -> str:
    return f"help-{request.number}-{request.topic}"


def topic_label(topic: str) -> str:
    return TOPICS.get(topic, topic)


def opening(request: HelpRequest) -> tuple[str, discord.Embed]:
    """The first message of the thread: whose it is, who can see it, and what they wrote."""
    content = (
        f"<@{request.asker_id}>, this is your private help thread for request **#{request.number}** "
        f"({topic_label(request.topic)}). A helper will join soon; you can add anything here meanwhile.\n\n"
        f"{VISIBILITY}\n\nWhen you're done, press **Close** or use `/close`. "
        "If nothing is moving, press **I'm still stuck**."
    )
    embed = discord.Embed(
        title="What's going on?", description=member_text(request.body or ""), colour=discord.Colour.blue()
    )
    if request.wants:
        embed.add_field(name="What would help most?", value=member_text(request.wants), inline=False)
    return content, embed


def card_embed(card: QueueCard) -> discord.Embed:
    """The helpers' queue card: topic and what would help; the asker only when the server opted in."""
    colour = discord.Colour.dark_grey() if card.status == "closed" else discord.Colour.orange()
    if card.status in ("claimed", "full"):
        colour = discord.Colour.green()
    embed = discord.Embed(title=f"Request #{card.number} · {card.topic_label}", colour=colour)
    embed.add_field(name="What would help", value=member_text(card.wants) if card.wants else "—", inline=False)
    embed.add_field(name="Asked", value=card.age, inline=True)
    embed.add_field(name="Status", value=card.status_text, inline=True)
    claimed = ", ".join(f"<@{helper}>" for helper in card.helper_ids) or "nobody yet"
    embed.add_field(name=f"Claimed by ({card.helper_count}/{card.max_helpers})", value=claimed, inline=False)
    if card.asker_id is not None:
        embed.add_field(name="Asked by", value=f"<@{card.asker_id}>", inline=False)
    if card.anonymous:
        embed.add_field(name="Anonymous", value="The member's name is hidden; replies go through Porchlight.")
    if card.status not in ("closed", "pending_thread"):
        embed.set_footer(text="Claim it to join the private thread. The member's words are in the thread.")
    return embed


def escalation_text(escalation: Escalation) -> str:
    roles = " ".join(f"<@&{role}>" for role in escalation.mention_role_ids)
    request = escalation.request
    waited = "a while" if request.awaiting_since is None else f"since {relative(request.awaiting_since)}"
    who = "helpers and moderators" if escalation.level >= 2 else "helpers"
    return f"{roles} Request #{request.number} has been waiting for a helper {waited} — {who}, can someone take it?"


def escalation_dm(request: HelpRequest, guild_name: str, level: int) -> str:
    who = "the helpers and the moderators" if level >= 2 else "the helpers"
    return (
        f"Nobody has picked up your help request #{request.number} in **{guild_name}** yet, so I've asked {who} "
        f"again. Your thread <#{request.thread_id}> stays open — it never closes on its own while you wait."
    )


def joined(helper_id: int, asker_id: int | None) -> str:
    to = f"<@{asker_id}>, " if asker_id else ""
    return f"{to}<@{helper_id}> joined to help."


def released(helper_id: int, back_in_queue: bool) -> str:
    tail = " The request is back in the helpers' queue." if back_in_queue else ""
    return f"<@{helper_id}> stepped back from this request.{tail}"


def lost_role(helper_id: int, back_in_queue: bool) -> str:
    tail = " The request is back in the helpers' queue." if back_in_queue else ""
    return f"<@{helper_id}> is no longer a helper here, so they've been removed from this thread.{tail}"


def closed_in_thread(closer_id: int | None, note: str | None, reason_text: str) -> str:
    text = f"🔒 Closed by <@{closer_id}>." if closer_id else f"🔒 {reason_text}."
    if note:
        text += "\n" + quote(note, markdown=False)
    return text + "\nThe thread is archived and locked. The member can reopen it from their DM within a few days."


def feedback_dm(request: HelpRequest, guild_name: str) -> str:
    return (
        f"Your help request #{request.number} ({topic_label(request.topic)}) in **{guild_name}** is closed. "
        "**Did this help?** Your answer is only seen as a count. You can also reopen it here within 7 days."
    )


def feedback_recorded(helped: bool, can_thank: bool) -> str:
    if helped:
        extra = " If you like, send the helpers a thank-you — I'll pass it on by DM." if can_thank else ""
        return f"Thank you — glad it helped.{extra}"
    return (
        "Thank you for saying so. You can reopen the request here if you'd like more help, or use `/ask` again "
        "in the server any time."
    )


def thanks_dm(request: HelpRequest, guild_name: str, thanks: str) -> str:
    return (
        f"A thank-you from the member you helped with request #{request.number} ({topic_label(request.topic)}) "
        f"in **{guild_name}**:\n" + quote(thanks, markdown=False)
    )


def thread_ready_dm(request: HelpRequest, guild_name: str) -> str:
    return (
        f"Your help request #{request.number} in **{guild_name}** now has its private thread: <#{request.thread_id}>. "
        "Only you, the helpers who join and staff with Manage Threads can see it."
    )


def pending(request: HelpRequest, missing: list[str], channel_id: int) -> str:
    told = "I'll DM you when it's open." if request.anonymous else "I'll DM you the link."
    return (
        f"I couldn't open your private thread yet: Porchlight is missing {', '.join(missing)} in <#{channel_id}>. "
        f"Your request #{request.number} is saved exactly as you wrote it — nothing is lost — and its thread opens "
        f"automatically as soon as a moderator fixes that. {told}"
    )


OPENING_SOON = "opening it now"


def opening_soon(request: HelpRequest) -> str:
    """The first answer to a request, before its thread is open (this message is then edited to say where)."""
    if request.anonymous:
        return (
            f"Your anonymous request #{request.number} is saved exactly as you wrote it; I'm {OPENING_SOON} for the "
            "helpers. This message says when it's open, and I'll DM you: their replies arrive there."
        )
    return (
        f"Your request #{request.number} is saved exactly as you wrote it; I'm {OPENING_SOON} in a private thread. "
        "This message links it in a moment."
    )


def saved(request: HelpRequest) -> str:
    told = "I'll DM you when it's open" if request.anonymous else "I'll DM you the link as soon as it's there"
    return (
        f"Your request #{request.number} is saved exactly as you wrote it. Discord is slow to answer right now, so "
        f"your private thread opens in a moment — {told}. No need to ask again."
    )


def opened(request: HelpRequest, created: bool) -> str:
    if not created:
        return f"You already sent this one — your private thread is here: <#{request.thread_id}>."
    return (
        f"Your private thread is open: <#{request.thread_id}>. Only you, the helpers who join and staff with "
        "Manage Threads can see it. Helpers see the topic and what would help — not your name."
    )


def queue_list(cards: list[QueueCard], jump: dict[int, str]) -> discord.Embed:
    embed = discord.Embed(title="Open help requests", colour=discord.Colour.orange())
    if not cards:
        embed.description = "Nothing waiting — every request has been answered or closed."
        return embed
    lines = []
    for card in cards[:25]:
        link = f" · [card]({jump[card.request_id]})" if card.request_id in jump else ""
        lines.append(f"**#{card.number}** {card.topic_label} · asked {card.age} · {card.status_text}{link}")
    embed.description = "\n".join(lines)
    if len(cards) > 25:
        embed.set_footer(text=f"…and {len(cards) - 25} more, oldest first.")
    return embed


def on_call_dm(request: HelpRequest, guild_name: str, queue_channel_id: int | None) -> str:
    """To an on-call helper: the topic and what would help (as on the card), never who asked."""
    where = f"https://discord.com/channels/{request.guild_id}/{queue_channel_id}/{request.queue_message_id}"
    link = f"Claim it from its card: {where}" if queue_channel_id and request.queue_message_id else "It's in the queue."
    wants = f"\nWhat would help: {member_text(request.wants)}" if request.wants else ""
    return (
        f"You're on call in **{guild_name}**: request #{request.number} ({topic_label(request.topic)}) is waiting "
        f"for a helper.{wants}\n{link}\n`/helper off` there stops these; on call ends by itself."
    )


# --- anonymous asks -------------------------------------------------------------------------------------------------

ANON_VISIBILITY = (
    "🔒 **Who can see this thread:** the helpers who join to help and server staff who hold Manage Threads. The member "
    "who asked is **not** in it and their name is hidden from you."
)
ANON_CHOICE = "Don't show my name to helpers"
ANON_SHOW = "Show my name to helpers"
NOT_ANONYMOUS_HERE = "`/reply` works inside the thread of an anonymous help request."


def anonymous_opening(request: HelpRequest) -> tuple[str, discord.Embed]:
    """The first message of an anonymous request's thread: no name, and how replies reach the member."""
    content = (
        f"This is the private help thread for **anonymous** request **#{request.number}** "
        f"({topic_label(request.topic)}).\n\n{ANON_VISIBILITY}\n\n"
        "Press **Reply to member** (or use `/reply`): I DM your words to the member, marked with the request number "
        "and your display name. Their answers appear here as “Member: …”. When it's sorted, press **Close** or use "
        "`/close`."
    )
    _, embed = opening(request)
    return content, embed


def anonymous_opened(request: HelpRequest, created: bool) -> str:
    again = "You already sent this one. " if not created else ""
    return (
        f"{again}Your anonymous request #{request.number} is open. Helpers see what you wrote and the topic — not "
        "your name, and you're not in its thread. I've sent you a DM: their replies arrive there, and anything you "
        "send me there is passed on to them."
    )


def anonymous_dm(request: HelpRequest, guild_name: str) -> str:
    return (
        f"Your **anonymous** help request #{request.number} ({topic_label(request.topic)}) in **{guild_name}** is "
        "open. Helpers see what you wrote — not your name.\n"
        "• Their replies arrive here. To answer, just send me a message; with several requests open, use Discord's "
        "**Reply** on a message about the one you mean.\n"
        "• Words only: I can't pass on files or images.\n"
        "• **Close** when you're done. **Show my name** adds you to the thread, if you ever want to."
    )


def relay_dm(request: HelpRequest, guild_name: str, helper_name: str, text: str) -> str:
    return (
        f"💬 **{member_text(helper_name, markdown=True)}** (helper) on your anonymous request #{request.number} in "
        f"**{guild_name}**:\n{quote(text, markdown=False)}\n-# Reply to this message to answer."
    )


def relay_in_thread(text: str) -> str:
    return f"**Member:** {member_text(text)}"


def relay_sent(helper_id: int, text: str) -> str:
    return f"↪️ <@{helper_id}> replied to the member (sent by DM):\n{quote(text, markdown=False)}"


def relay_not_delivered(request: HelpRequest) -> str:
    return (
        f"I couldn't DM the member of request #{request.number}: their DMs are closed to me, so your reply was not "
        "delivered (and not kept). They can still follow up here by DM once they open them."
    )


def relay_pending(request: HelpRequest) -> str:
    return (
        f"Discord is slow right now: your reply to the member of request #{request.number} is saved and goes out by "
        "DM in a moment. No need to send it again."
    )


def relay_ack(request: HelpRequest) -> str:
    return f"✓ Passed on to the helpers of request #{request.number}."


def revealed_in_thread(asker_id: int) -> str:
    return f"<@{asker_id}> chose to show their name and joined this thread. You can talk here directly now."


def reveal_confirm(request: HelpRequest) -> str:
    return (
        f"Show your name to the helpers of request #{request.number}? You'll be added to its thread and they'll see "
        "who you are. This can't be undone."
    )


def revealed_to_member(request: HelpRequest) -> str:
    return f"Done — the helpers now see your name, and you're in the thread: <#{request.thread_id}>."


def revealed_to_moderator(request: HelpRequest, asker_id: int | None) -> str:
    who = f"<@{asker_id}> (id {asker_id})" if asker_id else "a member who has since deleted their data"
    return (
        f"Request #{request.number} was asked by {who}. This look-up is in the server's audit list, and the member "
        "has been told by DM. The helpers still don't see the name."
    )


def reveal_dm(request: HelpRequest, guild_name: str, reason: str) -> str:
    return (
        f"A moderator of **{guild_name}** looked up who asked your anonymous help request #{request.number}, giving "
        f"this reason:\n{quote(reason, markdown=False)}\nThe helpers still don't see your name. Every look-up is kept "
        "in the server's audit list."
    )


def anonymous_idle_dm(request: HelpRequest, guild_name: str) -> str:
    return (
        f"It's been quiet on your anonymous request #{request.number} in **{guild_name}** for a few days. "
        "**Is this sorted?**"
    )


def anonymous_escalation_dm(request: HelpRequest, guild_name: str, level: int) -> str:
    who = "the helpers and the moderators" if level >= 2 else "the helpers"
    return (
        f"Nobody has picked up your anonymous request #{request.number} in **{guild_name}** yet, so I've asked {who} "
        "again. It stays open — it never closes on its own while you wait."
    )


MEMBER_CLOSED = "🔒 The member closed this request."
MEMBER_REOPENED = "The member reopened this request."
