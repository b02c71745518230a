"""What check-in messages say: texts and embeds, no I/O. The words of a check-in reply come from the service."""

from __future__ import annotations

from datetime import datetime

import discord

from cogs._text import member_text, quote
from services.checkins import CheckinOutcome, History, Pulse, Status, WeekCounts
from services.reminders import DM_HOW_TO, ReminderView
from storage.db import to_epoch

HISTORY_NOTE_LIMIT = 180  # 12 notes of 1000 characters would not fit an embed; history shows the start of each

MENTOR_SIGNUP_COMING_SOON = " (`/mentor signup` is arriving here soon — I'll let you know.)"


def mentors_on_roster(roster_channel_id: int | None) -> str:
    if roster_channel_id is None:
        return "Use `/mentors` in the server to see who you can book."
    return (
        f"Mentors and their next free times are on <#{roster_channel_id}>: press **Book a call** on a card there, "
        "or use `/mentors` in the server. Only you and the mentor see a booking."
    )


DISMISSED = "No problem. Your check-in is saved and nobody else can see it. `/checkin` whenever you like."

SHARE_ONLY_WHEN_STUCK = (
    "\n\n(`share_with_helpers` is for Stuck or In a rut check-ins, so nothing was sent to the helpers.)"
)
SHARED = (
    "\n\nI've let the helpers know that someone would welcome a reach-out — without your name. When one of them "
    "takes it, a private thread opens that only you, that helper and server staff can see."
)
SHARED_NOTE = " Your note will be shown to the helpers too, also without your name, so whoever reaches out knows "
SHARED_NOTE += "where to start."
QUEUE_NOT_SET = (
    "\n\nI couldn't tell the helpers: this server has no helper queue set up yet, so nothing was posted anywhere. "
    "A moderator can set one with `/setup channels`; your check-in itself is saved."
)
SHARE_PENDING = " (Discord is slow right now, so the notice may take a minute to appear.)"
QUEUE_UNREACHABLE = (
    "\n\nI couldn't post in the helper queue (the channel is gone or I lack permission there), so nothing was "
    "posted anywhere. Please tell a moderator; your check-in itself is saved."
)

REACH_OUT_NOTICE = (
    "**A member would welcome a reach-out.** They checked in as stuck or in a rut and asked for a helper."
)
REACH_OUT_HOW = "Press **I'll reach out** to open a private thread with them. Their name shows only once you take it."


def timestamp(instant: datetime, style: str = "f") -> str:
    return f"<t:{to_epoch(instant)}:{style}>"


def checkin_reply(outcome: CheckinOutcome, *, share_asked: bool, share_line: str, mentor_ready: bool) -> str:
    text = outcome.message
    if outcome.status is Status.HIRED and not mentor_ready:
        text += MENTOR_SIGNUP_COMING_SOON
    if share_asked and not outcome.status.needs_help:
        text += SHARE_ONLY_WHEN_STUCK
    return text + share_line


def share_line(note_shared: bool) -> str:
    return SHARED + (SHARED_NOTE if note_shared else "")


def reach_out_notice(note: str | None) -> str:
    text = REACH_OUT_NOTICE
    if note:
        text += "\nIn their words (they chose to share this with helpers):\n" + quote(note)
    return f"{text}\n{REACH_OUT_HOW}"


def reach_out_taken(helper_id: int) -> str:
    return f"{REACH_OUT_NOTICE}\nTaken by <@{helper_id}>, who is talking with them in a private thread."


def reach_out_opening(member_id: int, helper_id: int, note: str | None) -> str:
    text = (
        f"<@{member_id}>, after your check-in you said you'd welcome a reach-out, and <@{helper_id}> offered to "
        "talk. This is a private thread.\n"
        f"**Who can see it:** you (<@{member_id}>), <@{helper_id}> who joined to help, and server staff who hold the "
        "Manage Threads permission. Nobody else can see or join it, and nothing here is posted anywhere else."
    )
    if note:
        text += "\n\nWhat you shared with the helpers:\n" + quote(note)
    return text


def followup_prompt(guild_name: str, status: Status) -> str:
    return (
        f"Hi — Porchlight here, from **{discord.utils.escape_markdown(guild_name)}**. A few days ago you checked in "
        f"as *{status.label}*. How is it going now? Tap whichever fits. Only you see this, and it's fine to ignore it."
    )


