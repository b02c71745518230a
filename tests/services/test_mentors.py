"""Commute-call mentors on a real SQLite file: signup and approval, booking, races, jobs, invites and privacy."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from services.clock import ManualClock
from services.contact import PhoneVault
from services.jobs import JobDispatcher
from services.mentors import (
    AFTER_CALL_JOB,
    EXPIRY_JOB,
    REMINDER_JOB,
    VOICE_CREATE_JOB,
    VOICE_DELETE_JOB,
    BookingError,
    MentorEffect,
    MentorError,
    MentorService,
    SlotTaken,
    erase_subject,
    ics_invite,
    normalize_topics,
)
from services.windows import WindowSyntaxError
from storage import effects as effects_store
from storage import guilds
from storage import jobs as job_store
from storage import mentors as store
from storage.db import Database
from tests.conftest import open_test_database

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # Monday; 11:00 in London
GUILD = 77
MENTOR, MEMBER, OTHER, MOD = 501, 502, 503, 599
MENTOR_PHONE = "+44 20 7946 0958"
MEMBER_PHONE = "+1 415 555 0100"
FIRST_SLOT = datetime(2026, 6, 2, 6, 30, tzinfo=UTC)  # Tue 07:30 in London, the first after 12 h notice


@pytest.fixture
def mdb(db: Database) -> Database:
    return db


@pytest.fixture
def mclock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def key() -> bytes:
    return PhoneVault.generate_key()


def make_service(db: Database, clock: ManualClock, key: bytes) -> MentorService:
    return MentorService(db, JobDispatcher(db, clock, worker="test"), clock, PhoneVault(key))


@pytest.fixture
def svc(mdb: Database, mclock: ManualClock, key: bytes) -> MentorService:
    return make_service(mdb, mclock, key)


async def signup(
    svc: MentorService, *, approve: bool = True, user: int = MENTOR, guild: int = GUILD, **overrides: object
) -> store.Mentor:
    fields: dict[str, object] = dict(
        timezone="Europe/London",
        windows="Mon-Fri 07:30-08:15",
        call_minutes=15,
        contact_mode="they_call_me",
        headline="Eng manager, fintech, 12 years",
        topics="Interviews, Career change",
        about="Happy to talk.",
        phone=MENTOR_PHONE,
    )
    fields.update(overrides)
    mentor = await svc.signup(guild, user, **fields)  # type: ignore[arg-type]
    if approve and mentor.status == "pending_approval":
        mentor = await svc.approve(guild, user, moderator_id=MOD)
    return mentor


async def pending_jobs(db: Database, kind: str) -> list[job_store.Job]:
    return await job_store.pending(db.conn, kind=kind)


# -- profile ----------------------------------------------------------------------------------------------------


async def test_signup_waits_for_approval_by_default_then_approve_is_idempotent(svc: MentorService) -> None:
    mentor = await signup(svc, approve=False)
    assert mentor.status == "pending_approval"
    assert mentor.topics == ("interviews", "career-change")
    assert mentor.windows == "Mon-Fri 07:30-08:15"
    assert "7946" not in repr(mentor) and "Happy" not in repr(mentor)
    assert await svc.matching(GUILD) == []
    approved = await svc.approve(GUILD, MENTOR, moderator_id=MOD)
    assert approved.status == "active" and approved.decided_by == MOD
    assert (await svc.approve(GUILD, MENTOR, moderator_id=MOD)).status == "active"  # double click


async def test_signup_is_active_at_once_when_the_server_turns_approval_off(svc: MentorService, mdb: Database) -> None:
    await guilds.update_settings(mdb.conn, guild_id=GUILD, changes={"mentor_approval": False}, now=NOW)
    assert (await signup(svc, approve=False)).status == "active"


async def test_signup_refuses_bad_input_with_what_to_do(svc: MentorService) -> None:
    with pytest.raises(MentorError, match="Europe/London"):
        await signup(svc, timezone="Europe/Londn")
    with pytest.raises(MentorError, match="phone number"):
        await signup(svc, phone=None)
    with pytest.raises(WindowSyntaxError, match="“Fxi”"):
        await signup(svc, windows="Fxi 07:30-08:15")
    with pytest.raises(MentorError, match="10, 15, 20 or 30"):
        await signup(svc, call_minutes=25)
    with pytest.raises(MentorError, match="8 or fewer"):
        await signup(svc, topics=",".join(f"t{i}" for i in range(9)))
    await signup(svc)
    with pytest.raises(MentorError, match="/mentor edit"):
        await signup(svc)


def test_topics_become_lowercase_hyphenated_tags_without_repeats() -> None:
    assert normalize_topics(" Interviews, Career  Change;interviews,C++ , Product_Management ,,") == (
        "interviews",
        "career-change",
        "c++",
        "product-management",
    )


async def test_a_number_the_contact_mode_does_not_need_is_not_kept(svc: MentorService) -> None:
    mentor = await signup(svc, contact_mode="Discord voice", phone=MENTOR_PHONE)
    assert mentor.phone_encrypted is None and mentor.contact_mode == "discord_voice"
    with pytest.raises(MentorError, match="phone number"):
        await svc.edit(GUILD, MENTOR, contact_mode="you call me")
    edited = await svc.edit(GUILD, MENTOR, contact_mode="you call me", phone=MENTOR_PHONE, weekly_limit=5)
    assert edited.has_phone and edited.weekly_limit == 5
    assert (await svc.edit(GUILD, MENTOR, contact_mode="I call you")).phone_encrypted is None


# -- booking ----------------------------------------------------------------------------------------------------


async def test_request_accept_schedules_reminders_and_after_call_as_utc_instants(
    svc: MentorService, mdb: Database
) -> None:
    await signup(svc)
    slots = await svc.slots_for(GUILD, MENTOR, MEMBER)
    assert slots[0] == FIRST_SLOT and len(slots) == 25  # free slots are alternatives: they don't use up the limit
    booking = await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT, topic_text="Mock interview please")
    assert booking.status == "requested" and booking.ends_at == FIRST_SLOT + timedelta(minutes=15)
    assert "Mock" not in repr(booking)
    # 24 h after the request would be after the notice point (Mon 18:30 UTC), so it lapses then.
    assert booking.expires_at == FIRST_SLOT - timedelta(hours=12)
    [expiry] = await pending_jobs(mdb, EXPIRY_JOB)
    assert expiry.due_at == booking.expires_at and expiry.payload == {"booking_id": booking.id}

    confirmed = await svc.accept(booking.id, MENTOR)
    assert confirmed.status == "confirmed" and confirmed.decided_at == NOW
    assert await pending_jobs(mdb, EXPIRY_JOB) == []
    reminders = await pending_jobs(mdb, REMINDER_JOB)
    assert [(j.due_at, j.payload["minutes_before"]) for j in reminders] == [
        (FIRST_SLOT - timedelta(minutes=15), 15)  # 24 h before is already past: not scheduled
    ]
    [after] = await pending_jobs(mdb, AFTER_CALL_JOB)
    assert after.due_at == confirmed.ends_at + timedelta(minutes=30)
    assert await pending_jobs(mdb, VOICE_CREATE_JOB) == []
    assert (await svc.accept(booking.id, MENTOR)).status == "confirmed"  # double click

    # The member gets the mentor's number (you call me); the mentor gets none; strangers get none.
    assert (await svc.contact_for(confirmed, MEMBER)).e164 == "+442079460958"  # type: ignore[union-attr]
    assert await svc.contact_for(confirmed, MENTOR) is None
    assert await svc.contact_for(confirmed, OTHER) is None


async def test_a_booking_far_ahead_gets_both_reminders(svc: MentorService, mdb: Database, mclock: ManualClock) -> None:
    await signup(svc)
    later = (await svc.slots_for(GUILD, MENTOR, MEMBER))[-1]
    booking = await svc.accept((await svc.request_booking(GUILD, MENTOR, MEMBER, later)).id, MENTOR)
    dues = sorted(j.due_at for j in await pending_jobs(mdb, REMINDER_JOB))
    assert dues == [booking.starts_at - timedelta(hours=24), booking.starts_at - timedelta(minutes=15)]


async def test_discord_voice_calls_get_room_jobs(svc: MentorService, mdb: Database) -> None:
    await signup(svc, contact_mode="discord_voice", phone=None)
    booking = await svc.accept((await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT)).id, MENTOR)
    [create] = await pending_jobs(mdb, VOICE_CREATE_JOB)
    [delete] = await pending_jobs(mdb, VOICE_DELETE_JOB)
    assert create.due_at == booking.starts_at - timedelta(minutes=5)
    assert delete.due_at == booking.ends_at + timedelta(minutes=30)
    await svc.cancel(booking.id, MEMBER, "Something came up")
    assert await pending_jobs(mdb, VOICE_CREATE_JOB) == [] and await pending_jobs(mdb, VOICE_DELETE_JOB) == []


async def test_i_call_you_mode_needs_the_members_number_and_shows_it_to_the_mentor_only(svc: MentorService) -> None:
    await signup(svc, contact_mode="I call you", phone=None)
    with pytest.raises(BookingError, match="phone number"):
        await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT)
    booking = await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT, member_phone=MEMBER_PHONE)
    assert await svc.contact_for(booking, MENTOR) is None  # not before it is confirmed
    confirmed = await svc.accept(booking.id, MENTOR)
    assert (await svc.contact_for(confirmed, MENTOR)).e164 == "+14155550100"  # type: ignore[union-attr]
    assert await svc.contact_for(confirmed, MEMBER) is None


OTHER_GUILD = 78


async def race(
    svc: MentorService, db_path: Path, schema_url: str | None, clock: ManualClock, key: bytes, other_guild: int
) -> tuple[list[store.Booking], list[SlotTaken]]:
    """MEMBER (in GUILD) and OTHER (in ``other_guild``) ask for FIRST_SLOT at once, each through a connection of
    its own, as two processes would."""
    first = await open_test_database(db_path, schema_url)
    second = await open_test_database(db_path, schema_url)
    try:
        a, b = make_service(first, clock, key), make_service(second, clock, key)
        results = await asyncio.gather(
            a.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT, topic_text="a"),
            b.request_booking(other_guild, MENTOR, OTHER, FIRST_SLOT, topic_text="b"),
            return_exceptions=True,
        )
    finally:
        await first.close()
        await second.close()
    booked = [r for r in results if isinstance(r, store.Booking)]
    taken = [r for r in results if isinstance(r, SlotTaken)]
    assert len(booked) == 1 and len(taken) == 1, results
    return booked, taken


async def test_a_mentor_in_two_servers_has_one_day_and_a_weekly_limit_per_server(svc: MentorService) -> None:
    await signup(svc)
    elsewhere = await signup(svc, guild=OTHER_GUILD, topics="Interviews", about="Also here.")
    assert FIRST_SLOT in await svc.slots_for(OTHER_GUILD, MENTOR, OTHER)
    left_before = await svc.calls_left(elsewhere)

    await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT, topic_text="a")

    # The call holds the mentor's time in the other server too (the next slot is within the buffer, so it goes too).
    free_elsewhere = await svc.slots_for(OTHER_GUILD, MENTOR, OTHER)
    assert FIRST_SLOT not in free_elsewhere
    assert all(abs((slot - FIRST_SLOT).total_seconds()) >= 15 * 60 for slot in free_elsewhere)
    with pytest.raises(SlotTaken):
        await svc.request_booking(OTHER_GUILD, MENTOR, OTHER, FIRST_SLOT, topic_text="b")
    # ... but it counts toward the weekly limit of the server it was booked in only.
    assert await svc.calls_left(elsewhere) == left_before


async def test_two_servers_racing_for_one_mentors_time_on_two_connections_get_one_call(
    svc: MentorService, db_path: Path, postgres_schema_url: str | None, mclock: ManualClock, key: bytes
) -> None:
    """Two Porchlight processes (two connections), each holding one of the mentor's servers, book the same time at
    once: one call, and the other member is offered other times."""
    await signup(svc)
    await signup(svc, guild=OTHER_GUILD, topics="Interviews", about="Also here.")
    booked, _taken = await race(svc, db_path, postgres_schema_url, mclock, key, OTHER_GUILD)
    live = await store.list_bookings(svc.db.conn, mentor_user_id=MENTOR, statuses=store.LIVE)
    assert [(b.starts_at, b.id) for b in live] == [(FIRST_SLOT, booked[0].id)]


async def test_two_members_racing_on_two_connections_get_one_booking_and_one_slot_taken(
    svc: MentorService, db_path: Path, postgres_schema_url: str | None, mclock: ManualClock, key: bytes
) -> None:
    await signup(svc)
    _booked, taken = await race(svc, db_path, postgres_schema_url, mclock, key, GUILD)
    assert taken[0].alternatives and FIRST_SLOT not in taken[0].alternatives
    assert all(alt > FIRST_SLOT for alt in taken[0].alternatives)
    live = await store.list_bookings(svc.db.conn, guild_id=GUILD, mentor_user_id=MENTOR, statuses=store.LIVE)
    assert len(live) == 1


async def test_the_schema_itself_refuses_a_second_live_booking_for_one_slot(svc: MentorService, mdb: Database) -> None:
    await signup(svc)
    fields = dict(
        guild_id=GUILD,
        mentor_user_id=MENTOR,
        starts_at=FIRST_SLOT,
        ends_at=FIRST_SLOT + timedelta(minutes=15),
        contact_mode="they_call_me",
        topic_text="",
        member_phone_encrypted=None,
        expires_at=FIRST_SLOT,
        now=NOW,
    )
    first = await store.insert_booking(mdb.conn, member_user_id=MEMBER, **fields)  # type: ignore[arg-type]
    with pytest.raises(SlotTaken):
        await store.insert_booking(mdb.conn, member_user_id=OTHER, **fields)  # type: ignore[arg-type]
    await svc.cancel(first.id, MEMBER, None)
    await store.insert_booking(mdb.conn, member_user_id=OTHER, **fields)  # a cancelled booking frees the slot


async def test_a_slot_that_is_not_free_is_refused_with_alternatives(svc: MentorService) -> None:
    await signup(svc)
    with pytest.raises(SlotTaken) as caught:
        await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT + timedelta(minutes=3))
    assert caught.value.alternatives[0] == FIRST_SLOT
    with pytest.raises(BookingError, match="yourself"):
        await svc.request_booking(GUILD, MENTOR, MENTOR, FIRST_SLOT)


async def test_buffer_and_weekly_limit_shape_what_is_left(svc: MentorService) -> None:
    await signup(svc, weekly_limit=1)
    await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT)
    remaining = await svc.slots_for(GUILD, MENTOR, OTHER)
    # Limit 1 in the London week of Mon 1 June: the next slot is the following Monday 07:30 BST.
    assert remaining[0] == datetime(2026, 6, 8, 6, 30, tzinfo=UTC)
    with pytest.raises(BookingError, match="already have a call with this mentor"):
        await svc.request_booking(GUILD, MENTOR, MEMBER, remaining[0])


async def test_decline_offers_other_times_and_drops_the_members_number(svc: MentorService, mdb: Database) -> None:
    await signup(svc, contact_mode="I call you", phone=None)
    booking = await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT, member_phone=MEMBER_PHONE)
    with pytest.raises(BookingError, match="Only the mentor"):
        await svc.decline(booking.id, MEMBER)
    result = await svc.decline(booking.id, MENTOR)
    assert result.booking.status == "declined"
    assert result.alternatives and FIRST_SLOT not in result.alternatives
    stored = await store.get_booking(mdb.conn, booking.id)
    assert stored is not None and stored.member_phone_encrypted is None
    assert await pending_jobs(mdb, EXPIRY_JOB) == []


async def test_an_unanswered_request_expires_and_cannot_be_accepted_late(
    svc: MentorService, mclock: ManualClock
) -> None:
    await signup(svc)
    booking = await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT)
    assert await svc.expire(booking.id) is None  # not due yet
    mclock.set(booking.expires_at)
    with pytest.raises(BookingError, match="expired"):
        await svc.accept(booking.id, MENTOR)
    assert (await svc.get_booking(booking.id)).status == "expired"  # type: ignore[union-attr]
    assert await svc.expire(booking.id) is None  # the job arriving afterwards does nothing


async def test_expire_due_catches_up_after_downtime(svc: MentorService, mclock: ManualClock) -> None:
    await signup(svc)
    later = (await svc.slots_for(GUILD, MENTOR, MEMBER))[-1]
    booking = await svc.request_booking(GUILD, MENTOR, MEMBER, later)
    assert booking.expires_at == NOW + timedelta(hours=24)
    mclock.advance(hours=30)
    [result] = await svc.expire_due()
    assert result.booking.id == booking.id and result.booking.status == "expired"


async def test_cancel_by_either_side_bumps_the_invite_sequence_and_cancels_jobs(
    svc: MentorService, mdb: Database
) -> None:
    await signup(svc)
    booking = await svc.accept((await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT)).id, MENTOR)
    with pytest.raises(BookingError, match="your own calls"):
        await svc.cancel(booking.id, OTHER, "nope")
    cancelled = await svc.cancel(booking.id, MENTOR, "  Sick today  ")
    assert cancelled.status == "cancelled" and cancelled.cancelled_by == MENTOR
    assert cancelled.cancel_reason == "Sick today" and cancelled.ics_sequence == booking.ics_sequence + 1
    assert await pending_jobs(mdb, REMINDER_JOB) == [] and await pending_jobs(mdb, AFTER_CALL_JOB) == []
    assert (await svc.cancel(booking.id, MEMBER, None)).status == "cancelled"  # second click is harmless
    assert await svc.upcoming_calls(MEMBER) == []


async def test_cancel_after_the_start_points_to_the_after_call_check(svc: MentorService, mclock: ManualClock) -> None:
    await signup(svc)
    booking = await svc.accept((await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT)).id, MENTOR)
    mclock.set(FIRST_SLOT + timedelta(minutes=1))
    with pytest.raises(BookingError, match="after-call"):
        await svc.cancel(booking.id, MEMBER, None)


def test_ics_invites_parse_back_with_stable_uid_method_and_sequence() -> None:
    booking = store.Booking(
        id=42,
        guild_id=GUILD,
        mentor_user_id=MENTOR,
        member_user_id=MEMBER,
        starts_at=FIRST_SLOT,
        ends_at=FIRST_SLOT + timedelta(minutes=15),
        status="confirmed",
        contact_mode="they_call_me",
        topic_text="secret topic",
        member_phone_encrypted=None,
        expires_at=FIRST_SLOT,
        cancel_reason=None,
        cancelled_by=None,
        outcome=None,
        outcome_reported_by=None,
        no_show_user_id=None,
        ics_sequence=0,
        created_at=NOW,
        decided_at=NOW,
        updated_at=NOW,
    )
    request = icalendar.Calendar.from_ical(ics_invite(booking))
    assert str(request["METHOD"]) == "REQUEST"
    [event] = request.walk("VEVENT")
    assert str(event["UID"]) == "booking-42@porchlight"
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == FIRST_SLOT and event.decoded("DTEND") == FIRST_SLOT + timedelta(minutes=15)
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    raw = ics_invite(booking)
    assert b"DTSTART:20260602T063000Z" in raw and b"secret" not in raw

    from dataclasses import replace

    cancel = icalendar.Calendar.from_ical(ics_invite(replace(booking, status="cancelled", ics_sequence=1), "CANCEL"))
    assert str(cancel["METHOD"]) == "CANCEL"
    [event] = cancel.walk("VEVENT")
    assert str(event["UID"]) == "booking-42@porchlight" and int(event["SEQUENCE"]) == 1
    assert str(event["STATUS"]) == "CANCELLED"


async def test_after_call_first_answer_wins_and_no_shows_are_counted_privately(
    svc: MentorService, mclock: ManualClock
) -> None:
    await signup(svc)
    booking = await svc.accept((await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT)).id, MENTOR)
    with pytest.raises(BookingError, match="hasn't started"):
        await svc.record_outcome(booking.id, MENTOR, "no_show")
    mclock.set(booking.ends_at + timedelta(minutes=30))
    done = await svc.record_outcome(booking.id, MENTOR, "no_show")
    assert done.status == "completed" and done.no_show_user_id == MEMBER
    assert (await svc.record_outcome(booking.id, MEMBER, "happened")).outcome == "no_show"
    assert await svc.no_show_counts(GUILD) == {MEMBER: 1}


# -- pause, leave, matching -------------------------------------------------------------------------------------


async def test_pause_until_a_date_hides_slots_until_then_and_ends_by_itself(
    svc: MentorService, mclock: ManualClock
) -> None:
    await signup(svc)
    await svc.pause(GUILD, MENTOR, NOW + timedelta(days=5))
    assert (await svc.slots_for(GUILD, MENTOR, MEMBER))[0] >= NOW + timedelta(days=5)
    await svc.pause(GUILD, MENTOR)
    assert await svc.slots_for(GUILD, MENTOR, MEMBER) == []
    assert await svc.matching(GUILD) == []
    assert (await svc.resume(GUILD, MENTOR)).status == "active"
    await svc.pause(GUILD, MENTOR, NOW + timedelta(days=1))
    mclock.advance(days=2)
    mentor = await svc.get(GUILD, MENTOR)
    assert mentor is not None and mentor.status == "active" and mentor.paused_until is None


async def test_leave_cancels_upcoming_calls_and_deletes_the_phone(svc: MentorService, mdb: Database) -> None:
    await signup(svc)
    booking = await svc.accept((await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT)).id, MENTOR)
    await svc.set_roster_message(GUILD, MENTOR, 9001)
    result = await svc.leave(GUILD, MENTOR)
    assert result.mentor.status == "left" and result.mentor.phone_encrypted is None
    assert result.mentor.roster_message_id == 9001
    assert [(b.id, b.status, b.ics_sequence) for b in result.cancelled] == [(booking.id, "cancelled", 1)]
    assert await pending_jobs(mdb, REMINDER_JOB) == []
    assert [m.user_id for m in await svc.departed_with_cards(GUILD)] == [MENTOR]
    with pytest.raises(BookingError):
        await svc.slots_for(GUILD, MENTOR, MEMBER)
    assert (await signup(svc)).status == "active"  # coming back is a fresh signup


async def test_matching_filters_by_topic_and_orders_by_next_free_slot(svc: MentorService) -> None:
    await signup(svc, topics="interviews, resume")
    await signup(svc, user=OTHER, windows="Mon-Fri 18:00-19:00", topics="mock-interviews", contact_mode="Discord voice")
    by_topic = await svc.matching(GUILD, "Interviews", member_id=MEMBER)
    # Monday 18:00 BST is inside the 12 h notice, so Tuesday 07:30 (MENTOR) comes before Tuesday 18:00 (OTHER).
    assert [m.mentor.user_id for m in by_topic] == [MENTOR, OTHER]
    assert all(len(m.slots) == 3 and m.calls_left_this_week == 3 for m in by_topic)
    assert [m.mentor.user_id for m in await svc.matching(GUILD, "resume")] == [MENTOR]
    assert [m.mentor.user_id for m in await svc.matching(GUILD, None, member_id=MENTOR)] == [OTHER]


# -- privacy ----------------------------------------------------------------------------------------------------


@pytest.mark.sqlite_only
async def test_no_phone_number_is_stored_in_plaintext(svc: MentorService, mdb: Database, db_path: Path) -> None:
    await signup(svc)
    await signup(svc, user=OTHER, contact_mode="I call you", phone=None)
    booking = await svc.request_booking(GUILD, OTHER, MEMBER, FIRST_SLOT, member_phone=MEMBER_PHONE)
    await svc.accept(booking.id, OTHER)
    await mdb.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    blobs = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.name.startswith(db_path.name))
    for digits in (b"2079460958", b"4155550100", "2079460958".encode("utf-16-le")):
        assert digits not in blobs


async def test_export_holds_own_data_only_and_delete_removes_it(svc: MentorService, mdb: Database) -> None:
    await signup(svc)
    booking = await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT, topic_text="Salary talk")
    mentor_export = await svc.export_member(MENTOR)
    assert mentor_export["mentor_profiles"][0]["phone"] == "+442079460958"
    assert mentor_export["calls"][0]["role"] == "mentor" and mentor_export["calls"][0]["topic"] is None
    member_export = await svc.export_member(MEMBER)
    assert member_export["mentor_profiles"] == []
    assert member_export["calls"][0]["topic"] == "Salary talk"
    assert "2079460958" not in repr(member_export)

    result = await svc.delete_member(MEMBER)
    assert [b.id for b in result.cancelled] == [booking.id] and result.bookings_deleted == 1
    assert await svc.export_member(MEMBER) == {"mentor_profiles": [], "calls": [], "mentor_away": []}
    assert await pending_jobs(mdb, EXPIRY_JOB) == []
    await svc.set_roster_message(GUILD, MENTOR, 9001)
    gone = await svc.delete_member(MENTOR)
    assert gone.profiles_deleted == 1 and erase_subject(GUILD) in gone.subjects
    [take_down] = await effects_store.pending(mdb.conn, erase_subject(GUILD))
    assert take_down.kind == MentorEffect.TAKE_DOWN and take_down.user_id is None
    assert take_down.args == {"channel_id": None, "message_id": 9001, "what": "card"}  # ids only, no member
    assert await svc.get(GUILD, MENTOR) is None


async def test_a_booking_records_its_effects_per_person_with_that_person_as_user_id(
    svc: MentorService, mdb: Database
) -> None:
    await signup(svc)
    booking = await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT, topic_text="Salary talk")
    await svc.accept(booking.id, MENTOR)
    await svc.cancel(booking.id, MEMBER, "Sorry")
    rows = await mdb.conn.execute_fetchall("SELECT subject, kind, user_id, args FROM effects WHERE subject LIKE 'b%'")
    effects = {(r["subject"], r["kind"], r["user_id"]) for r in rows}
    assert effects == {
        (f"booking:{booking.id}:mentor", MentorEffect.REQUEST_DM, MENTOR),
        (f"booking:{booking.id}:member", MentorEffect.CONFIRMATION, MEMBER),
        (f"booking:{booking.id}:mentor", MentorEffect.CONFIRMATION, MENTOR),
        (f"booking:{booking.id}:mentor", MentorEffect.CANCELLED_DM, MENTOR),  # the other person is told
        (f"booking:{booking.id}:member", MentorEffect.REDACT, MEMBER),  # her copy of the mentor's number
    }
    for row in rows:  # ids and template names only: never a member, a number or what someone wrote
        values = set(json.loads(row["args"]).values())
        assert not values & {MEMBER, MENTOR, str(MEMBER), str(MENTOR)} and "Sorry" not in row["args"]


async def test_a_reminder_job_run_twice_records_each_reminder_once(svc: MentorService, mdb: Database) -> None:
    await signup(svc)
    booking = await svc.accept((await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT)).id, MENTOR)
    for _ in range(2):
        assert await svc.remind(booking.id, 15) is not None
    rows = await mdb.conn.execute_fetchall("SELECT user_id FROM effects WHERE kind = ?", (MentorEffect.REMINDER,))
    assert sorted(r["user_id"] for r in rows) == [MENTOR, MEMBER]
