"""/pulse's per-week counts, kept by triggers: always equal to a recount from the raw check-ins, whatever was written
or deleted (a single check-in, /privacy delete, retention, a server's purge), and counted once for old databases."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.checkins import week_start
from storage import checkins as store
from storage import privacy
from storage.db import Database, from_epoch, to_epoch
from storage.migrate import load_migrations, migrate

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
STATUSES = ("on_track", "stuck", "rut", "hired")
GUILDS = (1, 2)


def recount(path: Path) -> dict[tuple[int, datetime], tuple[dict[str, int], int, int]]:
    """Per (guild, week): members by latest status, members, members who asked for a reach-out; from raw rows."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT guild_id, user_id, status, share_with_helpers, created_at, id FROM checkins")
        latest: dict[tuple[int, datetime, int], tuple[int, int, str]] = {}
        asked: set[tuple[int, datetime, int]] = set()
        for guild_id, user_id, status, share, created_at, row_id in rows:
            key = (guild_id, week_start(from_epoch(created_at)), user_id)
            if key not in latest or (created_at, row_id) > latest[key][:2]:
                latest[key] = (created_at, row_id, status)
            if share:
                asked.add(key)
    finally:
        conn.close()
    weeks: dict[tuple[int, datetime], tuple[dict[str, int], int, int]] = {}
    for guild_id, week in {(g, w) for g, w, _ in latest}:
        members = [key for key in latest if key[:2] == (guild_id, week)]
        by_status = Counter(latest[key][2] for key in members)
        weeks[(guild_id, week)] = (
            {s: by_status.get(s, 0) for s in STATUSES},
            len(members),
            sum(key in asked for key in members),
        )
    return weeks


async def kept(db: Database) -> dict[tuple[int, datetime], tuple[dict[str, int], int, int]]:
    """What /pulse reads, for every week the counts table holds."""
    async with db.conn.execute("SELECT DISTINCT guild_id, week FROM checkin_week_counts") as cur:
        weeks = [(int(g), from_epoch(int(w))) for g, w in await cur.fetchall()]
    result = {}
    for guild_id, week in weeks:
        agg = await store.week_counts(db.conn, guild_id, week)
        result[(guild_id, week)] = (agg.members_by_status, agg.members, agg.shared)
    return result


# Operations: ("add", guild, user, status, share, minutes after MONDAY), ("drop", nth row), ("forget", guild, user),
# ("retain", guild, minutes), ("purge", guild).
minutes = st.integers(-2 * 24 * 60, 9 * 24 * 60)  # two weeks and a bit, across Monday boundaries
users = st.integers(1, 3)
guilds = st.sampled_from(GUILDS)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), guilds, users, st.sampled_from(STATUSES), st.booleans(), minutes),
        st.tuples(st.just("add"), guilds, users, st.sampled_from(STATUSES), st.booleans(), st.just(0)),  # same instant
        st.tuples(st.just("drop"), st.integers(0, 40)),
        st.tuples(st.just("drop"), st.just(-1)),  # the newest row: often a member's latest of the week
        st.tuples(st.just("forget"), guilds, users),
        st.tuples(st.just("retain"), guilds, minutes),
        st.tuples(st.just("purge"), guilds),
    ),
    max_size=40,
)


