"""What mentor messages say: texts, embeds and invite files, no I/O.

Phone numbers reach this module only in :func:`confirmation`, which renders the one DM they may appear in."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import discord

from cogs._text import member_text, quote
from services.contact import PhoneNumber
from services.mentors import Booking, CancelCause, Mentor, MentorMatch
from storage.db import to_epoch

MAX_SLOT_LINES = 25
BLURPLE = discord.Colour.blurple()
GREY = discord.Colour.light_grey()

WINDOWS_HELP = "Weekly times in your zone, e.g. Mon-Fri 07:30-08:15; Tue,Thu 5:45pm-6:30pm (; or , between groups)"

CONTACT_CHOICES: tuple[tuple[str, str], ...] = (
    ("You call me (I share my number)", "they_call_me"),
    ("I call you", "i_call_them"),
    ("Discord voice", "discord_voice"),
)

# How a call happens, from the member's side (the roster card and /mentors).
HOW_FOR_MEMBER = {
    "they_call_me": "You call them — their number is sent to you by DM once they accept",
    "i_call_them": "They call you — you give your number when booking; only they get it",
    "discord_voice": "Discord voice — a private voice channel for the two of you opens 5 minutes before",
}
HOW_SHORT = {"they_call_me": "you call me", "i_call_them": "I call you", "discord_voice": "Discord voice"}


def ts(instant: datetime, style: str = "f") -> str:
    return f"<t:{to_epoch(instant)}:{style}>"


def when(instant: datetime) -> str:
    return f"{ts(instant, 'f')} ({ts(instant, 'R')})"


def slot_lines(slots: Sequence[datetime]) -> str:
    return "\n".join(f"`{i:>2}.` {when(s)}" for i, s in enumerate(slots[:MAX_SLOT_LINES], 1))


def slot_label(index: int, slot: datetime, mentor_zone: str | None) -> tuple[str, str]:
    """A select option's plain-text label and description (select options cannot hold timestamp markup)."""
    label = f"{index}. {slot:%a %d %b, %H:%M} UTC"
    description = ""
    if mentor_zone:
        local = slot.astimezone(ZoneInfo(mentor_zone))
        description = f"{local:%a %H:%M} in the mentor's zone ({mentor_zone})"
    return label, description[:100]


# --- roster card ----------------------------------------------------------------------------------------------------


def card_embed(match: MentorMatch) -> discord.Embed:
    mentor = match.mentor
    paused = mentor.status == "paused"
    embed = discord.Embed(title=member_text(mentor.headline)[:256], colour=GREY if paused else BLURPLE)
    about = f"\n\n{member_text(mentor.about, markdown=True)}" if mentor.about else ""
    embed.description = f"<@{mentor.user_id}>{about}"[:4096]
    embed.add_field(name="Topics", value=member_text(", ".join(mentor.topics)) or "—", inline=False)
    embed.add_field(name="Call length", value=f"{mentor.call_minutes} minutes")
    embed.add_field(name="How", value=HOW_FOR_MEMBER[mentor.contact_mode])
    if paused and mentor.paused_until is None:
        free = "Taking a break: not booking calls right now."
    elif match.slots:
        free = "\n".join(when(s) for s in match.slots[:3])
        if paused and mentor.paused_until is not None:
            free = f"Back {ts(mentor.paused_until, 'D')}.\n{free}"
    else:
        free = "No free times in the next two weeks."
    embed.add_field(name="Next free times", value=free, inline=False)
    embed.add_field(name="Calls left this week", value=str(match.calls_left_this_week))
    embed.set_footer(text="Times show in your own time zone. Only you and the mentor see a booking.")
    return embed


