"""``python bot.py --copy-to postgresql://…``: a community that used SQLite moves to PostgreSQL with every row.

The SQLite file is filled the way a community fills it: the demo's scenes (the real bot against the twin: setup,
check-ins, help requests, an anonymous ask, a booked call, stats), then the few tables the demo leaves empty through
the storage functions the features use. The command runs as its own process; the test then compares every table
itself, independently of the command's own report.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from demo.admin_scene import moderator_stats, tuning_a_setting
from demo.anonymous_scene import asking_anonymously
from demo.community import community
from demo.help_scene import asking_for_help
from demo.mentor_scene import booking_a_call
from demo.run import checking_in, setting_up
from demo.transcript import Transcript
from storage import (
    booking_moves,
    catalog,
    checkins,
    form_drafts,
    help_relays,
    helper_duty,
    mentor_absences,
    mentors,
    reach_outs,
    safety,
)
from storage.db import Database
from tests.conftest import postgres_schema, require_postgres

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """An empty schema of the test PostgreSQL server (required under CI=true, else skipped when unreachable)."""
    require_postgres()
    async with postgres_schema("copy") as url:
        yield url


async def _fill_what_the_demo_leaves_empty(db: Database) -> None:
    async with db.transaction() as conn:
        [booking] = await mentors.list_bookings(conn, guild_id=None, statuses=("requested", "confirmed"))
        await booking_moves.insert_move(
            conn,
            booking,
            starts_at=booking.starts_at + timedelta(days=1),
            ends_at=booking.ends_at + timedelta(days=1),
            expires_at=booking.starts_at,
            now=NOW,
        )
    guild_id, member, mentor = booking.guild_id, booking.member_user_id, booking.mentor_user_id
    async with db.transaction() as conn:
        any_checkin = (await conn.execute_fetchall("SELECT id FROM checkins ORDER BY id LIMIT 1"))[0][0]
        await reach_outs.take(conn, checkin_id=any_checkin, guild_id=guild_id, helper_id=mentor, now=NOW)
        await checkins.record_dm_failure(conn, member, NOW)
        await form_drafts.put_draft(
            conn,
            user_id=member,
            guild_id=guild_id,
            form="mentors.apply",
            custom_id="mentors:apply:1",
            sealed=b"sealed-bytes",
            now=NOW,
            expires_at=NOW + timedelta(days=1),
        )
        await safety.mark_welcomed(conn, guild_id, NOW)
        request_id = (await conn.execute_fetchall("SELECT id FROM help_requests ORDER BY id LIMIT 1"))[0][0]
        await help_relays.insert_reveal(
            conn, guild_id=guild_id, request_id=request_id, moderator_id=mentor, reason="safety", now=NOW
        )
        await helper_duty.set_topics(conn, guild_id, mentor, ["resume"], now=NOW)
        await safety.put_block(
            conn, guild_id=guild_id, user_id=999, blocked_by=mentor, reason="spam", until=None, now=NOW
        )
        await safety.record_departure(conn, guild_id=guild_id, user_id=998, now=NOW, purge_after=NOW)
        await mentor_absences.add(
            conn,
            guild_id,
            mentor,
            kind="away",
            first_day=date(2026, 12, 24),
            last_day=date(2026, 12, 26),
            timezone=None,
            now=NOW,
        )


@pytest.fixture
async def community_file(tmp_path: Path) -> Path:
    """A SQLite file with a row in every table."""
    path = tmp_path / "porchlight.db"
    async with community(path, configure=False) as c:
        transcript = Transcript(c.twin, c.members, anyone=c.dave, now=c.clock.now)
        with contextlib.redirect_stdout(io.StringIO()):
            for scene in (
                setting_up,
                tuning_a_setting,
                checking_in,
                asking_for_help,
                asking_anonymously,
                booking_a_call,
                moderator_stats,
            ):
                await scene(c, transcript)
    db = await Database.open(path)
    try:
        await _fill_what_the_demo_leaves_empty(db)
        for table in await catalog.table_names(db.conn):
            assert await catalog.all_rows(db.conn, table), f"{table} is empty: the test would prove nothing for it"
    finally:
        await db.close()
    return path


def _copy(source: Path, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PORCHLIGHT_DATABASE_PATH": str(source)}
    env.pop("PORCHLIGHT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "--copy-to", url],
        cwd=cwd,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _contents(db: Database) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: sorted(await catalog.all_rows(db.conn, table), key=repr) for table in await catalog.table_names(db.conn)
    }


async def test_copy_to_moves_every_row_of_every_table_and_refuses_a_second_time(
    community_file: Path, pg_url: str, tmp_path: Path
) -> None:
    from storage.pg import PostgresDatabase

    done = _copy(community_file, pg_url, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "MISMATCH" not in done.stdout and " ok" in done.stdout
    assert "PORCHLIGHT_ENCRYPTION_KEY" in done.stdout  # the key file must follow the data

    source = await Database.open(community_file)
    target = await PostgresDatabase.connect(pg_url)
    try:
        before, after = await _contents(source), await _contents(target)
        assert sorted(before) == sorted(after)
        for table in before:
            assert before[table] == after[table], table
            assert f"  {table} " in done.stdout  # the command reported it

        # Ids continue after the copied ones (nothing reuses an id).
        async with target.transaction() as conn:
            event = await safety.add_event(conn, guild_id=1, user_id=2, action="checkin", now=NOW)
        copied = [row[0] for row in before["rate_events"]]
        assert event > max(copied)

        # A second copy into the now-filled database is refused, and changes nothing.
        again = _copy(community_file, pg_url, tmp_path)
        assert again.returncode == 2
        assert "already holds Porchlight data" in again.stderr
        assert len(await catalog.all_rows(target.conn, "rate_events")) == len(copied) + 1
    finally:
        await source.close()
        await target.close()


async def test_copy_to_an_unreachable_server_says_so_and_copies_nothing(community_file: Path, tmp_path: Path) -> None:
    done = _copy(community_file, "postgresql://postgres@127.0.0.1:1/nowhere", tmp_path)
    assert done.returncode == 2
    assert "cannot use its PostgreSQL database" in done.stderr and "PORCHLIGHT_DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr
