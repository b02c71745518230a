"""The one input normalisation (services.text.clean_text), and services that store what it returns on a real SQLite
file: a NUL or another control character never reaches a CHECK constraint."""

from __future__ import annotations

import unicodedata

import pytest

from services.checkins import NOTE_LIMIT, NoteTooLong
from services.clock import ManualClock
from services.contact import normalize_phone
from services.help_requests import BODY_LIMIT, BodyTooLong, EmptyBody
from services.reminders import parse_local_time
from services.safety import REASON_LIMIT, SafetyService, TextTooLong, bounded_text
from services.text import clean_text
from services.timezones import resolve_timezone
from services.windows import parse_windows
from storage.db import Database
from tests.services.conftest import ALICE, BOB, GUILD, START, World
from tests.services.test_help_requests import HelpWorld, _configure, _wire

# --- the function -----------------------------------------------------------------------------------------------------


def test_nul_is_removed_wherever_it_is() -> None:
    assert clean_text("\x00Stuck on my CV") == "Stuck on my CV"
    assert clean_text("Stuck\x00 on my CV\x00") == "Stuck on my CV"


@pytest.mark.parametrize("code", [*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0x85)])
def test_every_other_c0_and_c1_control_is_removed(code: int) -> None:
    assert clean_text(f"a{chr(code)}b") == "ab"


@pytest.mark.parametrize("code", range(0x86, 0xA0))
def test_the_rest_of_c1_is_removed_too(code: int) -> None:
    assert clean_text(f"a{chr(code)}b") == "ab"


def test_newline_and_tab_are_kept_inside_the_text() -> None:
    assert clean_text("line one\n\tline two") == "line one\n\tline two"


def test_every_line_ending_becomes_a_newline() -> None:
    assert clean_text("one\r\ntwo\rthree\x85four\u2028five\u2029six") == "one\ntwo\nthree\nfour\nfive\nsix"
    assert clean_text("one\r\n\r\ntwo") == "one\n\ntwo"  # \r\n is one line break, not two


def test_text_is_composed_to_nfc() -> None:
    decomposed = "Jose\u0301 cafe\u0301"
    cleaned = clean_text(decomposed)
    assert cleaned == "José café" and len(cleaned) == 9
    assert unicodedata.is_normalized("NFC", cleaned)


def test_a_control_between_a_letter_and_its_accent_does_not_stop_composition() -> None:
    assert clean_text("e\x00\u0301") == "é"


def test_surrounding_whitespace_is_trimmed_after_controls_go() -> None:
    assert clean_text("\x00  hello \x07 ") == "hello"


@pytest.mark.parametrize(
    "value", [None, "", "   ", "\x00", "\x00\x01\x1b\x7f", "\r\n\t ", "\u200b\ufeff", "\u200d\u00ad"]
)
def test_nothing_visible_left_is_empty(value: str | None) -> None:
    assert clean_text(value) is None


def test_invisible_and_reordering_format_characters_are_removed() -> None:
    # zero-width space, word joiner, BOM, a right-to-left override and an isolate
    assert clean_text("pay\u200bpal \u2060ok\ufeff \u202eevil\u202c \u2067x\u2069") == "paypal ok evil x"


def test_joiners_marks_and_emoji_tags_are_kept() -> None:
    for kept in (
        "👩\u200d💻 at my first job",  # ZWJ emoji sequence
        "می\u200cخواهم",  # Persian needs the zero-width non-joiner
        "abc \u200fשלום\u200e def",  # right-to-left and left-to-right marks
        "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # England's flag (tag characters)
        "hyphen\u00adation",
        "❤️ thanks",  # variation selector (not a format character)
    ):
        assert clean_text(kept) == kept


def test_lone_surrogates_are_removed_so_the_text_can_be_stored() -> None:
    assert clean_text("a\ud800b") == "ab"


def test_bounded_text_counts_the_length_after_cleaning() -> None:
    assert bounded_text("\x00" * 50 + "x" * REASON_LIMIT, limit=REASON_LIMIT, field="reason") == "x" * REASON_LIMIT
    with pytest.raises(TextTooLong, match=f"to {REASON_LIMIT} characters \\(it's {REASON_LIMIT + 1}\\)"):
        bounded_text("x" * (REASON_LIMIT + 1), limit=REASON_LIMIT, field="reason")
    assert bounded_text("\x00\x01", limit=5, field="reason") is None


# --- parsers of typed values see the cleaned text ---------------------------------------------------------------------


def test_parsers_read_values_with_control_characters_in_them() -> None:
    assert resolve_timezone("\x00Europe/Berlin\x00").key == "Europe/Berlin"
    assert parse_local_time("\x0007:30\r\n").hour == 7
    assert parse_windows("\x00Mon 09:00-10:00\x1b", call_minutes=15)
    assert normalize_phone("\x00+44 20 7946 0958", "GB").e164 == "+442079460958"


@pytest.fixture
async def help_world(db: Database) -> HelpWorld:
    clock = ManualClock(START)
    await _configure(db, GUILD, clock)
    return _wire(db, clock)


# --- services store cleaned text (a real SQLite file: NUL at the start used to fail the CHECK constraints) ------------


async def test_a_check_in_note_starting_with_nul_is_stored_cleaned(world: World) -> None:
    outcome = await world.checkins.record(GUILD, ALICE, "Stuck", note="\x00Nothing back from 40 applications")
    assert outcome.checkin.note == "Nothing back from 40 applications"


async def test_a_check_in_note_of_only_controls_is_no_note(world: World) -> None:
    outcome = await world.checkins.record(GUILD, ALICE, "Stuck", note="\x00\x01\r\n")
    assert outcome.checkin.note is None


async def test_a_check_in_note_is_measured_after_cleaning(world: World) -> None:
    outcome = await world.checkins.record(GUILD, ALICE, "Stuck", note="\x00" * 20 + "n" * NOTE_LIMIT)
    assert outcome.checkin.note == "n" * NOTE_LIMIT
    with pytest.raises(NoteTooLong):
        await world.checkins.record(GUILD, BOB, "Stuck", note="n" * (NOTE_LIMIT + 1))


async def test_a_help_request_with_nul_in_both_boxes_is_stored_cleaned(help_world: HelpWorld) -> None:
    outcome = await help_world.help.open_request(
        GUILD, ALICE, "interviews", "\x00Recruiters ghost me\r\nafter the first call", "\x00a mock call", None
    )
    assert outcome.request.body == "Recruiters ghost me\nafter the first call"
    assert outcome.request.wants == "a mock call"


async def test_a_help_request_of_only_controls_gets_the_empty_box_message(help_world: HelpWorld) -> None:
    with pytest.raises(EmptyBody, match="can't be empty"):
        await help_world.help.open_request(GUILD, ALICE, "interviews", "\x00\x1b\u200b", None, None)
    with pytest.raises(BodyTooLong):
        await help_world.help.open_request(GUILD, ALICE, "interviews", "b" * (BODY_LIMIT + 1), None, None)
    fits = await help_world.help.open_request(GUILD, ALICE, "interviews", "\x00" * 9 + "b" * BODY_LIMIT, None, None)
    assert fits.request.body == "b" * BODY_LIMIT


async def test_a_block_reason_starting_with_nul_is_stored_cleaned(db: Database) -> None:
    safety = SafetyService(db, ManualClock(START))
    block = await safety.block(GUILD, ALICE, by=BOB, reason="\x00Spamming the queue")
    assert block.reason == "Spamming the queue"
    again = await safety.block(GUILD, ALICE, by=BOB, reason="\x00\x02")
    assert again.reason is None