def matches_embed(matches: Sequence[MentorMatch], topic: str | None) -> discord.Embed:
    title = f"Mentors for “{topic}”" if topic else "Mentors you can book"
    embed = discord.Embed(title=title[:256], colour=BLURPLE)
    for match in matches[:10]:
        mentor = match.mentor
        slots = "\n".join(when(s) for s in match.slots[:3]) or "No free times in the next two weeks."
        value = (
            f"<@{mentor.user_id}> · {member_text(', '.join(mentor.topics))}\n{mentor.call_minutes} min · "
            f"{HOW_SHORT[mentor.contact_mode]}\n{slots}"
        )
        embed.add_field(name=member_text(mentor.headline)[:256], value=value[:1024], inline=False)
    embed.set_footer(text="Press Book to pick a time. Times show in your own time zone.")
    return embed


NO_MATCHES = (
    "No mentor is taking calls{topic} right now. Try `/mentors` without a topic, or ask for help privately with "
    "`/ask`; mentors join over time, so check back soon."
)


def no_matches(topic: str | None) -> str:
    return NO_MATCHES.format(topic=f" on “{topic}”" if topic else "")


# --- approval -------------------------------------------------------------------------------------------------------


def application_embed(mentor: Mentor) -> discord.Embed:
    embed = discord.Embed(title="Mentor application", colour=BLURPLE)
    embed.description = f"<@{mentor.user_id}> would like to offer commute calls.\n**{member_text(mentor.headline)}**"
    embed.add_field(name="Topics", value=member_text(", ".join(mentor.topics)), inline=False)
    if mentor.about:
        embed.add_field(name="About", value=member_text(mentor.about)[:1024], inline=False)
    embed.add_field(name="Time zone", value=mentor.timezone)
    embed.add_field(name="Windows", value=mentor.windows[:1024])
    embed.add_field(name="Calls", value=f"{mentor.call_minutes} min, up to {mentor.weekly_limit} a week")
    embed.add_field(name="How", value=HOW_SHORT[mentor.contact_mode])
    embed.set_footer(text="Approve to list them on the roster. Contact details are never shown here.")
    return embed


def application_decided(mentor: Mentor, moderator_id: int, approved: bool) -> str:
    verb = "Approved" if approved else "Declined"
    return f"{verb} by <@{moderator_id}>: <@{mentor.user_id}>'s mentor application."


def signup_done(mentor: Mentor, *, queue_missing: bool) -> str:
    if mentor.status == "active":
        return "Thank you! You're on the roster now; members can book you. Change anything with `/mentor edit`."
    if queue_missing:
        return (
            "Thank you! Your profile is saved and waits for a moderator's approval, but this server has no "
            "moderator queue set up yet. Please ask a moderator to run `/setup channels`."
        )
    return "Thank you! A moderator will look at your profile soon; I'll DM you when you're on the roster."


def approved_dm(guild_name: str) -> str:
    return (
        f"You're approved as a commute-call mentor on **{guild_name}**, and your card is on the roster. "
        "I'll DM you each booking request with Accept and Decline. `/mentor pause` takes a break any time."
    )


def declined_dm(guild_name: str) -> str:
    return (
        f"Thank you for offering to mentor on **{guild_name}**. The moderators didn't approve your profile this "
        "time; your contact details have been deleted. You're welcome to ask them about it."
    )


# --- booking --------------------------------------------------------------------------------------------------------


def pick_slot(mentor_id: int, slots: Sequence[datetime]) -> str:
    return (
        f"Free times with <@{mentor_id}> (shown in your time zone):\n{slot_lines(slots)}\n"
        "Pick one below; next you can say what you'd like to talk about."
    )


def no_slots(mentor_id: int) -> str:
    return (
        f"<@{mentor_id}> has no free times in the next two weeks. Try `/mentors` to find someone else who can talk "
        "sooner."
    )


def slot_taken(message: str, alternatives: Sequence[datetime]) -> str:
    if not alternatives:
        return f"{message}\nThere are no other free times with this mentor right now; try `/mentors`."
    return f"{message}\n{slot_lines(alternatives)}"


SENDING_SOON = "sending it now"


