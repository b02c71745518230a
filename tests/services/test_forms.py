"""Form drafts on a real SQLite file: sealed at rest, read only by their author, replaced, expired and deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.clock import ManualClock
from services.contact import PhoneVault
from services.forms import DRAFT_TTL, FormDrafts
from storage.db import Database
from tests.e2e.test_privacy import scan_db
from tests.services.conftest import ALICE, BOB, GUILD

SIGNUP = "mentors:apply:900"
TYPED = {"headline": "Support lead turned PM", "about": "Ask me about career changes", "phone": "0207 946"}


@pytest.fixture
def drafts(db: Database, clock: ManualClock) -> FormDrafts:
    return FormDrafts(db, clock, PhoneVault(PhoneVault.generate_key()))


async def test_typed_text_and_options_are_sealed_at_rest(drafts: FormDrafts, db: Database) -> None:
    await drafts.opened(ALICE, GUILD, "mentors.apply", SIGNUP, {"windows": "Mon 07:30-08:30"})
    await drafts.keep(ALICE, GUILD, "mentors.apply", SIGNUP, TYPED)
    texts = (*TYPED.values(), "07:30-08:30")
    assert await scan_db(db, None, texts) == []
    draft = await drafts.get(ALICE, SIGNUP)
    assert draft is not None and draft.values == TYPED and draft.context == {"windows": "Mon 07:30-08:30"}


async def test_a_draft_is_read_only_by_its_author(drafts: FormDrafts) -> None:
    kept = await drafts.keep(ALICE, GUILD, "mentors.apply", SIGNUP, TYPED)
    assert await drafts.get_by_id(kept.id, BOB) is None
    assert await drafts.get(BOB, SIGNUP) is None
    mine = await drafts.get_by_id(kept.id, ALICE)
    assert mine is not None and mine.values == TYPED


async def test_keeping_again_updates_the_same_draft_and_keeps_the_opening_options(drafts: FormDrafts) -> None:
    opened = await drafts.opened(ALICE, GUILD, "mentors.apply", SIGNUP, {"contact_mode": "they_call_me"})
    first = await drafts.keep(ALICE, GUILD, "mentors.apply", SIGNUP, TYPED)
    second = await drafts.keep(ALICE, GUILD, "mentors.apply", SIGNUP, {**TYPED, "phone": "12"})
    assert opened.id == first.id == second.id
    draft = await drafts.get(ALICE, SIGNUP)
    assert draft is not None and draft.values["phone"] == "12" and draft.context == {"contact_mode": "they_call_me"}


async def test_opening_the_form_again_replaces_older_drafts_of_it_in_that_server(drafts: FormDrafts) -> None:
    await drafts.keep(ALICE, GUILD, "mentors.apply", SIGNUP, TYPED)
    await drafts.keep(ALICE, GUILD, "help.ask", "help:ask:resume:5", {"body": "x"})
    await drafts.opened(ALICE, GUILD, "mentors.apply", "mentors:apply:901", {})
    assert await drafts.get(ALICE, SIGNUP) is None
    assert await drafts.get(ALICE, "help:ask:resume:5") is not None
    assert await drafts.get(ALICE, "mentors:apply:901") is not None


async def test_a_submission_takes_its_draft_and_a_refusal_keeps_it_again_with_its_opening_options(
    drafts: FormDrafts,
) -> None:
    await drafts.opened(ALICE, GUILD, "mentors.apply", SIGNUP, {"contact_mode": "they_call_me"})
    await drafts.keep(ALICE, GUILD, "mentors.apply", SIGNUP, TYPED)
    taken = await drafts.take(ALICE, SIGNUP)
    assert taken is not None and taken.values == TYPED and taken.context == {"contact_mode": "they_call_me"}
    assert await drafts.get(ALICE, SIGNUP) is None and await drafts.take(ALICE, SIGNUP) is None  # taken once
    kept = await drafts.keep(ALICE, GUILD, "mentors.apply", SIGNUP, {**TYPED, "phone": "12"}, context=taken.context)
    again = await drafts.get(ALICE, SIGNUP)
    assert again is not None and again.id == kept.id and again.values["phone"] == "12"
    assert again.context == {"contact_mode": "they_call_me"}


async def test_drafts_expire_after_a_day_and_the_purge_deletes_them(drafts: FormDrafts, clock: ManualClock) -> None:
    kept = await drafts.keep(ALICE, GUILD, "mentors.apply", SIGNUP, TYPED)
    clock.advance(DRAFT_TTL - timedelta(seconds=1))
    assert await drafts.get_by_id(kept.id, ALICE) is not None
    assert await drafts.purge_expired() == 0
    clock.advance(timedelta(seconds=1))
    assert await drafts.get_by_id(kept.id, ALICE) is None
    assert await drafts.export_member(ALICE) == []
    assert await drafts.purge_expired() == 1


async def test_export_lists_the_members_drafts_and_delete_removes_only_theirs(drafts: FormDrafts) -> None:
    await drafts.keep(ALICE, GUILD, "mentors.apply", SIGNUP, TYPED)
    await drafts.keep(ALICE, None, "mentors.thanknote", "mentors:thanknote:4", {"note": "thanks"})
    await drafts.keep(BOB, GUILD, "mentors.apply", SIGNUP, {"headline": "Bob's"})
    exported = await drafts.export_member(ALICE)
    assert [d["form"] for d in exported] == ["mentors.apply", "mentors.thanknote"]
    assert exported[0]["typed"] == TYPED and exported[0]["guild_id"] == str(GUILD) and exported[1]["guild_id"] is None
    assert await drafts.delete_member(ALICE) == 2
    assert await drafts.export_member(ALICE) == []
    assert len(await drafts.export_member(BOB)) == 1


async def test_a_draft_sealed_with_another_key_reads_as_gone(db: Database, clock: ManualClock) -> None:
    old = FormDrafts(db, clock, PhoneVault(PhoneVault.generate_key()))
    kept = await old.keep(ALICE, GUILD, "mentors.apply", SIGNUP, TYPED)
    rotated = FormDrafts(db, clock, PhoneVault(PhoneVault.generate_key()))
    assert await rotated.get_by_id(kept.id, ALICE) is None
