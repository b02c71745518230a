"""CheckinService on a real database and the real job dispatcher, with a pinned clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.checkins import (
    FEWER_THAN,
    FOLLOWUP_JOB,
    NoteTooLong,
    Pulse,
    ReplyKind,
    Source,
    Status,
    safe_count,
    sparkline,
)
from storage import checkins as store
from storage import guilds
from storage import jobs as jobs_store
from storage.jobs import Job
from tests.services.conftest import ALICE, BOB, CARA, DEV, GUILD, START, World


async def _followups(world: World, user_id: int = ALICE) -> list[Job]:
    return await jobs_store.pending(world.db.conn, kind=FOLLOWUP_JOB, user_id=user_id)


async def _count(world: World) -> int:
    async with world.db.conn.execute("SELECT COUNT(*) FROM checkins") as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(
    ("status", "kind", "says"),
    [
        (Status.ON_TRACK, ReplyKind.ACKNOWLEDGE, "Good to hear"),
        (Status.STUCK, ReplyKind.OFFER_HELP, "asking for help"),
        (Status.RUT, ReplyKind.OFFER_HELP, "asking for help"),
        (Status.HIRED, ReplyKind.CONGRATULATE_AND_OFFER_MENTORING, "/mentor signup"),
    ],
)
async def test_each_status_gets_its_own_reply(world: World, status: Status, kind: ReplyKind, says: str) -> None:
    outcome = await world.checkins.record(GUILD, ALICE, status.label, note=None)
    assert outcome.reply is kind
    assert says in outcome.message
    assert outcome.checkin.status == status.value and not outcome.duplicate


async def test_two_stuck_check_ins_in_a_row_say_so_gently(world: World) -> None:
    await world.checkins.record(GUILD, ALICE, Status.RUT)
    world.clock.advance(days=1)
    outcome = await world.checkins.record(GUILD, ALICE, Status.STUCK)
    assert outcome.reply is ReplyKind.OFFER_HELP_AGAIN
    assert "second check-in in a row" in outcome.message
    world.clock.advance(days=1)
    await world.checkins.record(GUILD, ALICE, Status.ON_TRACK)
    world.clock.advance(days=1)
    assert (await world.checkins.record(GUILD, ALICE, Status.STUCK)).reply is ReplyKind.OFFER_HELP


async def test_double_pressed_status_button_records_one_check_in(world: World) -> None:
    key = "msg:555:user:11"
    first = await world.checkins.record(GUILD, ALICE, Status.STUCK, source=Source.FOLLOWUP, dedupe_key=key)
    second = await world.checkins.record(GUILD, ALICE, Status.STUCK, source=Source.FOLLOWUP, dedupe_key=key)
    assert await _count(world) == 1
    assert second.duplicate and second.checkin.id == first.checkin.id
    assert second.reply is first.reply is ReplyKind.OFFER_HELP  # the same answer, not "two in a row"
    [job] = await _followups(world)
    assert job.due_at == first.followup_due_at


async def test_same_dedupe_key_from_another_member_is_their_own_check_in(world: World) -> None:
    await world.checkins.record(GUILD, ALICE, Status.STUCK, dedupe_key="k")
    other = await world.checkins.record(GUILD, BOB, Status.ON_TRACK, dedupe_key="k")
    assert not other.duplicate and other.checkin.user_id == BOB
    assert await _count(world) == 2


async def test_stuck_schedules_a_follow_up_after_the_guild_setting(world: World) -> None:
    await guilds.update_settings(world.db.conn, guild_id=GUILD, changes={"followup_days": 5}, now=START)
    outcome = await world.checkins.record(GUILD, ALICE, Status.STUCK, note="  no replies in weeks  ")
    assert outcome.followup_due_at == START + timedelta(days=5)
    assert "in 5 days" in outcome.message
    assert outcome.checkin.note == "no replies in weeks"
    [job] = await _followups(world)
    assert job.due_at == START + timedelta(days=5)
    assert job.payload == {"checkin_id": outcome.checkin.id}  # ids only, never the note
    assert job.guild_id == GUILD


async def test_follow_up_defaults_to_three_days_and_arrives_then(world: World) -> None:
    outcome = await world.checkins.record(GUILD, ALICE, Status.RUT)
    assert outcome.followup_due_at == START + timedelta(days=3)
    world.clock.advance(days=2, hours=23)
    await world.dispatcher.run_due()
    assert world.followups_sent == []
    world.clock.advance(hours=1)
    await world.dispatcher.run_due()
    [sent] = world.followups_sent
    target = await world.checkins.followup_target(int(sent.payload["checkin_id"]))
    assert target is not None and target.user_id == ALICE
    # The follow-up's button records a check-in, from a DM, once.
    press = await world.checkins.record(GUILD, ALICE, "on_track", source="followup", dedupe_key="dm:1:11")
    assert press.checkin.source == "followup" and press.reply is ReplyKind.ACKNOWLEDGE


async def test_newer_check_in_replaces_the_pending_follow_up(world: World) -> None:
    await world.checkins.record(GUILD, ALICE, Status.STUCK)
    world.clock.advance(days=1)
    newer = await world.checkins.record(GUILD, ALICE, Status.RUT)
    [job] = await _followups(world)
    assert job.due_at == START + timedelta(days=4) == newer.followup_due_at
    assert job.payload == {"checkin_id": newer.checkin.id}
    assert newer.followups_cancelled == 1


async def test_on_track_check_in_cancels_the_pending_follow_up(world: World) -> None:
    await world.checkins.record(GUILD, ALICE, Status.STUCK)
    outcome = await world.checkins.record(GUILD, ALICE, Status.ON_TRACK)
    assert outcome.followup_due_at is None and outcome.followups_cancelled == 1
    assert await _followups(world) == []


async def test_hired_cancels_all_pending_follow_ups(world: World) -> None:
    await world.checkins.record(GUILD, ALICE, Status.STUCK)
    await world.checkins.record(GUILD, BOB, Status.STUCK)
    outcome = await world.checkins.record(GUILD, ALICE, Status.HIRED)
    assert outcome.followups_cancelled == 1
    assert await _followups(world, ALICE) == []
    assert len(await _followups(world, BOB)) == 1  # nobody else's
    world.clock.advance(days=4)
    await world.dispatcher.run_due()
    assert [j.user_id for j in world.followups_sent] == [BOB]


async def test_note_over_1000_characters_is_refused_and_nothing_is_stored(world: World) -> None:
    with pytest.raises(NoteTooLong) as caught:
        await world.checkins.record(GUILD, ALICE, Status.STUCK, note="x" * 1001)
    message = str(caught.value)
    assert "1,001" in message and "1,000" in message and "nothing was saved" in message
    assert await _count(world) == 0
    assert await _followups(world) == []


async def test_note_of_exactly_1000_characters_after_trimming_is_kept(world: World) -> None:
    outcome = await world.checkins.record(GUILD, ALICE, Status.STUCK, note="  " + "y" * 1000 + "\n")
    assert outcome.checkin.note == "y" * 1000
    blank = await world.checkins.record(GUILD, BOB, Status.ON_TRACK, note="   ")
    assert blank.checkin.note is None


async def test_share_with_helpers_only_counts_for_stuck_or_rut(world: World) -> None:
    assert (await world.checkins.record(GUILD, ALICE, Status.STUCK, share_with_helpers=True)).share_with_helpers
    on_track = await world.checkins.record(GUILD, BOB, Status.ON_TRACK, share_with_helpers=True)
    assert not on_track.share_with_helpers and not on_track.checkin.share_with_helpers


def test_sparkline_maps_statuses_to_levels() -> None:
    assert sparkline([Status.STUCK, Status.RUT, Status.ON_TRACK, Status.HIRED]) == "▂▄▆█"
    assert sparkline([]) == ""


async def test_history_shows_last_12_with_trend_and_streak(world: World) -> None:
    statuses = [Status.STUCK, Status.RUT, Status.ON_TRACK] * 5  # 15 check-ins, one every 3 days
    for status in statuses:
        await world.checkins.record(GUILD, ALICE, status)
        world.clock.advance(days=3)
    world.clock.advance(days=-1)
    history = await world.checkins.history(GUILD, ALICE)
    assert len(history.checkins) == 12
    assert history.checkins[0].created_at > history.checkins[-1].created_at  # newest first
    assert history.sparkline == "▂▄▆" * 4
    # 15 check-ins 3 days apart, from Monday 1 June to 13 July: seven ISO weeks in a row, all with one.
    assert history.streak_weeks == 7
    assert history.week_zone == "UTC"


async def test_streak_survives_an_empty_current_week_and_breaks_on_a_gap(world: World) -> None:
    await world.checkins.record(GUILD, ALICE, Status.ON_TRACK)  # week of 1 June
    world.clock.advance(days=14)
    await world.checkins.record(GUILD, ALICE, Status.ON_TRACK)  # week of 15 June (8 June missed)
    world.clock.advance(days=7)  # week of 22 June, nothing yet
    assert (await world.checkins.history(GUILD, ALICE)).streak_weeks == 1
    world.clock.advance(days=7)
    assert (await world.checkins.history(GUILD, ALICE)).streak_weeks == 0


async def test_streak_weeks_follow_the_members_reminder_time_zone(world: World) -> None:
    # Sunday 7 June 21:00 UTC is already Monday 8 June in Auckland; the next check-in is a day later.
    for instant in (datetime(2026, 6, 7, 21, 0, tzinfo=UTC), datetime(2026, 6, 8, 21, 0, tzinfo=UTC)):
        world.clock.set(instant)
        await world.checkins.record(GUILD, ALICE, Status.ON_TRACK)
    assert (await world.checkins.history(GUILD, ALICE)).streak_weeks == 2  # UTC: weeks of 1 and 8 June
    await world.reminders.set(GUILD, ALICE, "daily", "9:00", "Auckland")
    history = await world.checkins.history(GUILD, ALICE)
    assert history.week_zone == "Pacific/Auckland"
    assert history.streak_weeks == 1  # both in the Auckland week of 8 June


def _all_values(pulse: Pulse) -> list[str]:
    values: list[str] = []
    for week in (pulse.this_week, pulse.last_week):
        values += [*week.by_status.values(), week.members, week.asked_for_reach_out]
    return values


def test_safe_count_hides_everything_under_three() -> None:
    assert [safe_count(n) for n in range(5)] == [FEWER_THAN] * 3 + ["3", "4"]


async def test_pulse_counts_this_week_against_last_and_never_shows_under_three(world: World) -> None:
    # Last week (from Monday 25 May 00:00 UTC): three stuck, one asking for a reach-out.
    world.clock.set(datetime(2026, 5, 26, 12, 0, tzinfo=UTC))
    for member in (ALICE, BOB, CARA):
        await world.checkins.record(GUILD, member, Status.STUCK, share_with_helpers=member == ALICE)
    # This week: Alice stuck then on track (counted once, as on track), Bob, Cara and Dev on track, Bob hired later.
    world.clock.set(datetime(2026, 6, 1, 0, 0, tzinfo=UTC))
    await world.checkins.record(GUILD, ALICE, Status.STUCK, share_with_helpers=True)
    world.clock.advance(hours=5)
    for member in (ALICE, BOB, CARA, DEV):
        await world.checkins.record(GUILD, member, Status.ON_TRACK)
    await world.checkins.record(GUILD + 1, BOB, Status.STUCK)  # another server: not counted here

    pulse = await world.checkins.pulse(GUILD, datetime(2026, 6, 3, tzinfo=UTC))
    assert pulse.this_week.start == datetime(2026, 6, 1, tzinfo=UTC)
    assert pulse.this_week.by_status == {
        Status.ON_TRACK: "4",
        Status.STUCK: FEWER_THAN,
        Status.RUT: FEWER_THAN,
        Status.HIRED: FEWER_THAN,
    }
    assert pulse.this_week.members == "4"
    assert pulse.this_week.asked_for_reach_out == FEWER_THAN
    assert pulse.last_week.by_status[Status.STUCK] == "3"
    assert pulse.last_week.members == "3"
    assert all(v == FEWER_THAN or int(v) >= 3 for v in _all_values(pulse))

    empty = await world.checkins.pulse(GUILD + 2)
    assert set(_all_values(empty)) == {FEWER_THAN}


async def test_export_and_delete_cover_everything_about_the_member(world: World) -> None:
    await world.checkins.record(GUILD, ALICE, Status.STUCK, note="cover letters")
    await world.checkins.record(GUILD, BOB, Status.STUCK, note="bob's note")
    await world.reminders.set(GUILD, ALICE, "daily", "8:00", "Berlin")
    await world.reminders.record_dm_failure(ALICE)

    exported = await world.checkins.export_member(GUILD, ALICE)
    text = json.dumps(exported)  # JSON-ready
    assert "cover letters" in text and "bob's note" not in text
    assert exported["reminder_schedule"] is not None and exported["dm_delivery"] is not None

    deleted = await world.checkins.delete_member(GUILD, ALICE)
    assert deleted == 3
    assert await store.recent_checkins(world.db.conn, GUILD, ALICE) == []
    assert await jobs_store.pending(world.db.conn, user_id=ALICE) == []
    assert len(await store.recent_checkins(world.db.conn, GUILD, BOB)) == 1
    assert len(await _followups(world, BOB)) == 1