def request_sending(booking: Booking) -> str:
    """The first answer to a call request, before the mentor's DM went (this message then says it was sent)."""
    return f"Your request for {when(booking.starts_at)} is saved; I'm {SENDING_SOON} to <@{booking.mentor_user_id}>."


def request_sent(booking: Booking, dm_delivered: bool) -> str:
    text = (
        f"Request sent for {when(booking.starts_at)}. <@{booking.mentor_user_id}> has until "
        f"{ts(booking.expires_at, 'f')} to answer; I'll DM you either way. See it in `/calls`."
    )
    if not dm_delivered:
        text += " (Their DMs are closed right now, so they may miss it; if they don't answer, you'll get other times.)"
    return text


def request_for_mentor(booking: Booking) -> discord.Embed:
    embed = discord.Embed(title="A call request", colour=BLURPLE)
    embed.description = f"<@{booking.member_user_id}> would like a call at {ts(booking.starts_at, 'F')}."
    if booking.topic_text:
        embed.add_field(
            name="What they'd like to talk about", value=member_text(booking.topic_text)[:1024], inline=False
        )
    embed.add_field(name="How", value=HOW_SHORT[booking.contact_mode])
    embed.add_field(name="Answer by", value=ts(booking.expires_at, "f"))
    embed.set_footer(text="If you don't answer in time, they'll be offered other times.")
    return embed


def answered_request(booking: Booking, accepted: bool) -> str:
    if accepted:
        return f"You accepted the call with <@{booking.member_user_id}> at {ts(booking.starts_at, 'F')}."
    return f"You declined the call with <@{booking.member_user_id}>. They'll be offered other times."


def confirmation(
    booking: Booking, recipient_id: int, number: PhoneNumber | None, *, moved_from: datetime | None = None
) -> str:
    """The confirmation DM: the only message a phone number is ever written into (the counterpart's). After a move
    it says so, and its invite updates the first one (same UID, next SEQUENCE)."""
    other = booking.other_party(recipient_id)
    as_mentor = recipient_id == booking.mentor_user_id
    start = f"{ts(booking.starts_at, 'F')} ({ts(booking.starts_at, 'R')})"
    lines = [f"**Your call with <@{other}> is confirmed** for {start}."]
    if moved_from is not None:
        lines = [f"**Your call with <@{other}> has moved** from {ts(moved_from, 'F')}: it is confirmed for {start}."]
    mode = booking.contact_mode
    if mode == "discord_voice":
        lines.append("A private voice channel only the two of you can see opens 5 minutes before the call.")
    elif (mode == "they_call_me" and not as_mentor) or (mode == "i_call_them" and as_mentor):
        if number is not None:
            lines.append(f"Call them on **{number.international}** at that time.")
        else:
            lines.append("I couldn't read their number; please arrange it with them in a DM.")
    else:
        lines.append(f"<@{other}> will call you on the number you gave at that time.")
    lines.append("The attached invite adds it to your calendar. Reminders come 24 hours and 15 minutes before.")
    lines.append("Can't make it? Cancel in `/calls` so they know.")
    return "\n".join(lines)


def confirmation_redacted(booking: Booking, recipient_id: int) -> str:
    """The confirmation once the call is cancelled or over: struck through, the other person's number taken out."""
    other = booking.other_party(recipient_id)
    what = "was cancelled" if booking.status == "cancelled" else "is over"
    return (
        f"~~**Your call with <@{other}> is confirmed** for {ts(booking.starts_at, 'F')}.~~\n"
        f"This call {what}, so the phone number shared for it was removed from this message."
    )


def gone_note(starts_at: datetime | None, *, confirmed: bool, left: bool = False) -> str:
    """A DM about a call whose other person deleted their data or left: their name, words and number go."""
    when = f" for {ts(starts_at, 'F')}" if starts_at else ""
    head = f"~~**Your call is confirmed**{when}.~~" if confirmed else f"~~A call request{when}.~~"
    why = "is no longer in the server" if left else "has deleted their data"
    return f"{head}\nThe other person {why}, so this call's details were removed from this message."


