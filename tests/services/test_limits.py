"""Per-server limits on a real SQLite file: checking and counting are one step, and a failed action gives its use
back. Concurrency is real: coroutines on one connection, and a second connection standing in for a second process."""

from __future__ import annotations

import asyncio

import pytest

from services.clock import ManualClock
from services.safety import Action, RateLimited, SafetyService
from storage import guilds
from storage import safety as store
from storage.db import Database
from tests.services.conftest import ALICE, BOB, GUILD, START

LIMIT = 3


async def _limit_changes(db: Database, clock: ManualClock, allowed: int = LIMIT) -> None:
    async with db.transaction() as conn:
        await guilds.update_settings(conn, guild_id=GUILD, changes={"limit_changes_per_hour": allowed}, now=clock.now())


async def _counted(db: Database, user_id: int = ALICE) -> int:
    count, _ = await store.count_events(
        db.conn, guild_id=GUILD, user_id=user_id, action=Action.CHANGE.value, since=START.replace(year=2000)
    )
    return count


@pytest.fixture
async def safety(db: Database, clock: ManualClock) -> SafetyService:
    await _limit_changes(db, clock)
    return SafetyService(db, clock)


async def _outcomes(calls: list[asyncio.Future[object]]) -> tuple[int, int]:
    results = await asyncio.gather(*calls, return_exceptions=True)
    refused = [r for r in results if isinstance(r, RateLimited)]
    others = [r for r in results if isinstance(r, BaseException) and not isinstance(r, RateLimited)]
    assert others == []
    return len(results) - len(refused), len(refused)


async def test_concurrent_reservations_take_exactly_the_room_the_limit_has(safety: SafetyService, db: Database) -> None:
    calls = [asyncio.ensure_future(safety.reserve(GUILD, ALICE, Action.CHANGE)) for _ in range(LIMIT + 3)]
    assert await _outcomes(calls) == (LIMIT, 3)
    assert await _counted(db) == LIMIT


async def test_two_processes_reserving_at_once_never_exceed_the_limit(
    safety: SafetyService, second_db: Database, clock: ManualClock, db: Database
) -> None:
    other = SafetyService(second_db, clock)  # another process on the same file
    calls = [
        asyncio.ensure_future((safety if i % 2 else other).reserve(GUILD, ALICE, Action.CHANGE))
        for i in range(LIMIT + 3)
    ]
    assert await _outcomes(calls) == (LIMIT, 3)
    assert await _counted(db) == LIMIT


async def test_a_released_use_no_longer_counts(safety: SafetyService, db: Database) -> None:
    uses = [await safety.reserve(GUILD, ALICE, Action.CHANGE) for _ in range(LIMIT)]
    with pytest.raises(RateLimited, match=f"allows {LIMIT} changes an hour"):
        await safety.reserve(GUILD, ALICE, Action.CHANGE)
    await safety.release(uses[0])
    await safety.release(uses[0])  # twice: still one use given back
    assert await _counted(db) == LIMIT - 1
    await safety.reserve(GUILD, ALICE, Action.CHANGE)
    assert await _counted(db) == LIMIT


async def test_counting_gives_the_use_back_when_the_action_fails_and_keeps_it_when_it_succeeds(
    safety: SafetyService, db: Database
) -> None:
    with pytest.raises(ValueError, match="the write failed"):
        async with safety.counting(GUILD, ALICE, Action.CHANGE):
            raise ValueError("the write failed")
    assert await _counted(db) == 0
    async with safety.counting(GUILD, ALICE, Action.CHANGE):
        pass
    assert await _counted(db) == 1


async def test_a_cancelled_action_keeps_its_use(safety: SafetyService, db: Database) -> None:
    entered = asyncio.Event()

    async def action() -> None:
        async with safety.counting(GUILD, ALICE, Action.CHANGE):
            entered.set()
            await asyncio.Event().wait()  # until cancelled

    task = asyncio.ensure_future(action())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _counted(db) == 1


