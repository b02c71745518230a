"""ReminderService on a real database and the real job dispatcher, with a pinned clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.checkins import FOLLOWUP_JOB
from services.jobs import JobDispatcher, JobKind
from services.reminders import GIVE_WAY_WITHIN, REMINDER_JOB, BadTime, MissingWeekday
from services.timezones import UnknownTimezone
from storage import checkins as store
from storage import jobs as jobs_store
from storage.jobs import Job
from tests.services.conftest import ALICE, BOB, GUILD, World


async def _pending(world: World, user_id: int | None = None) -> list[Job]:
    return await jobs_store.pending(world.db.conn, kind=REMINDER_JOB, user_id=user_id)


async def test_set_stores_schedule_and_schedules_next_local_occurrence(world: World) -> None:
    view = await world.reminders.set(GUILD, ALICE, "daily", "8:00", "Berlin")
    assert view.schedule.timezone == "Europe/Berlin"
    assert view.schedule.local_time == "08:00"
    assert view.next_at == datetime(2026, 6, 2, 6, 0, tzinfo=UTC)  # 08:00 CEST tomorrow; 12:00 today has passed
    assert view.text == "Every day at 08:00 (Europe/Berlin)"
    [job] = await _pending(world, ALICE)
    assert job.due_at == view.next_at
    assert job.payload == {}  # ids only


async def test_setting_again_replaces_the_pending_reminder(world: World) -> None:
    await world.reminders.set(GUILD, ALICE, "daily", "8:00", "Berlin")
    view = await world.reminders.set(GUILD, ALICE, "weekly", "19:05", "America/New_York", "Friday")
    [job] = await _pending(world, ALICE)
    assert job.due_at == view.next_at == datetime(2026, 6, 5, 23, 5, tzinfo=UTC)
    assert view.schedule.weekday == 4


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("daily", "25:00", "Berlin"), BadTime),
        (("daily", "8:00", "Atlantis"), UnknownTimezone),
        (("weekly", "8:00", "Berlin"), MissingWeekday),
    ],
)
async def test_bad_input_stores_and_schedules_nothing(world: World, args: tuple[str, str, str], error: type) -> None:
    with pytest.raises(error):
        await world.reminders.set(GUILD, ALICE, *args)
    assert await store.get_reminder_schedule(world.db.conn, GUILD, ALICE) is None
    assert await _pending(world) == []


async def test_off_deletes_schedule_and_cancels_job(world: World) -> None:
    await world.reminders.set(GUILD, ALICE, "weekdays", "7:30am", "Europe/Berlin")
    assert await world.reminders.off(GUILD, ALICE) is True
    assert await world.reminders.show(GUILD, ALICE) is None
    assert await _pending(world) == []
    assert await world.reminders.off(GUILD, ALICE) is False


async def test_reminder_fires_and_schedules_the_next_one_from_its_due_time(world: World) -> None:
    await world.reminders.set(GUILD, ALICE, "daily", "08:00", "Europe/Berlin")
    world.clock.set(datetime(2026, 6, 2, 6, 0, 30, tzinfo=UTC))  # 30 s late
    report = await world.dispatcher.run_due()
    assert report.ran == 1
    [job] = await _pending(world, ALICE)
    assert job.due_at == datetime(2026, 6, 3, 6, 0, tzinfo=UTC)


async def test_missed_reminders_during_downtime_are_caught_up_once(world: World) -> None:
    await world.reminders.set(GUILD, ALICE, "daily", "08:00", "Europe/Berlin")
    # The bot is down from Monday until Friday noon: four 08:00s pass.
    world.clock.set(datetime(2026, 6, 5, 10, 0, tzinfo=UTC))
    first = await world.dispatcher.run_due()
    again = await world.dispatcher.run_due()
    assert (first.ran, again.total) == (1, 0)
    assert len(world.reminders_sent) == 1
    [job] = await _pending(world, ALICE)
    assert job.due_at == datetime(2026, 6, 6, 6, 0, tzinfo=UTC)  # Saturday 08:00, not Wednesday's

    # A restart (a new dispatcher on the same file) sends nothing more.
    restarted = JobDispatcher(world.db, world.clock, worker="restarted")

    async def handler(job: Job) -> None:
        world.reminders_sent.append(job)
        await world.reminders.on_reminder_sent(job)

    restarted.register(JobKind(REMINDER_JOB, handler))
    assert (await restarted.run_due()).total == 0
    assert len(world.reminders_sent) == 1


async def test_rearm_restores_a_schedule_whose_job_was_lost(world: World) -> None:
    await world.reminders.set(GUILD, ALICE, "daily", "08:00", "Europe/Berlin")
    await world.reminders.set(GUILD, BOB, "daily", "09:00", "Europe/Berlin")
    await world.dispatcher.cancel(kind=REMINDER_JOB, user_id=ALICE)  # e.g. skipped as too late, or failed
    assert await world.reminders.rearm() == 1
    assert await world.reminders.rearm() == 0
    assert [j.user_id for j in await _pending(world)] == [ALICE, BOB]


async def test_three_dm_failures_in_a_row_pause_reminders_in_every_server(world: World) -> None:
    await world.reminders.set(GUILD, ALICE, "daily", "08:00", "Europe/Berlin")
    await world.reminders.set(GUILD + 1, ALICE, "weekdays", "09:00", "Europe/Berlin")
    outcomes = [await world.reminders.record_dm_failure(ALICE) for _ in range(3)]
    assert [(o.consecutive_failures, o.paused) for o in outcomes] == [(1, False), (2, False), (3, True)]
    assert await _pending(world, ALICE) == []
    view = await world.reminders.show(GUILD, ALICE)
    assert view is not None and view.schedule.paused and view.next_at is None
    assert "paused" in view.text
    # The paused schedule does not come back by itself, not even through rearm.
    assert await world.reminders.rearm() == 0
    # Setting reminders again resumes them.
    resumed = await world.reminders.set(GUILD, ALICE, "daily", "08:00", "Europe/Berlin")
    assert not resumed.schedule.paused
    assert len(await _pending(world, ALICE)) == 1


async def test_a_successful_dm_resets_the_run_of_failures(world: World) -> None:
    await world.reminders.set(GUILD, ALICE, "daily", "08:00", "Europe/Berlin")
    await world.reminders.record_dm_failure(ALICE)
    await world.reminders.record_dm_failure(ALICE)
    await world.reminders.record_dm_success(ALICE)
    outcome = await world.reminders.record_dm_failure(ALICE)
    assert (outcome.consecutive_failures, outcome.paused) == (1, False)


async def test_closed_dm_notice_is_given_once_with_how_to_open_dms(world: World) -> None:
    assert await world.reminders.pending_notice(ALICE) is None
    await world.reminders.record_dm_failure(ALICE)
    notice = await world.reminders.pending_notice(ALICE)
    assert notice is not None
    assert "Privacy Settings" in notice and "Direct Messages" in notice
    assert "paused" not in notice
    assert await world.reminders.pending_notice(ALICE) is None


async def test_notice_after_pause_says_reminders_are_paused_even_if_a_later_dm_worked(world: World) -> None:
    await world.reminders.set(GUILD, ALICE, "daily", "08:00", "Europe/Berlin")
    for _ in range(3):
        await world.reminders.record_dm_failure(ALICE)
    await world.reminders.record_dm_success(ALICE)  # e.g. a follow-up got through later
    notice = await world.reminders.pending_notice(ALICE)
    assert notice is not None and "paused your check-in reminders" in notice


async def test_a_successful_dm_clears_a_stale_notice_when_nothing_is_paused(world: World) -> None:
    await world.reminders.record_dm_failure(BOB)
    await world.reminders.record_dm_success(BOB)
    assert await world.reminders.pending_notice(BOB) is None


async def test_on_reminder_sent_does_nothing_for_a_paused_or_deleted_schedule(world: World) -> None:
    await world.reminders.set(GUILD, ALICE, "daily", "08:00", "Europe/Berlin")
    [job] = await _pending(world, ALICE)
    await world.reminders.off(GUILD, ALICE)
    assert await world.reminders.on_reminder_sent(job) is None
    assert await _pending(world) == []
    assert job.due_at > world.clock.now() - timedelta(days=1)


# --- a reminder gives way to a follow-up ------------------------------------------------------------------------------


async def _reminder_and_followup(world: World, guild_id: int = GUILD) -> tuple[Job, Job]:
    await world.checkins.record(guild_id, ALICE, "stuck")  # a follow-up in followup_days (3)
    await world.reminders.set(guild_id, ALICE, "daily", "12:00", "UTC")
    [followup] = await jobs_store.pending(world.db.conn, kind=FOLLOWUP_JOB, user_id=ALICE, guild_id=guild_id)
    [reminder] = await jobs_store.pending(world.db.conn, kind=REMINDER_JOB, user_id=ALICE, guild_id=guild_id)
    return reminder, followup


async def test_a_reminder_gives_way_to_a_followup_due_within_the_hour_or_overdue(world: World) -> None:
    reminder, followup = await _reminder_and_followup(world)
    assert followup.due_at - world.clock.now() == timedelta(days=3)
    assert not await world.reminders.gives_way(reminder)  # days away: the reminder asks
    world.clock.set(followup.due_at - GIVE_WAY_WITHIN - timedelta(seconds=1))
    assert not await world.reminders.gives_way(reminder)
    world.clock.set(followup.due_at - GIVE_WAY_WITHIN)
    assert await world.reminders.gives_way(reminder)
    world.clock.set(followup.due_at + timedelta(days=2))  # both overdue after downtime: one DM, the follow-up
    assert await world.reminders.gives_way(reminder)


async def test_a_reminder_gives_way_to_a_followup_sent_in_the_last_hour(world: World) -> None:
    reminder, followup = await _reminder_and_followup(world)
    world.clock.set(followup.due_at)
    await world.dispatcher.run_due()  # the follow-up (and the reminder due before it) run
    assert [j.id for j in world.followups_sent] == [followup.id]
    assert await world.reminders.gives_way(reminder)
    world.clock.advance(minutes=59)
    assert await world.reminders.gives_way(reminder)
    world.clock.advance(minutes=2)
    assert not await world.reminders.gives_way(reminder)


async def test_a_reminder_does_not_give_way_to_another_servers_followup_or_a_superseded_one(world: World) -> None:
    other = GUILD + 1
    reminder, followup = await _reminder_and_followup(world)
    await world.checkins.record(other, ALICE, "stuck")  # a follow-up elsewhere, due at the same moment
    await world.reminders.set(other, BOB, "daily", "12:00", "UTC")
    [bobs] = await jobs_store.pending(world.db.conn, kind=REMINDER_JOB, user_id=BOB)
    world.clock.set(followup.due_at)
    assert await world.reminders.gives_way(reminder)
    assert not await world.reminders.gives_way(bobs)  # Bob has no follow-up there
    await world.checkins.record(GUILD, ALICE, "hired")  # supersedes (cancels) her follow-up here
    assert not await world.reminders.gives_way(reminder)