APPLICATION_REMOVED = "Mentor application — removed at the member's request."
APPLICATION_WITHDRAWN = "Mentor application — withdrawn by the member."


def declined_for_member(booking: Booking, alternatives: Sequence[datetime], *, expired: bool) -> str:
    why = "didn't answer in time" if expired else "can't make that time"
    text = f"<@{booking.mentor_user_id}> {why} ({ts(booking.starts_at, 'f')}), so nothing is booked."
    if alternatives:
        return f"{text} Other free times with them:\n{slot_lines(alternatives)}\nPick one below, or try `/mentors`."
    return f"{text} They have no other free times right now; `/mentors` shows who else can talk."


def expired_for_mentor(booking: Booking) -> str:
    return (
        f"The call request from <@{booking.member_user_id}> for {ts(booking.starts_at, 'f')} expired before it was "
        "answered; they have been offered other times."
    )


def cancelled_notice(booking: Booking, recipient_id: int, cause: CancelCause = CancelCause.BY_PERSON) -> str:
    """The DM the other person gets, whatever the cause. A person who deleted their data or left is not named
    (their id would outlive them in this DM)."""
    when = ts(booking.starts_at, "F")
    if cause == CancelCause.MENTOR_LEFT:
        text = (
            f"<@{booking.mentor_user_id}> has stopped offering calls, so your call on {when} is cancelled. "
            "`/mentors` shows who else can talk."
        )
    elif cause == CancelCause.MENTOR_AWAY:
        text = (
            f"<@{booking.mentor_user_id}> is away then, so they cancelled your call on {when}. "
            "`/mentors` shows their other times and who else can talk."
        )
    elif cause == CancelCause.LEFT_SERVER:
        text = f"The other person is no longer in the server, so your call on {when} was cancelled."
    elif cause == CancelCause.DATA_DELETED:
        text = f"Your call on {when} was cancelled by the other person."
    else:
        by = booking.cancelled_by
        text = (
            f"<@{by}> cancelled the call on {when}."
            if by and by != recipient_id
            else f"The call on {when} is cancelled."
        )
        if booking.cancel_reason:
            text += "\nTheir reason:\n" + quote(booking.cancel_reason)
    if cause in (CancelCause.LEFT_SERVER, CancelCause.DATA_DELETED):
        text += " Nothing for you to do; `/mentors` shows who else you can book."
    if booking.ics_sequence > 0:
        text += "\nThe attached update removes it from your calendar."
    return text


def you_cancelled(booking: Booking) -> str:
    other = booking.other_party(booking.cancelled_by or 0)
    text = f"Cancelled your call with <@{other}> on {ts(booking.starts_at, 'F')}."
    text += " I've let them know."
    if booking.ics_sequence > 0:
        text += " The attached update removes it from your calendar."
    return text


def calls_embed(user_id: int, calls: Sequence[Booking], moving: Mapping[int, datetime] | None = None) -> discord.Embed:
    embed = discord.Embed(title="Your upcoming calls", colour=BLURPLE)
    for index, booking in enumerate(calls[:10], 1):
        other = booking.other_party(user_id)
        role = "you mentor" if booking.mentor_user_id == user_id else "your mentor is"
        status = "confirmed" if booking.status == "confirmed" else "waiting for the mentor's answer"
        embed.add_field(
            name=f"{index}. {status}",
            value=f"{when(booking.starts_at)}\n{role} <@{other}> · {HOW_SHORT[booking.contact_mode]}"
            + (f"\nAsked to move to {when(moving[booking.id])}" if moving and booking.id in moving else ""),
            inline=False,
        )
    embed.set_footer(
        text="Cancel asks you to confirm, and tells the other person. Move asks your mentor for another free time."
    )
    return embed


NO_CALLS = "You have no upcoming calls. `/mentors` shows who you can book."