def reminder_prompt(guild_name: str) -> str:
    return (
        f"Time for your check-in for **{discord.utils.escape_markdown(guild_name)}**. How is your search going? "
        "Tap whichever fits — it stays between us. (`/reminders show` or `/reminders off` in the server to change "
        "these.)"
    )


def recorded(outcome: CheckinOutcome, guild_name: str) -> str:
    return (
        f"Checked in for **{discord.utils.escape_markdown(guild_name)}**: **{outcome.status.label}** · "
        f"{timestamp(outcome.checkin.created_at)}\n\n{outcome.message}"
    )


def _shorten(note: str) -> str:
    flat = " ".join(note.split())
    return flat if len(flat) <= HISTORY_NOTE_LIMIT else flat[: HISTORY_NOTE_LIMIT - 1] + "…"


TREND_FILE = "checkin-trend.png"
TREND_ALT = "Your check-ins as a line, oldest to newest: higher is better (Stuck, In a rut, On track, Hired)."


def history_embed(history: History) -> discord.Embed:
    embed = discord.Embed(title="Your check-ins", colour=discord.Colour.gold())
    if not history.checkins:
        embed.description = "No check-ins yet. `/checkin` any time — only you can see them."
        return embed
    lines = []
    for checkin in history.checkins:
        line = f"{timestamp(checkin.created_at)} — **{Status(checkin.status).label}**"
        if checkin.note:
            line += f": {member_text(_shorten(checkin.note), markdown=True)}"
        lines.append(line)
    embed.description = "\n".join(lines)
    embed.add_field(
        name="Trend (oldest → newest)", value=f"`{history.sparkline}`  ▂ stuck ▄ in a rut ▆ on track █ hired"
    )
    weeks = "week" if history.streak_weeks == 1 else "weeks"
    embed.add_field(
        name="Streak", value=f"{history.streak_weeks} {weeks} in a row with a check-in ({history.week_zone} weeks)"
    )
    embed.set_footer(text=f"The last {len(history.checkins)} check-ins. Only you can see this.")
    return embed


def _week(counts: WeekCounts) -> str:
    lines = [f"{status.label}: {counts.by_status[status]}" for status in Status]
    lines.append(f"Members who checked in: {counts.members}")
    lines.append(f"Asked for a reach-out: {counts.asked_for_reach_out}")
    return "\n".join(lines)


def pulse_embed(pulse: Pulse) -> discord.Embed:
    embed = discord.Embed(
        title="Check-in pulse",
        description="Anonymous counts of members' latest check-in each week. Counts under 3 show as "
        "“fewer than 3” so nobody can be singled out.",
        colour=discord.Colour.gold(),
    )
    embed.add_field(name=f"This week (since {timestamp(pulse.this_week.start, 'D')})", value=_week(pulse.this_week))
    embed.add_field(name=f"Last week (from {timestamp(pulse.last_week.start, 'D')})", value=_week(pulse.last_week))
    return embed


def pulse_refused(role_names: list[str]) -> str:
    who = ", ".join(f"the {name} role" for name in role_names)
    who = f"{who}, or the Manage Server permission" if who else "the Manage Server permission"
    return f"`/pulse` shows anonymous check-in counts to helpers and moderators only: it needs {who}."


def reminders_set(view: ReminderView) -> str:
    assert view.next_at is not None
    return (
        f"Reminders set: {view.text}. The next one comes by DM {timestamp(view.next_at, 'F')} "
        f"({timestamp(view.next_at, 'R')}). Make sure your DMs from this server are open. {DM_HOW_TO}"
    )


def reminders_shown(view: ReminderView | None) -> str:
    if view is None:
        return (
            "You have no check-in reminders here. Set them with "
            "`/reminders checkin every:weekdays time:09:00 timezone:Europe/Berlin`."
        )
    if view.next_at is None:
        return view.text
    return f"{view.text}. Next: {timestamp(view.next_at, 'F')} ({timestamp(view.next_at, 'R')})."


def reminders_off(turned_off: bool) -> str:
    if turned_off:
        return "Check-in reminders are off. Your check-ins are kept; `/reminders checkin` starts reminders again."
    return "You had no check-in reminders here, so there was nothing to turn off."
