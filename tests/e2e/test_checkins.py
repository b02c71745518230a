"""Private check-ins through the twin: /checkin replies and buttons, follow-up DMs, history, pulse, share with helpers.

Time moves only with the ManualClock; scheduled DMs are sent by running due jobs, never by sleeping."""

from __future__ import annotations

import asyncio
import gc
import re
import sqlite3
import struct
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import discord

from demo.community import Community, final_answer
from services.checkins import NOTE_LIMIT
from services.reminders import REMINDER_JOB
from storage import checkins as store
from storage import jobs as jobs_store
from storage.checkins import Checkin
from twin.people import MessageView, Modal, Person
from twin.state import PRIVATE_THREAD, Channel

GREY, BLUE = 2, 1  # button styles: secondary, primary


async def eventually(predicate: Callable[[], bool], within: float = 3.0) -> None:
    """Wait for a message the bot sends after it has answered (a follow-up ephemeral); fails after ``within``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, "the bot did not send it in time"
        await asyncio.sleep(0.01)


async def checkin(c: Community, person: Person, status: str, **options: Any) -> MessageView:
    answer = await person.slash("checkin", channel=c.general, status=status, **options)
    assert isinstance(answer, MessageView)
    return answer


async def stored(c: Community, person: Person) -> list[Checkin]:
    assert c.bot is not None
    return await store.recent_checkins(c.bot.db.conn, c.guild.id, person.id, 50)


def labels(message: MessageView) -> list[str]:
    return [str(b.get("label")) for b in message.buttons]


def button(message: MessageView, label: str) -> dict[str, Any]:
    return next(b for b in message.buttons if b.get("label") == label)


def queue_messages(c: Community) -> list[MessageView]:
    return [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(c.queue.id)]


def threads_named(c: Community, prefix: str) -> list[Channel]:
    return [ch for ch in c.twin.state.all_channels() if ch.type == PRIVATE_THREAD and ch.name.startswith(prefix)]


# --- /checkin replies ------------------------------------------------------------------------------------------------


async def test_on_track_is_acknowledged_privately_without_buttons(community: Community) -> None:
    c = community
    answer = await checkin(c, c.alice, "On track")
    assert answer.ephemeral
    assert "Good to hear" in answer.text
    assert answer.buttons == []
    assert [s.status for s in await stored(c, c.alice)] == ["on_track"]


async def test_a_checkin_is_stored_and_answered_in_one_response(community: Community) -> None:
    """No "thinking…" first: the answer is the interaction's response, one request (the bare minimum a bot makes)."""
    c = community
    before = len(c.twin.requests)
    answer = await checkin(c, c.alice, "Stuck")
    assert [(r.method, r.route) for r in c.twin.requests[before:]] == [
        ("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
    ]
    assert answer.ephemeral and "I'll DM you in 3 days" in answer.text
    assert labels(answer) == ["Ask for help privately", "Find a commute call", "Not now"]
    assert [s.status for s in await stored(c, c.alice)] == ["stuck"]


async def test_a_checkin_behind_a_locked_database_is_deferred_then_answered(community: Community) -> None:
    """Discord wants an answer within 3 seconds: when recording takes long (another process holds the write lock),
    the member sees "thinking…" first, and the answer replaces it once the check-in is stored."""
    c = community
    callback = ("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
    before = len(c.twin.requests)
    other = sqlite3.connect(c.database_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # Porchlight's BEGIN IMMEDIATE now waits (its busy timeout is 5 s)

    async def release(_: Any) -> None:  # once Discord has the deferral
        other.execute("ROLLBACK")

    c.twin.faults.on_done("POST", "/interactions/*/callback", release)
    try:
        answer = await c.alice.slash("checkin", channel=c.general, status="stuck", within=10.0)
    finally:
        other.close()
    assert isinstance(answer, MessageView) and "I'll DM you in 3 days" in answer.text
    assert [(r.method, r.route) for r in c.twin.requests[before:]] == [
        callback,
        ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"),  # the "thinking…" replaced
    ]
    assert [s.status for s in await stored(c, c.alice)] == ["stuck"]


async def test_stuck_offers_asking_privately_a_call_and_not_now(community: Community) -> None:
    c = community
    answer = await checkin(c, c.alice, "Stuck", note="Forty applications, two replies")
    assert answer.ephemeral
    assert "asking for help" in answer.text
    assert "I'll DM you in 3 days" in answer.text
    assert labels(answer) == ["Ask for help privately", "Find a commute call", "Not now"]
    assert [b["custom_id"] for b in answer.buttons] == ["checkin:ask:none", "checkin:mentors", "checkin:dismiss"]
    assert button(answer, "Ask for help privately")["style"] == GREY


async def test_in_a_rut_offers_the_same_way_forward(community: Community) -> None:
    c = community
    answer = await checkin(c, c.bob, "In a rut")
    assert "a rut is not a verdict" in answer.text
    assert labels(answer) == ["Ask for help privately", "Find a commute call", "Not now"]


async def test_second_stuck_in_a_row_says_so_gently_and_leads_with_a_primary_help_button(community: Community) -> None:
    c = community
    await checkin(c, c.alice, "Stuck")
    again = await checkin(c, c.alice, "In a rut")
    assert "second check-in in a row" in again.text
    assert labels(again)[0] == "Ask for help privately"
    assert button(again, "Ask for help privately")["style"] == BLUE


async def test_hired_congratulates_and_points_at_mentor_signup(community: Community) -> None:
    c = community
    answer = await checkin(c, c.carol, "Hired")
    assert "Congratulations" in answer.text
    assert "/mentor signup" in answer.text
    assert "coming" not in answer.text and "arriving" not in answer.text  # /mentor is registered now
    assert answer.buttons == []


async def test_not_now_edits_the_reply_to_a_kind_line_without_buttons(community: Community) -> None:
    c = community
    answer = await checkin(c, c.alice, "Stuck")
    await c.alice.click(answer, "Not now")
    assert "No problem" in answer.text
    assert answer.buttons == []


async def test_answers_buttons_work_while_discord_py_keeps_no_view_for_them(community: Community) -> None:
    """The buttons are DynamicItems, routed by custom id: discord.py keeps neither the answers' views (it would,
    15 minutes each, for an ephemeral answer's dispatchable view) nor a task per view."""
    c = community

    def live_views() -> list[discord.ui.View]:
        gc.collect()
        return [o for o in gc.get_objects() if isinstance(o, discord.ui.View)]

    before = weakref.WeakSet(live_views())  # whatever else this process holds (earlier tests' leftovers)
    answers = [await checkin(c, person, "Stuck") for person in (c.alice, c.bob, c.carol)]
    assert all(len(a.buttons) == 3 for a in answers)
    assert [view for view in live_views() if view not in before] == []
    await c.bob.click(answers[1], "Not now")
    assert "No problem" in answers[1].text and answers[1].buttons == []


async def test_help_button_opens_the_help_form_and_call_button_answers(community: Community) -> None:
    c = community
    answer = await checkin(c, c.alice, "Stuck")
    ask = await c.alice.click(answer, "Ask for help privately")
    assert type(ask).__name__ == "Modal" and ask.title == "Ask for help privately"
    call = await c.alice.click(answer, "Find a commute call")
    assert call.ephemeral and "No mentor is taking calls" in call.text  # none signed up in this test


async def test_note_over_the_limit_is_refused_with_what_to_do_and_nothing_is_stored(community: Community) -> None:
    c = community
    answer = await checkin(c, c.alice, "Stuck", note="x" * (NOTE_LIMIT + 25))
    assert answer.ephemeral
    assert "at most 1,000" in answer.text and "Shorten it by 25" in answer.text
    assert await stored(c, c.alice) == []
    assert c.alice.dms() == []
    c.clock.advance(days=4)  # no follow-up was scheduled either
    await c.run_jobs()
    assert c.alice.dms() == []


# --- follow-up DMs -------------------------------------------------------------------------------------------------


async def test_followup_dm_arrives_after_followup_days_and_one_double_press_records_one_checkin(
    community: Community,
) -> None:
    c = community
    await checkin(c, c.alice, "Stuck")
    c.clock.advance(days=3, minutes=-1)
    await c.run_jobs()
    assert c.alice.dms() == []
    c.clock.advance(minutes=1)
    await c.run_jobs()
    [dm] = c.alice.dms()
    assert "How is it going now?" in dm.text and c.guild.name in dm.text
    assert labels(dm) == ["On track", "Stuck", "In a rut", "Hired"]
    assert dm.buttons[0]["custom_id"] == f"checkin:status:{c.guild.id}:on_track:followup"

    await asyncio.gather(c.alice.click(dm, "On track"), c.alice.click(dm, "On track"))
    records = await stored(c, c.alice)
    assert [(r.status, r.source) for r in records] == [("on_track", "followup"), ("stuck", "command")]
    assert records[0].dedupe_key == f"{dm.id}:{c.alice.id}"
    assert "Checked in" in dm.text and "On track" in dm.text
    assert all(b.get("disabled") for b in dm.buttons)


async def test_a_newer_checkin_before_the_followup_supersedes_it(community: Community) -> None:
    c = community
    await checkin(c, c.alice, "Stuck")
    c.clock.advance(days=1)
    await checkin(c, c.alice, "On track")
    c.clock.advance(days=5)
    await c.run_jobs()
    assert c.alice.dms() == []

    await checkin(c, c.bob, "Stuck")
    c.clock.advance(days=2)
    await checkin(c, c.bob, "In a rut")  # replaces the first follow-up: due 3 days after this one
    c.clock.advance(days=1)
    await c.run_jobs()
    assert c.bob.dms() == []
    c.clock.advance(days=2)
    await c.run_jobs()
    assert len(c.bob.dms()) == 1


async def test_hired_cancels_pending_followups(community: Community) -> None:
    c = community
    await checkin(c, c.alice, "Stuck")
    await checkin(c, c.alice, "Hired")
    c.clock.advance(days=10)
    await c.run_jobs()
    assert c.alice.dms() == []


async def test_followup_button_works_after_a_restart(community: Community) -> None:
    c = community
    await checkin(c, c.alice, "In a rut")
    c.clock.advance(days=3)
    await c.run_jobs()
    [dm] = c.alice.dms()
    await c.restart()
    await c.alice.click(dm, "Stuck")
    assert [r.status for r in await stored(c, c.alice)] == ["stuck", "rut"]
    assert "Checked in" in dm.text
    # The offer comes with it, and its buttons answer after the restart too: from the DM, the help form opens for
    # the right server and its submission opens her private thread there.
    assert "Ask for help privately" in labels(dm)
    form = await c.alice.click(dm, "Ask for help privately")
    assert isinstance(form, Modal)
    opened = await final_answer(
        await c.alice.submit_modal(
            form, {"Topic": ["networking"], "What's going on?": "No replies from anyone I message on LinkedIn."}
        )
    )
    assert opened.ephemeral
    [thread] = [t for t in c.guild.threads() if t.name.startswith("help-")]
    assert thread.type == 12 and set(thread.members) == {c.alice.id, c.app.bot.id}
    # "Find a commute call" in the DM points at this server's roster, where every card can be booked.
    calls = await c.alice.click(dm, "Find a commute call")
    assert f"<#{c.roster.id}>" in calls.text and "Book a call" in calls.text


# --- /checkin-history -----------------------------------------------------------------------------------------------


async def test_history_shows_timestamps_notes_trend_and_streak_only_to_the_member(community: Community) -> None:
    c = community
    await checkin(c, c.alice, "Stuck", note="Rejected after the final round")
    c.clock.advance(days=7)
    await checkin(c, c.alice, "In a rut")
    c.clock.advance(days=7)
    await checkin(c, c.alice, "On track", note="Two interviews booked")
    history = await c.alice.slash("checkin-history", channel=c.general)
    assert history.ephemeral
    text = history.text
    assert "Rejected after the final round" in text and "Two interviews booked" in text
    assert len(re.findall(r"<t:\d+:f>", text)) == 3
    assert "▂▄▆" in text
    assert "3 weeks in a row" in text
    c.twin.assert_only_visible_to("Two interviews booked", allowed=[c.alice])
    # Beside the text sparkline, a small chart of the same trend, in the embed and only for her.
    [chart] = history.attachments
    assert chart.filename == "checkin-trend.png" and chart.description
    assert chart.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", chart.data[16:24]) == (400, 160)
    assert history.embeds[0]["image"]["url"] == "attachment://checkin-trend.png"


async def test_history_with_one_checkin_has_no_chart(community: Community) -> None:
    c = community
    await checkin(c, c.alice, "Stuck")
    history = await c.alice.slash("checkin-history", channel=c.general)
    assert "Stuck" in history.text
    assert history.attachments == []


async def test_history_before_any_checkin_says_how_to_start(community: Community) -> None:
    history = await community.bob.slash("checkin-history", channel=community.general)
    assert "No check-ins yet" in history.text


# --- /pulse ---------------------------------------------------------------------------------------------------------


async def test_pulse_is_refused_for_a_plain_member_with_who_can_use_it(community: Community) -> None:
    c = community
    refusal = await c.alice.slash("pulse", channel=c.general)
    assert refusal.ephemeral
    assert "Helpers" in refusal.text and "Mods" in refusal.text and "Manage Server" in refusal.text
    assert refusal.embeds == []


async def test_pulse_never_shows_a_count_under_three(community: Community) -> None:
    c = community
    for person in (c.alice, c.bob):
        await checkin(c, person, "Stuck")
    for person in (c.carol, c.dave, c.admin):
        await checkin(c, person, "On track")
    for viewer in (c.helper, c.mod, c.admin):
        pulse = await viewer.slash("pulse", channel=c.general)
        assert pulse.ephemeral
        [embed] = pulse.embeds
        values = [line.split(": ", 1)[1] for field in embed["fields"] for line in field["value"].splitlines()]
        assert values, "the pulse shows counts"
        for value in values:
            assert value == "fewer than 3" or int(value) >= 3, value
        this_week = embed["fields"][0]["value"]
        assert "On track: 3" in this_week and "Stuck: fewer than 3" in this_week
        assert "Members who checked in: 5" in this_week


# --- share_with_helpers and "I'll reach out" ------------------------------------------------------------------------


async def test_share_with_helpers_posts_a_nameless_notice_with_the_agreed_note(community: Community) -> None:
    c = community
    note = "Could someone look at how I pitch my career change?"
    answer = await checkin(c, c.alice, "Stuck", note=note, share_with_helpers=True)
    assert "without your name" in answer.text and "note will be shown to the helpers" in answer.text
    [notice] = queue_messages(c)
    assert "A member would welcome a reach-out" in notice.text
    assert note in notice.text
    assert "alice" not in notice.text.casefold() and str(c.alice.id) not in notice.text
    assert labels(notice) == ["I'll reach out"]
    # Not shared: another member's note never reaches the queue.
    await checkin(c, c.bob, "Stuck", note="private worry")
    assert len(queue_messages(c)) == 1
    c.twin.assert_only_visible_to("private worry", allowed=[c.bob])


async def test_share_without_a_note_shows_no_note_and_on_track_shares_nothing(community: Community) -> None:
    c = community
    answer = await checkin(c, c.alice, "In a rut", share_with_helpers=True)
    assert "note will be shown" not in answer.text
    [notice] = queue_messages(c)
    assert "In their words" not in notice.text
    fine = await checkin(c, c.bob, "On track", note="fine really", share_with_helpers=True)
    assert "nothing was sent to the helpers" in fine.text
    assert len(queue_messages(c)) == 1


async def test_ill_reach_out_opens_a_private_thread_with_the_member_and_that_helper_only(community: Community) -> None:
    c = community
    await checkin(c, c.alice, "Stuck", note="Interview nerves", share_with_helpers=True)
    [notice] = queue_messages(c)
    refused = await c.mod.click(notice, "I'll reach out")
    assert refused.ephemeral and "helper role" in refused.text

    answers = await asyncio.gather(c.helper.click(notice, "I'll reach out"), c.helper2.click(notice, "I'll reach out"))
    texts = sorted(a.text for a in answers)
    assert any("already took this one" in t for t in texts)
    assert any("private thread is open" in t for t in texts)
    [thread] = threads_named(c, "reach-out-")
    assert thread.parent_id == c.help.id and thread.invitable is False
    taker = c.helper if any(c.helper.id == uid for uid in thread.members) else c.helper2
    assert set(thread.members) == {c.app.bot.id, c.alice.id, taker.id}
    [opening] = [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(thread.id)]
    assert "Who can see it" in opening.text and "Manage Threads" in opening.text
    assert "<@&" not in opening.text  # never a role inside a private thread
    assert "Interview nerves" in opening.text
    # The queue notice now says who took it, without the note, and cannot be taken again.
    assert f"Taken by <@{taker.id}>" in notice.text and "Interview nerves" not in notice.text
    assert all(b.get("disabled") for b in notice.buttons)
    # Only the member, the helper who took it, and staff with Manage Threads (maya, the owner) see the thread.
    c.twin.assert_only_visible_to("Interview nerves", allowed=[c.alice, c.helper, c.helper2, c.mod, c.admin])
    other = c.helper2 if taker == c.helper else c.helper
    assert not any(v.where.startswith("private thread") for v in c.twin.visible_to(other))
    for person in (c.bob, c.carol, c.dave):
        assert not any("reach-out" in v.where for v in c.twin.visible_to(person))


async def test_reach_out_button_works_after_a_restart(community: Community) -> None:
    c = community
    await checkin(c, c.bob, "In a rut", share_with_helpers=True)
    [notice] = queue_messages(c)
    await c.restart()
    taken = await c.helper.click(notice, "I'll reach out")
    assert "private thread is open" in taken.text
    assert len(threads_named(c, "reach-out-")) == 1


# --- privacy ----------------------------------------------------------------------------------------------------------


async def test_a_week_of_checkins_shows_nobody_anything_of_anyone_else(community: Community) -> None:
    c = community
    week: dict[Person, list[str | None]] = {  # None: no check-in that day (follow-ups then come due)
        c.alice: ["Stuck", "In a rut", None, None, None, "On track"],
        c.bob: ["On track", "Stuck", None, "Hired"],
        c.carol: ["In a rut", None, None, None, "In a rut", "On track"],
        c.dave: ["Stuck", None, None, None, None, None, "Stuck"],
    }
    notes: dict[Person, list[str]] = {person: [] for person in week}
    for day in range(7):
        for person, statuses in week.items():
            status = statuses[day] if day < len(statuses) else None
            if status is not None:
                note = f"{person.name}-day{day}-secret"
                notes[person].append(note)
                await checkin(c, person, status, note=note)
        c.clock.advance(days=1)
        await c.run_jobs()  # follow-up DMs arrive along the way
    assert c.alice.dms() and c.carol.dms() and c.dave.dms(), "follow-up DMs were part of the week"
    await c.dave.click(c.dave.dms()[0], "In a rut")
    for person, written in notes.items():
        for note in written:
            c.twin.assert_only_visible_to(note, allowed=[person])
    status_words = ("On track", "Stuck", "In a rut", "Hired")
    for viewer in c.members:
        for record in c.twin.visible_to(viewer):
            if record.where in ("ephemeral", "DM"):
                continue  # the viewer's own ephemeral replies and DMs
            assert not any(word in record.text for word in status_words), (viewer.name, record)
            for person in week:
                if person != viewer:
                    assert person.mention not in record.text and person.name not in record.text


# --- closed DMs -------------------------------------------------------------------------------------------------------


async def test_closed_dms_are_recorded_paused_after_three_and_told_once_on_the_next_command(
    community: Community,
) -> None:
    c = community
    await c.alice.slash("reminders checkin", channel=c.general, every="daily", time="10:00", timezone="UTC")
    c.twin.close_dms(c.alice)
    assert c.bot is not None
    for _ in range(3):
        c.clock.advance(days=1)
        await c.run_jobs()
    delivery = await store.get_dm_delivery(c.bot.db.conn, c.alice.id)
    assert delivery is not None and delivery.consecutive_failures == 3
    schedule = await store.get_reminder_schedule(c.bot.db.conn, c.guild.id, c.alice.id)
    assert schedule is not None and schedule.paused
    c.clock.advance(days=1)
    report = await c.run_jobs()
    assert report.total == 0  # paused: no more attempts

    answer = await c.alice.slash("checkin-history", channel=c.general)
    await eventually(lambda: bool(answer.followups))
    [notice] = answer.followups
    assert notice.ephemeral and "DMs look closed" in notice.text and "Privacy Settings" in notice.text
    assert "paused your check-in reminders" in notice.text
    again = await c.alice.slash("reminders show", channel=c.general)
    assert "paused" in again.text
    taken = await store.get_dm_delivery(c.bot.db.conn, c.alice.id)
    assert taken is not None and not taken.notice_pending  # told once: the notice was taken by the first command
    assert again.followups == []
    c.twin.assert_only_visible_to("DMs look closed", allowed=[c.alice])
    assert c.alice.dms() == []


async def test_a_closed_dm_for_a_followup_is_told_after_a_failing_command_too(community: Community) -> None:
    c = community
    await checkin(c, c.bob, "Stuck")
    c.twin.close_dms(c.bob)
    c.clock.advance(days=3)
    await c.run_jobs()
    refused = await c.bob.slash("reminders checkin", channel=c.general, every="daily", time="25:00", timezone="UTC")
    assert "hour runs from 0 to 23" in refused.text
    await eventually(lambda: bool(refused.followups))
    assert "DMs look closed" in refused.followups[0].text
    c.twin.assert_only_visible_to("DMs look closed", allowed=[c.bob])


# --- reminders ------------------------------------------------------------------------------------------------------


async def test_reminder_dm_arrives_at_local_time_and_its_button_records_a_checkin(community: Community) -> None:
    c = community
    # Monday 23 Nov 2026, 09:00 UTC = 10:00 in Berlin; the next weekday 09:00 Berlin is Tuesday 08:00 UTC.
    answer = await c.alice.slash(
        "reminders checkin", channel=c.general, every="weekdays", time="09:00", timezone="Europe/Berlin"
    )
    assert answer.ephemeral and "Every weekday" in answer.text
    due = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert f"<t:{int(due.timestamp())}:F>" in answer.text
    c.clock.set(due - timedelta(minutes=1))
    await c.run_jobs()
    assert c.alice.dms() == []
    c.clock.set(due)
    await c.run_jobs()
    [dm] = c.alice.dms()
    assert "Time for your check-in" in dm.text
    assert labels(dm) == ["On track", "Stuck", "In a rut", "Hired"]
    await c.alice.click(dm, "In a rut")
    [record] = await stored(c, c.alice)
    assert (record.status, record.source) == ("rut", "reminder")
    # The next one is Wednesday 09:00 Berlin.
    c.clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    await c.run_jobs()
    first, second = c.alice.dms()
    assert "Checked in" in first.text and "Time for your check-in" in second.text


async def test_a_reminder_due_with_a_followup_gives_way_to_it(community: Community) -> None:
    c = community
    assert c.bot is not None
    # Monday 23 Nov 2026 09:00 UTC: stuck, so the follow-up comes Thursday 09:00 UTC. Reminders every day at 10:00
    # in Berlin (09:00 UTC): Tuesday's comes alone; Wednesday's is missed (the bot was down) and caught up on
    # Thursday, together with Thursday's and the follow-up: one DM, the follow-up.
    await checkin(c, c.alice, "stuck")
    await c.alice.slash("reminders checkin", channel=c.general, every="daily", time="10:00", timezone="Europe/Berlin")
    c.clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    await c.run_jobs()
    [tuesday] = c.alice.dms()
    assert "Time for your check-in" in tuesday.text
    c.clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    await c.run_jobs()
    later = c.alice.dms()[1:]
    assert [m.text.split("**")[0] for m in later] == ["Hi — Porchlight here, from "], [m.text for m in later]
    assert "A few days ago you checked in" in later[0].text
    assert labels(later[0]) == ["On track", "Stuck", "In a rut", "Hired"]
    # The reminders go on: the next one is Friday, 10:00 in Berlin.
    [job] = await jobs_store.pending(c.bot.db.conn, kind=REMINDER_JOB, user_id=c.alice.id)
    assert job.due_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    # Nobody else was told anything.
    assert all(p.dms() == [] for p in c.members if p is not c.alice)


async def test_reminders_bad_input_says_what_to_type_and_stores_nothing(community: Community) -> None:
    c = community
    cases: list[tuple[dict[str, Any], str]] = [
        ({"every": "daily", "time": "09:00", "timezone": "Mars/Olympus"}, "Europe/Berlin"),
        ({"every": "daily", "time": "nine-ish", "timezone": "Europe/Berlin"}, "HH:MM"),
        ({"every": "weekly", "time": "09:00", "timezone": "Europe/Berlin"}, "day:Monday"),
    ]
    assert c.bot is not None
    for options, hint in cases:
        answer = await c.alice.slash("reminders checkin", channel=c.general, **options)
        assert answer.ephemeral
        assert hint in answer.text, answer.text
    assert await store.get_reminder_schedule(c.bot.db.conn, c.guild.id, c.alice.id) is None


async def test_timezone_autocomplete_offers_iana_names_for_a_city(community: Community) -> None:
    c = community
    choices = await c.alice.autocomplete(
        "reminders checkin", "timezone", "berl", channel=c.general, every="daily", time="09:00"
    )
    assert "Europe/Berlin" in [choice["value"] for choice in choices]


async def test_reminders_show_and_off(community: Community) -> None:
    c = community
    none = await c.alice.slash("reminders show", channel=c.general)
    assert "no check-in reminders" in none.text
    await c.alice.slash("reminders checkin", channel=c.general, every="weekly", time="18:30", timezone="Sydney", day=4)
    shown = await c.alice.slash("reminders show", channel=c.general)
    assert "Every Friday at 18:30 (Australia/Sydney)" in shown.text and "<t:" in shown.text
    off = await c.alice.slash("reminders off", channel=c.general)
    assert "off" in off.text
    c.clock.advance(days=8)
    await c.run_jobs()
    assert c.alice.dms() == []


async def test_a_reach_out_whose_checkin_was_deleted_answers_the_helper_instead_of_failing_silently(
    community: Community,
) -> None:
    c = community
    await checkin(c, c.alice, "Stuck", share_with_helpers=True)
    [notice] = queue_messages(c)
    assert c.bot is not None
    await c.bot.services.checkins.delete_member(c.guild.id, c.alice.id)  # /privacy delete, in effect
    answer = await c.helper.click(notice, "I'll reach out")
    assert answer.ephemeral and "no longer available" in answer.text
    assert threads_named(c, "reach-out-") == []