# --- reminders and after the call -----------------------------------------------------------------------------------


def reminder(booking: Booking, recipient_id: int, minutes_before: int) -> str:
    other = booking.other_party(recipient_id)
    soon = "in 15 minutes" if minutes_before <= 15 else "tomorrow"
    text = f"Reminder: your call with <@{other}> is {soon}, {when(booking.starts_at)}."
    if booking.contact_mode == "discord_voice":
        text += " A private voice channel opens 5 minutes before."
    else:
        text += " The number is in your confirmation DM."
    return text + " Can't make it? Cancel in `/calls`."


def voice_ready(booking: Booking, channel_id: int) -> str:
    return f"Your call starts {ts(booking.starts_at, 'R')}: join <#{channel_id}>. Only the two of you can see it."


VOICE_NO_PERMISSION = (
    "I couldn't open a private voice channel for your call {start}: Porchlight is missing the Manage Channels "
    "permission on this server (a server admin can grant it). Please call each other from your Discord DM "
    "instead: open a DM with <@{other}> and press the call button."
)


def voice_missing(booking: Booking, recipient_id: int) -> str:
    return VOICE_NO_PERMISSION.format(start=ts(booking.starts_at, "R"), other=booking.other_party(recipient_id))


def after_call(booking: Booking, recipient_id: int) -> str:
    return f"Did your call with <@{booking.other_party(recipient_id)}> on {ts(booking.starts_at, 'f')} happen?"


OUTCOME_LABELS = {"happened": "Yes", "no_show": "They didn't show", "rescheduled": "We rescheduled"}


def outcome_recorded(booking: Booking, outcome: str) -> str:
    texts = {
        "happened": "Thanks — glad you talked.",
        "no_show": "Thanks for telling me; that's noted privately for the moderators only.",
        "rescheduled": "Thanks. Book the new time through the roster or `/mentors` so reminders follow.",
    }
    answered = booking.outcome or outcome
    return f"Did your call on {ts(booking.starts_at, 'f')} happen? **{OUTCOME_LABELS[answered]}**. {texts[answered]}"


def thanks_forwarded(member_id: int, note: str) -> str:
    return f"<@{member_id}> sent you a thank-you for your call:\n" + quote(note)


# --- leaving, pausing -----------------------------------------------------------------------------------------------


def leave_prompt(upcoming: int) -> str:
    calls = f" and cancels your {upcoming} upcoming call{'s' if upcoming != 1 else ''} (each member is told)"
    return (
        f"Leaving removes your roster card, deletes your phone number{calls if upcoming else ''}. "
        "You can sign up again later. Leave?"
    )


def left(cancelled: int) -> str:
    text = "You've left the roster and your number is deleted."
    if cancelled:
        text += f" {cancelled} upcoming call{'s were' if cancelled != 1 else ' was'} cancelled and the member told."
    return text + " Thank you for mentoring."


def paused(mentor: Mentor) -> str:
    if mentor.paused_until is None:
        return "You're paused: your card says you're taking a break, and nobody can book you. `/mentor resume` ends it."
    return (
        f"You're paused until {ts(mentor.paused_until, 'D')}; members can book times after that. Calls already "
        "booked stay booked."
    )


RESUMED = "Welcome back: you're bookable again."


def role_note(problem: str | None) -> str:
    return f"\n(Mentor role: {problem})" if problem else ""


def invite_file(booking: Booking, data: bytes) -> discord.File:
    return discord.File(io.BytesIO(data), filename=f"porchlight-call-{booking.id}.ics")


def no_shows(counts: dict[int, int]) -> str:
    """Moderators only, ephemeral: who did not show up to a booked call, most often first."""
    if not counts:
        return "No missed calls have been reported on this server."
    lines = [
        f"<@{user_id}>: {n} missed call{'s' if n != 1 else ''}"
        for user_id, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:40]
    ]
    return "**Reported no-shows** (private to moderators; from the after-call question)\n" + "\n".join(lines)
