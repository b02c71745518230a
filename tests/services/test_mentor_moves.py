"""Moving a confirmed call, on a real SQLite file: the held time, the schema's guard on the new start, expiry bounds,
and what a cancellation does to an open proposal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.clock import ManualClock
from services.contact import PhoneVault
from services.mentors import MOVE_EXPIRY_JOB, REMINDER_JOB, BookingError, MentorEffect, MentorService, booking_subject
from storage import booking_moves as moves_store
from storage import effects as effects_store
from storage import mentors as store
from storage.db import Database
from tests.services.test_mentors import (
    FIRST_SLOT,
    GUILD,
    MEMBER,
    MENTOR,
    NOW,
    OTHER,
    make_service,
    pending_jobs,
    signup,
)


@pytest.fixture
def mdb(db: Database) -> Database:
    return db


@pytest.fixture
def mclock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def svc(mdb: Database, mclock: ManualClock) -> MentorService:
    return make_service(mdb, mclock, PhoneVault.generate_key())


async def confirmed(svc: MentorService) -> store.Booking:
    await signup(svc)
    booking = await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT)
    return await svc.accept(booking.id, MENTOR)


async def test_a_proposal_holds_its_time_and_lapses_before_the_call_as_booked(
    svc: MentorService, mdb: Database
) -> None:
    booking = await confirmed(svc)
    _, _, slots = await svc.move_slots(booking.id, MEMBER)
    new = slots[3]
    _, move = await svc.propose_move(booking.id, MEMBER, new)
    assert new not in await svc.slots_for(GUILD, MENTOR, OTHER)
    assert move.expires_at <= booking.starts_at - timedelta(minutes=15)
    [job] = await pending_jobs(mdb, MOVE_EXPIRY_JOB)
    assert job.due_at == move.expires_at and job.payload == {"booking_id": booking.id, "move_id": move.id}
    with pytest.raises(BookingError, match="already asked"):
        await svc.propose_move(booking.id, MEMBER, slots[4])
    with pytest.raises(BookingError, match="member moves a call"):
        await svc.move_slots(booking.id, MENTOR)


async def test_a_new_time_another_booking_took_is_refused_by_the_schema_and_the_call_stands(
    svc: MentorService, mdb: Database
) -> None:
    booking = await confirmed(svc)
    _, _, slots = await svc.move_slots(booking.id, MEMBER)
    _, move = await svc.propose_move(booking.id, MEMBER, slots[2])
    # Another process books that start behind this one's back: only the partial unique index stands in the way.
    await store.insert_booking(
        mdb.conn,
        guild_id=GUILD,
        mentor_user_id=MENTOR,
        member_user_id=OTHER,
        starts_at=move.starts_at,
        ends_at=move.ends_at,
        contact_mode="they_call_me",
        topic_text="",
        member_phone_encrypted=None,
        expires_at=move.starts_at,
        now=booking.created_at,
    )
    kept, closed = await svc.accept_move(move.id, MENTOR)
    assert closed.status == "withdrawn"
    assert (kept.starts_at, kept.ics_sequence) == (booking.starts_at, booking.ics_sequence)
    effects = await effects_store.pending(mdb.conn, booking_subject(booking.id, "member"))
    assert [e.kind for e in effects][-1] == MentorEffect.MOVE_ANSWER_DM


async def test_accepting_moves_the_times_bumps_the_sequence_and_reschedules_the_reminders(
    svc: MentorService, mdb: Database, mclock: ManualClock
) -> None:
    booking = await confirmed(svc)
    _, _, slots = await svc.move_slots(booking.id, MEMBER)
    new = next(s for s in slots if s >= booking.starts_at + timedelta(days=2))
    _, move = await svc.propose_move(booking.id, MEMBER, new)
    moved, done = await svc.accept_move(move.id, MENTOR)
    assert done.status == "accepted" and moved.id == booking.id
    assert (moved.starts_at, moved.ends_at) == (new, new + timedelta(minutes=15))
    assert moved.ics_sequence == booking.ics_sequence + 1
    reminders = sorted(j.due_at for j in await pending_jobs(mdb, REMINDER_JOB))
    assert reminders == [new - timedelta(hours=24), new - timedelta(minutes=15)]
    assert await pending_jobs(mdb, MOVE_EXPIRY_JOB) == []
    assert booking.starts_at in await svc.slots_for(GUILD, MENTOR, OTHER)
    assert (await svc.accept_move(move.id, MENTOR))[1].status == "accepted"  # a second click


async def test_cancelling_a_call_withdraws_its_open_move_and_frees_the_held_time(
    svc: MentorService, mdb: Database
) -> None:
    booking = await confirmed(svc)
    _, _, slots = await svc.move_slots(booking.id, MEMBER)
    _, move = await svc.propose_move(booking.id, MEMBER, slots[1])
    await svc.cancel(booking.id, MEMBER, None)
    assert (await moves_store.get_move(mdb.conn, move.id)).status == "withdrawn"  # type: ignore[union-attr]
    assert await pending_jobs(mdb, MOVE_EXPIRY_JOB) == []
    assert move.starts_at in await svc.slots_for(GUILD, MENTOR, OTHER)
    with pytest.raises(BookingError, match="no longer open"):
        await svc.accept_move(move.id, MENTOR)
