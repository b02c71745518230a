"""A mentor's away and travel ranges on a real SQLite file: they shape the slots, are the mentor's data in
/privacy export, and go with /privacy delete."""

from __future__ import annotations

import pytest

from services.clock import ManualClock
from services.contact import PhoneVault
from services.mentors import BookingError, MentorError, MentorService
from storage import mentor_absences as away_store
from storage.db import Database
from tests.services.test_mentors import FIRST_SLOT, GUILD, MEMBER, MENTOR, NOW, OTHER, make_service, signup


@pytest.fixture
def svc(db: Database) -> MentorService:
    return make_service(db, ManualClock(NOW), PhoneVault.generate_key())


async def test_away_hides_the_days_and_flags_the_live_calls_in_them(svc: MentorService) -> None:
    await signup(svc)
    booking = await svc.request_booking(GUILD, MENTOR, MEMBER, FIRST_SLOT)
    result = await svc.set_away(GUILD, MENTOR, "2026-06-02", "2026-06-03")
    assert [b.id for b in result.flagged] == [booking.id]
    slots = await svc.slots_for(GUILD, MENTOR, OTHER)
    assert slots and all(s.date().isoformat() not in ("2026-06-02", "2026-06-03") for s in slots)
    with pytest.raises(BookingError):
        await svc.cancel_for_away(booking.id, MEMBER)  # only the mentor's button
    cancelled = await svc.cancel_for_away(booking.id, MENTOR)
    assert cancelled.status == "cancelled"
    found = await svc.calls_in_absence(result.absence.id)
    assert found is not None and found[1] == []  # the flag DM, run later, lists nothing


async def test_ranges_are_in_the_mentors_export_and_go_with_privacy_delete(svc: MentorService, db: Database) -> None:
    await signup(svc)
    await svc.set_away(GUILD, MENTOR, "2026-06-10", "2026-06-12")
    await svc.set_travel(GUILD, MENTOR, "2026-06-20", "2026-06-25", "Asia/Tokyo")
    exported = (await svc.export_member(MENTOR))["mentor_away"]
    assert [(a["kind"], a["from"], a["to"], a["timezone"]) for a in exported] == [
        ("away", "2026-06-10", "2026-06-12", None),
        ("travel", "2026-06-20", "2026-06-25", "Asia/Tokyo"),
    ]
    assert (await svc.export_member(MEMBER))["mentor_away"] == []
    await svc.delete_member(MENTOR)
    assert await away_store.of_user(db.conn, MENTOR) == []


async def test_a_travel_range_needs_a_real_zone_and_a_mentor(svc: MentorService) -> None:
    with pytest.raises(MentorError, match="not a mentor"):
        await svc.set_travel(GUILD, MENTOR, "2026-06-20", "2026-06-25", "Asia/Tokyo")
    await signup(svc)
    with pytest.raises(MentorError):
        await svc.set_travel(GUILD, MENTOR, "2026-06-20", "2026-06-25", "Nowhere/Atlantis")