async def test_a_refusal_counts_nothing_and_members_are_counted_apart(safety: SafetyService, db: Database) -> None:
    for _ in range(LIMIT):
        await safety.reserve(GUILD, ALICE, Action.CHANGE)
    for _ in range(2):
        with pytest.raises(RateLimited):
            await safety.reserve(GUILD, ALICE, Action.CHANGE)
    assert await _counted(db) == LIMIT
    await safety.reserve(GUILD, BOB, Action.CHANGE)
    assert await _counted(db, BOB) == 1


async def test_check_previews_without_counting(safety: SafetyService, db: Database) -> None:
    for _ in range(LIMIT + 2):
        await safety.check(GUILD, ALICE, Action.CHANGE)
    assert await _counted(db) == 0


# The one-statement reservation (``SafetyService._count_within_limits``) must admit exactly what the full check
# (``SafetyService._refuse_if_over``, which also words the refusal) admits: compared on both sides of every limit.
SCENARIOS = {
    # name: (action, events in the window, events just outside it, block until (hours from now; "ever"), pending)
    "below the rate": (Action.CHECKIN, 5, 0, None, 0),
    "at the rate": (Action.CHECKIN, 6, 0, None, 0),
    "old uses do not count": (Action.CHECKIN, 5, 4, None, 0),
    "blocked, an action that is not blockable": (Action.CHECKIN, 0, 0, "ever", 0),
    "blocked for good": (Action.HELP_REQUEST, 0, 0, "ever", 0),
    "blocked for an hour more": (Action.HELP_REQUEST, 0, 0, 1, 0),
    "a block that ends now has ended": (Action.HELP_REQUEST, 0, 0, 0, 0),
    "a block that ended": (Action.HELP_REQUEST, 0, 0, -1, 0),
    "requests waiting, below the most": (Action.BOOKING_REQUEST, 1, 0, None, 2),
    "requests waiting, at the most": (Action.BOOKING_REQUEST, 1, 0, None, 3),
    "requests at the rate": (Action.BOOKING_REQUEST, 5, 0, None, 0),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_the_one_statement_reservation_admits_exactly_what_the_full_check_admits(
    scenario: str, db: Database, clock: ManualClock
) -> None:
    from datetime import timedelta

    from services.safety import LIMITS, PorchlightError
    from storage.mentors import insert_booking

    action, inside, outside, block_hours, pending = SCENARIOS[scenario]
    now, window = clock.now(), LIMITS[action].window
    async with db.transaction() as conn:
        for i in range(inside):
            await store.add_event(conn, guild_id=GUILD, user_id=ALICE, action=action.value, now=now - window / (i + 2))
        for _ in range(outside):  # exactly at the window's edge: no longer counted
            await store.add_event(conn, guild_id=GUILD, user_id=ALICE, action=action.value, now=now - window)
        if block_hours is not None:
            until = None if block_hours == "ever" else now + timedelta(hours=block_hours)
            await store.put_block(
                conn, guild_id=GUILD, user_id=ALICE, blocked_by=BOB, reason=None, until=until, now=now - window
            )
        for i in range(pending):
            await insert_booking(
                conn,
                guild_id=GUILD,
                mentor_user_id=BOB,
                member_user_id=ALICE,
                starts_at=now + timedelta(days=2, hours=i),
                ends_at=now + timedelta(days=2, hours=i, minutes=20),
                contact_mode="discord_voice",
                topic_text="",
                member_phone_encrypted=None,
                expires_at=now + timedelta(days=1),
                now=now,
            )
    safety = SafetyService(db, clock)
    try:
        await safety._refuse_if_over(db.conn, GUILD, ALICE, action, now)
        full_check_admits = True
    except PorchlightError:
        full_check_admits = False
    admitted = await safety._count_within_limits(GUILD, ALICE, action, now)
    assert (admitted is not None) == full_check_admits, scenario
    expected = scenario in {
        "below the rate",
        "old uses do not count",
        "blocked, an action that is not blockable",
        "a block that ends now has ended",
        "a block that ended",
        "requests waiting, below the most",
    }
    assert full_check_admits == expected, scenario