async def apply(db: Database, ops: list[tuple[Any, ...]]) -> None:
    for op in ops:
        async with db.transaction() as conn:
            if op[0] == "add":
                _, guild_id, user_id, status, share, offset = op
                await store.insert_checkin(
                    conn,
                    guild_id=guild_id,
                    user_id=user_id,
                    status=status,
                    note=None,
                    share_with_helpers=share and status in ("stuck", "rut"),
                    source="command",
                    created_at=MONDAY + timedelta(minutes=offset),
                )
            elif op[0] == "drop":
                async with conn.execute("SELECT id FROM checkins ORDER BY id") as cur:
                    ids = [row[0] for row in await cur.fetchall()]
                if ids:
                    await conn.execute("DELETE FROM checkins WHERE id = ?", (ids[op[1] % len(ids)],))
            elif op[0] == "forget":
                await store.delete_member(conn, op[1], op[2])
            elif op[0] == "retain":
                await privacy.purge_checkins(conn, op[1], MONDAY + timedelta(minutes=op[2]))
            else:
                await privacy.purge_guild(conn, op[1])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weeks") / "template.sqlite3"

    async def make() -> None:
        db = await Database.open(path)
        await migrate(db)
        await db.close()

    asyncio.run(make())
    return path


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_pulse_counts_equal_a_recount_from_the_raw_rows_after_random_writes_and_deletes(
    template: Path, ops: list[tuple[Any, ...]]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "db.sqlite3"
        shutil.copy(template, path)

        async def run() -> dict[tuple[int, datetime], tuple[dict[str, int], int, int]]:
            db = await Database.open(path)
            try:
                await apply(db, ops)
                return await kept(db)
            finally:
                await db.close()

        assert asyncio.run(run()) == recount(path)


async def test_a_members_latest_status_moves_them_between_counts_within_a_week(db: Database) -> None:
    async with db.transaction() as conn:
        for user_id, status, hours in ((1, "stuck", 1), (2, "stuck", 2), (3, "stuck", 3), (1, "on_track", 30)):
            await store.insert_checkin(
                conn,
                guild_id=1,
                user_id=user_id,
                status=status,
                note=None,
                share_with_helpers=status == "stuck",
                source="command",
                created_at=MONDAY + timedelta(hours=hours),
            )
    week = await store.week_counts(db.conn, 1, MONDAY)
    assert week.members_by_status == {"on_track": 1, "stuck": 2, "rut": 0, "hired": 0}
    assert (week.members, week.shared) == (3, 3)  # alice asked earlier in the week: she still counts as asking
    async with db.transaction() as conn:
        await store.delete_member(conn, 1, 1)
    week = await store.week_counts(db.conn, 1, MONDAY)
    assert week.members_by_status == {"on_track": 0, "stuck": 2, "rut": 0, "hired": 0}
    assert (week.members, week.shared) == (2, 2)
    assert (await store.week_counts(db.conn, 1, MONDAY + timedelta(days=7))).members == 0


async def test_deleting_a_members_latest_checkin_of_the_week_counts_them_under_the_one_before(db: Database) -> None:
    ids = []
    async with db.transaction() as conn:
        for status, hours in (("rut", 1), ("hired", 2)):
            checkin, _ = await store.insert_checkin(
                conn,
                guild_id=1,
                user_id=1,
                status=status,
                note=None,
                share_with_helpers=False,
                source="command",
                created_at=MONDAY + timedelta(hours=hours),
            )
            ids.append(checkin.id)
        await conn.execute("DELETE FROM checkins WHERE id = ?", (ids[1],))
    week = await store.week_counts(db.conn, 1, MONDAY)
    assert week.members_by_status == {"on_track": 0, "stuck": 0, "rut": 1, "hired": 0}


async def test_the_migration_counts_the_checkins_already_stored(db_path: Path) -> None:
    migrations = load_migrations()
    weeks = next(i for i, m in enumerate(migrations) if m.name.endswith("_checkin_weeks.sql"))
    db = await Database.open(db_path)
    try:
        await migrate(db, migrations[:weeks])
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO checkins (guild_id, user_id, status, share_with_helpers, source, created_at)"
                " VALUES (?, ?, ?, ?, 'command', ?)",
                [
                    (1, user, status, int(status == "rut"), to_epoch(MONDAY + timedelta(hours=hours)))
                    for user, status, hours in [(1, "rut", 1), (1, "hired", 2), (2, "rut", 5), (2, "stuck", 200)]
                ],
            )
        await migrate(db, migrations)
        assert await kept(db) == recount(db_path)
        assert (await store.week_counts(db.conn, 1, MONDAY)).members_by_status["hired"] == 1
    finally:
        await db.close()
