"""The PostgreSQL migrations (storage/migrations/postgresql) against the SQLite ones they mirror: at the latest version
both have the same tables, columns in the same order, keys, unique and partial indexes, defaults and triggers, and the
translated constructs (JSON checks, GLOB, date(), the check-in week triggers, the data migrations) behave the same.

Real servers on both sides: a migrated SQLite file, and PostgreSQL at 127.0.0.1:5432 (database `test`), each test in
a schema of its own that is dropped afterwards. Without a reachable server these tests are skipped
(``require_postgres``), unless CI=true, where that is a failure.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from storage.db import Database
from storage.migrate import MIGRATIONS_DIR, Migration, load_migrations, migrate
from tests.conftest import POSTGRES_URL, postgres_schema, require_postgres

PG_MIGRATIONS_DIR = MIGRATIONS_DIR / "postgresql"
# ``db`` here is the SQLite side of each comparison; the PostgreSQL side is this module's own schema.
pytestmark = pytest.mark.sqlite_only

WEEK = 604800
MONDAY = 1_772_409_600  # 2026-03-02 00:00 UTC, a Monday

SQLITE_TYPES = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea", "REAL": "double precision"}


def _pg_sql(sql: str) -> str:
    """The test's own statements use SQLite's ``?``; PostgreSQL numbers its parameters."""
    count = 0

    def number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"\?", number, sql)


async def _apply_pg(conn: Any, migrations: Sequence[Migration]) -> None:
    for migration in migrations:
        async with conn.transaction():
            await conn.execute(migration.sql)


@pytest.fixture
async def pg() -> AsyncIterator[Any]:
    """A connection whose search_path is a fresh, empty schema of the test server (dropped afterwards)."""
    require_postgres()
    async with postgres_schema("pgschema") as url:  # "pg_" is reserved for PostgreSQL's own schemas
        [schema] = parse_qs(urlsplit(url).query)["schema"]
        conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
        try:
            await conn.execute(f"SET search_path = {schema}")
            yield conn
        finally:
            await conn.close()


@pytest.fixture
async def pg_migrated(pg: Any) -> Any:
    await _apply_pg(pg, load_migrations(PG_MIGRATIONS_DIR))
    return pg


async def _sqlite_rows(db: Database, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    async with db.conn.execute(sql, params) as cur:
        return [tuple(row) for row in await cur.fetchall()]


async def _pg_rows(conn: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await conn.fetch(_pg_sql(sql), *params)]


# --- structure -------------------------------------------------------------------------------------------------------


def test_every_sqlite_migration_has_a_postgresql_twin_of_the_same_name() -> None:
    sqlite_names = [m.name for m in load_migrations()]
    assert [m.name for m in load_migrations(PG_MIGRATIONS_DIR)] == sqlite_names
    assert len(sqlite_names) >= 17


async def _sqlite_tables(db: Database) -> list[str]:
    rows = await _sqlite_rows(
        db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    return [name for (name,) in rows]


def _sqlite_default(value: str | None) -> str | None:
    return value


def _pg_default(value: str | None) -> str | None:
    """'{}'::text -> '{}': PostgreSQL shows a text default with its cast."""
    return None if value is None else re.sub(r"::text$", "", value)


async def test_tables_columns_types_nullability_and_defaults_match(db: Database, pg_migrated: Any) -> None:
    tables = await _sqlite_tables(db)
    pg_tables = await _pg_rows(
        pg_migrated,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        " AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    assert [name for (name,) in pg_tables] == tables
    for table in tables:
        # cid, name, type, notnull, dflt_value, pk
        sqlite_columns = [
            (name, SQLITE_TYPES[kind], bool(notnull or pk), _sqlite_default(default))
            for _, name, kind, notnull, default, pk in await _sqlite_rows(db, f"PRAGMA table_info({table})")
        ]
        pg_columns = [
            (name, kind, nullable == "NO", _pg_default(default))
            for name, kind, nullable, default in await _pg_rows(
                pg_migrated,
                "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
                (table,),
            )
        ]
        assert pg_columns == sqlite_columns, table


async def _sqlite_keys(db: Database, table: str) -> set[tuple[str, tuple[str, ...]]]:
    """Primary key and UNIQUE constraints of a table, as (kind, columns)."""
    keys: set[tuple[str, tuple[str, ...]]] = set()
    pk = [(pos, name) for _, name, _, _, _, pos in await _sqlite_rows(db, f"PRAGMA table_info({table})") if pos]
    if pk:
        keys.add(("p", tuple(name for _, name in sorted(pk))))
    for _, index, _, origin, _ in await _sqlite_rows(db, f"PRAGMA index_list({table})"):
        if origin == "u":
            columns = await _sqlite_rows(db, f"PRAGMA index_info({index})")
            keys.add(("u", tuple(name for _, _, name in sorted(columns))))
    return keys


async def _pg_keys(conn: Any, table: str) -> set[tuple[str, tuple[str, ...]]]:
    rows = await _pg_rows(
        conn,
        """
        SELECT c.contype::text, array_agg(a.attname ORDER BY k.ord)
        FROM pg_constraint c
        CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
        WHERE c.conrelid = (current_schema() || '.' || ?)::regclass AND c.contype IN ('p', 'u')
        GROUP BY c.oid, c.contype
        """,
        (table,),
    )
    return {(kind, tuple(columns)) for kind, columns in rows}


async def test_primary_keys_unique_constraints_and_foreign_keys_match(db: Database, pg_migrated: Any) -> None:
    foreign_key_columns = 0
    for table in await _sqlite_tables(db):
        assert await _pg_keys(pg_migrated, table) == await _sqlite_keys(db, table), table
        # id, seq, parent, from, to, on_update, on_delete, match
        sqlite_fks = sorted(
            (parent, source, target, on_delete)
            for _, _, parent, source, target, _, on_delete, _ in await _sqlite_rows(
                db, f"PRAGMA foreign_key_list({table})"
            )
        )
        pg_fks = sorted(
            (parent, source, target, {"c": "CASCADE", "a": "NO ACTION", "r": "RESTRICT", "n": "SET NULL"}[action])
            for parent, source, target, action in await _pg_rows(
                pg_migrated,
                """
                SELECT p.relname, a.attname, pa.attname, c.confdeltype::text
                FROM pg_constraint c
                CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(attnum, parent_attnum)
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.parent_attnum
                JOIN pg_class p ON p.oid = c.confrelid
                WHERE c.conrelid = (current_schema() || '.' || ?)::regclass AND c.contype = 'f'
                """,
                (table,),
            )
        )
        assert pg_fks == sqlite_fks, table
        foreign_key_columns += len(sqlite_fks)
    assert foreign_key_columns == 7  # six references, one of them on two columns


async def test_indexes_match_by_name_table_columns_order_uniqueness_and_partiality(
    db: Database, pg_migrated: Any
) -> None:
    sqlite_indexes = {}
    for name, table in await _sqlite_rows(
        db, "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'"
    ):
        listed = {row[1]: row for row in await _sqlite_rows(db, f"PRAGMA index_list({table})")}
        _, _, unique, _, partial = listed[name]
        # seqno, cid, name, desc, coll, key
        columns = tuple(
            (column, bool(desc))
            for _, _, column, desc, _, key in await _sqlite_rows(db, f"PRAGMA index_xinfo({name})")
            if key
        )
        sqlite_indexes[name] = (table, bool(unique), bool(partial), columns)

    pg_indexes = {}
    for name, table, unique, partial, oid, keys in await _pg_rows(
        pg_migrated,
        """
        SELECT ic.relname, tc.relname, i.indisunique, i.indpred IS NOT NULL, i.indexrelid::bigint, i.indnkeyatts
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_class tc ON tc.oid = i.indrelid
        WHERE tc.relnamespace = current_schema()::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
    ):
        columns = []
        for k in range(1, keys + 1):
            column, descending = (
                await _pg_rows(
                    pg_migrated,
                    "SELECT pg_get_indexdef(?::oid, ?, true), (indoption[? - 1] & 1) = 1 FROM pg_index"
                    " WHERE indexrelid = ?::oid",
                    (oid, k, k, oid),
                )
            )[0]
            columns.append((column, descending))
        pg_indexes[name] = (table, unique, partial, tuple(columns))
    assert pg_indexes == sqlite_indexes
    assert len(sqlite_indexes) >= 45 and sum(partial for _, _, partial, _ in sqlite_indexes.values()) >= 20


async def test_triggers_match_by_name_table_and_event(db: Database, pg_migrated: Any) -> None:
    sqlite_triggers = {}
    for name, table, sql in await _sqlite_rows(
        db, "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
    ):
        event = re.search(r"\b(AFTER|BEFORE|INSTEAD OF)\s+(INSERT|DELETE|UPDATE)\b", sql)
        assert event is not None, sql
        sqlite_triggers[name] = (
            table,
            event.group(1),
            event.group(2),
            re.search(r"\bWHEN\b", sql.split(" BEGIN")[0]) is not None,
        )
    pg_triggers = {}
    for name, table, definition in await _pg_rows(
        pg_migrated,
        """
        SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal
        """,
    ):
        event = re.search(r"\b(AFTER|BEFORE|INSTEAD OF)\s+(INSERT|DELETE|UPDATE)\b", definition)
        assert event is not None and "FOR EACH ROW" in definition, definition
        pg_triggers[name] = (
            table,
            event.group(1),
            event.group(2),
            re.search(r"\bWHEN\b", definition.split(" EXECUTE ")[0]) is not None,
        )
    assert pg_triggers == sqlite_triggers
    assert len(pg_triggers) == 5


# --- behaviour -------------------------------------------------------------------------------------------------------


async def _both_accept(db: Database, pg: Any, sql: str, params: Sequence[Any]) -> tuple[bool, bool]:
    """Run one statement on both engines (each in its own savepoint on PostgreSQL); did each accept it?"""
    try:
        await db.conn.execute(sql, params)
        sqlite_ok = True
    except sqlite3.IntegrityError:
        sqlite_ok = False
    try:
        async with pg.transaction():
            await pg.execute(_pg_sql(sql), *params)
        pg_ok = True
    except asyncpg.IntegrityConstraintViolationError:  # a check violation, like SQLite's, never a cast error
        pg_ok = False
    return sqlite_ok, pg_ok


# (statement, parameters, accepted): the constructs that needed translating, at and around their limits.
CHECKED_ROWS: list[tuple[str, tuple[Any, ...], bool]] = [
    *[
        ("INSERT INTO guild_config (guild_id, settings, created_at, updated_at) VALUES (?, ?, 0, 0)", (g, s), ok)
        for g, (s, ok) in enumerate(
            [('{"a": 1}', True), ("{}", True), ("[]", False), ("{", False), ("", False), ("1", False), ("null", False)],
            start=1,
        )
    ],
    *[
        ("INSERT INTO jobs (kind, payload, due_at, created_at) VALUES ('k', ?, 0, 0)", (p,), ok)
        for p, ok in [('{"user_id": 5}', True), ('"text"', False), ("{'a': 1}", False)]
    ],
    *[
        ("INSERT INTO helper_duty (guild_id, user_id, topics, updated_at) VALUES (1, ?, ?, 0)", (u, t), ok)
        for u, (t, ok) in enumerate([('["resume"]', True), ("[]", True), ("{}", False), ("[", False)], start=1)
    ],
    *[
        ("INSERT INTO settings_changes (guild_id, name, old_value, new_value, changed_at) VALUES (1, 'x', ?, ?, 0)",
         (old, new), ok)
        for old, new, ok in [(None, "3", True), ("true", "null", True), ("[1]", '"s"', True), ("nope", "1", False),
                             (None, "{", False)]
    ],
    *[
        ("INSERT INTO mentors (guild_id, user_id, topics, timezone, windows, call_minutes, contact_mode, created_at,"
         " updated_at) VALUES (1, ?, ?, 'UTC', 'mon 18:00-19:00', 15, 'discord_voice', 0, 0)", (u, t), ok)
        for u, (t, ok) in enumerate(
            [('["a","b","c","d","e","f","g","h"]', True), ('["a","b","c","d","e","f","g","h","i"]', False),
             ("[]", True), ('{"a": 1}', False), ("not json", False)],
            start=1,
        )
    ],
    *[
        ("INSERT INTO reminder_schedules (guild_id, user_id, cadence, local_time, timezone, created_at, updated_at)"
         " VALUES (1, ?, 'daily', ?, 'UTC', 0, 0)", (u, t), ok)
        for u, (t, ok) in enumerate(
            [("00:00", True), ("23:59", True), ("09:30", True), ("24:00", False), ("29:00", False), ("9:30", False),
             ("09:60", False), ("09:3", False), ("09:30 ", False), ("09:30\n", False), ("a09:30", False),
             ("09-30", False)],
            start=1,
        )
    ],
    *[
        ("INSERT INTO mentor_absences (guild_id, user_id, kind, first_day, last_day, created_at)"
         " VALUES (1, 1, 'away', ?, ?, 0)", (first, last), ok)
        for first, last, ok in [
            ("2026-03-02", "2026-03-02", True), ("2028-02-29", "2028-03-01", True),
            ("2026-3-02", "2026-03-03", False), ("2026-03-02", "2026-03-01", False),
            ("2026-13-01", "2026-13-02", False), ("2026-03-32", "2026-04-01", False),
            ("2026-03-00", "2026-03-01", False), ("2026-03-02T00:00", "2026-03-03", False),
            (" 2026-03-02", "2026-03-03", False), ("9999-12-31", "9999-12-31", True),
        ]
    ],
]  # fmt: skip


async def test_translated_checks_accept_and_refuse_the_same_rows(db: Database, pg_migrated: Any) -> None:
    for sql, params, accepted in CHECKED_ROWS:
        assert await _both_accept(db, pg_migrated, sql, params) == (accepted, accepted), (sql, params)


async def test_impossible_calendar_dates_are_refused_on_postgresql(pg_migrated: Any) -> None:
    """Stricter than SQLite 3.40, whose date() passes 2026-02-30 through unchanged (see 0017_mentor_away.sql)."""
    await pg_migrated.execute(
        "INSERT INTO mentors (guild_id, user_id, timezone, windows, call_minutes, contact_mode, created_at, updated_at)"
        " VALUES (1, 1, 'UTC', 'mon 18:00-19:00', 15, 'discord_voice', 0, 0)"
    )
    for first_day in ("2026-02-29", "2026-02-30", "2026-04-31", "0000-01-01"):
        with pytest.raises(asyncpg.CheckViolationError):
            await pg_migrated.execute(
                "INSERT INTO mentor_absences (guild_id, user_id, kind, first_day, last_day, created_at)"
                " VALUES (1, 1, 'away', $1, '9999-12-31', 0)",
                first_day,
            )


async def test_partial_unique_indexes_refuse_the_same_duplicates(db: Database, pg_migrated: Any) -> None:
    job = "INSERT INTO jobs (kind, status, claimed_by, lease_until, dedupe_key, due_at, created_at)" \
          " VALUES ('k', ?, ?, ?, 'same', 0, 0)"  # fmt: skip
    steps = [
        (job, ("pending", None, None), True),
        (job, ("running", "w", 1), False),  # one live job per key
        (job, ("done", None, None), True),
        (job, ("done", None, None), True),  # finished ones do not count
        ("UPDATE jobs SET status = 'done' WHERE status = 'pending'", (), True),
        (job, ("running", "w", 1), True),
        ("UPDATE jobs SET status = 'done' WHERE status = 'running'", (), True),
        (job, ("pending", None, None), True),
        # storage.jobs.schedule's upsert names the partial index by its predicate: PostgreSQL must infer it too.
        (UPSERT_JOB, (5,), True),
        (UPSERT_JOB, (6,), True),
    ]
    for sql, params, accepted in steps:
        assert await _both_accept(db, pg_migrated, sql, params) == (accepted, accepted), (sql, params)
    # Without the ids: an identity is not rolled back, so the refused insert used one up on PostgreSQL only.
    query = "SELECT status, due_at, dedupe_key FROM jobs ORDER BY id"
    assert await _pg_rows(pg_migrated, query) == await _sqlite_rows(db, query)
    assert [due for status, due, _ in await _sqlite_rows(db, query) if status == "pending"] == [6]


UPSERT_JOB = """
INSERT INTO jobs (kind, payload, due_at, status, dedupe_key, created_at) VALUES ('k', '{}', ?, 'pending', 'same', 0)
ON CONFLICT (dedupe_key) WHERE status IN ('pending', 'running') DO UPDATE SET due_at = excluded.due_at, attempts = 0
WHERE jobs.status = 'pending'
"""


async def test_a_checkin_inserted_while_the_last_one_of_its_week_is_deleted_keeps_its_week_row(
    pg_migrated: Any,
) -> None:
    """PostgreSQL only (SQLite has one writer at a time): a member checks in while their only check-in of the week
    is being deleted (/privacy, retention). The delete trigger waits for the new check-in's transaction and then
    counts it, so the member's week row stays, now naming the new check-in."""
    other = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        schema = await pg_migrated.fetchval("SELECT current_schema()")
        await other.execute(f"SET search_path = {schema}")
        await pg_migrated.execute(_pg_sql(INSERT_CHECKIN), 1, 1, 1, "stuck", 1, "command", MONDAY + 100)
        inserting = other.transaction()
        await inserting.start()
        await other.execute(_pg_sql(INSERT_CHECKIN), 2, 1, 1, "on_track", 0, "command", MONDAY + 200)
        deleting = asyncio.create_task(pg_migrated.execute("DELETE FROM checkins WHERE id = 1"))
        deleter = pg_migrated.get_server_pid()
        while not await other.fetchval(  # the delete is waiting for the insert's lock (a condition, not a clock)
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", deleter
        ):
            assert not deleting.done(), deleting.result()
            await asyncio.sleep(0.01)
        await inserting.commit()
        await deleting
        assert await _week_tables(_pg_rows, pg_migrated) == (
            [(1, MONDAY, 1, "on_track", MONDAY + 200, 2, 0)],
            [(1, MONDAY, "on_track", 1, 0)],
        )
    finally:
        await other.close()


async def _week_tables(rows: Any, source: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    members = await rows(source, "SELECT * FROM checkin_week_members ORDER BY guild_id, week, user_id")
    counts = await rows(source, "SELECT * FROM checkin_week_counts ORDER BY guild_id, week, status")
    return members, counts


# The aggregates recomputed from the check-ins themselves (the backfill of migration 0011), in SQL both engines run.
EXPECTED_MEMBERS = """
SELECT guild_id, week, user_id, status, created_at, id, shared FROM (
    SELECT guild_id, created_at - (((created_at - 345600) % 604800) + 604800) % 604800 AS week, user_id, status,
           created_at, id, SUM(share_with_helpers) OVER member_week AS shared,
           ROW_NUMBER() OVER (member_week ORDER BY created_at DESC, id DESC) AS rn
    FROM checkins
    WINDOW member_week AS (PARTITION BY guild_id, created_at - (((created_at - 345600) % 604800) + 604800) % 604800,
                           user_id)
) AS latest WHERE rn = 1 ORDER BY guild_id, week, user_id
"""


def _random_checkin(rng: random.Random, next_id: int) -> tuple[Any, ...]:
    status = rng.choice(["on_track", "stuck", "rut", "hired"])
    shared = int(status in ("stuck", "rut") and rng.random() < 0.5)
    # Three weeks, crowded at their edges, with some timestamps shared (so the id breaks the tie).
    created_at = MONDAY + rng.randrange(3) * WEEK + rng.choice([-1, 0, 1, 3600, WEEK - 1, rng.randrange(WEEK)])
    return (next_id, rng.randrange(1, 3), rng.randrange(1, 4), status, shared, "command", created_at)


INSERT_CHECKIN = (
    "INSERT INTO checkins (id, guild_id, user_id, status, share_with_helpers, source, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


async def test_checkin_week_triggers_keep_the_same_aggregates_on_both(db: Database, pg_migrated: Any) -> None:
    """Random inserts and deletes (one row, a member's purge, a retention cut, a whole guild), the same on both:
    after every step both engines hold the same week rows, and those are what the check-ins say they should be."""
    rng = random.Random(13)
    next_id = 1
    kinds_seen: set[str] = set()
    for step in range(400):
        ids = [row[0] for row in await _sqlite_rows(db, "SELECT id FROM checkins")]
        roll = rng.random()
        if roll < 0.6 or not ids:
            # Explicit ids: SQLite may reuse a deleted rowid, an identity never does, and latest_id must agree.
            sql, params = INSERT_CHECKIN, _random_checkin(rng, next_id)
            next_id += 1
            kind = "insert"
        elif roll < 0.8:
            sql, params, kind = "DELETE FROM checkins WHERE id = ?", (rng.choice(ids),), "delete one"
        elif roll < 0.9:
            sql = "DELETE FROM checkins WHERE guild_id = ? AND user_id = ?"
            params, kind = (rng.randrange(1, 3), rng.randrange(1, 4)), "delete a member"
        elif roll < 0.97:
            sql = "DELETE FROM checkins WHERE created_at < ?"
            params, kind = (MONDAY + rng.randrange(4) * WEEK + rng.choice([-1, 0, 1800]),), "retention"
        else:
            sql, params, kind = "DELETE FROM checkins WHERE guild_id = ?", (rng.randrange(1, 3),), "delete a guild"
        kinds_seen.add(kind)
        await db.conn.execute(sql, params)
        await pg_migrated.execute(_pg_sql(sql), *params)
        sqlite_tables = await _week_tables(_sqlite_rows, db)
        assert await _week_tables(_pg_rows, pg_migrated) == sqlite_tables, (step, kind, sql, params)
        members, counts = sqlite_tables
        assert members == await _sqlite_rows(db, EXPECTED_MEMBERS), (step, kind)
        expected_counts: dict[tuple[Any, ...], list[int]] = {}
        for guild, week, _, status, _, _, shared in members:
            count = expected_counts.setdefault((guild, week, status), [0, 0])
            count[0] += 1
            count[1] += shared > 0
        assert counts == sorted((*key, *value) for key, value in expected_counts.items()), (step, kind)
    assert kinds_seen == {"insert", "delete one", "delete a member", "retention", "delete a guild"}
    assert (await _sqlite_rows(db, "SELECT COUNT(*) FROM checkin_week_members"))[0][0] > 0


async def test_a_multi_row_insert_and_a_status_change_keep_the_same_aggregates(db: Database, pg_migrated: Any) -> None:
    """PostgreSQL fires the row triggers at the end of the statement: several check-ins in one statement, same week."""
    rows = [
        (1, 1, 1, "stuck", 1, "command", MONDAY + 10),
        (2, 1, 1, "on_track", 0, "command", MONDAY + 20),
        (3, 1, 2, "rut", 1, "command", MONDAY + 20),
        (4, 1, 1, "rut", 1, "command", MONDAY + 20),  # same instant as id 2: the larger id is the latest
    ]
    sql = INSERT_CHECKIN + ", (?, ?, ?, ?, ?, ?, ?)" * (len(rows) - 1)
    flat = [value for row in rows for value in row]
    await db.conn.execute(sql, flat)
    await pg_migrated.execute(_pg_sql(sql), *flat)
    expected = (
        [(1, MONDAY, 1, "rut", MONDAY + 20, 4, 2), (1, MONDAY, 2, "rut", MONDAY + 20, 3, 1)],
        [(1, MONDAY, "rut", 2, 2)],
    )
    assert await _week_tables(_sqlite_rows, db) == expected
    assert await _week_tables(_pg_rows, pg_migrated) == expected
    # Deleting the two latest in one statement: the stuck one from earlier decides again.
    await db.conn.execute("DELETE FROM checkins WHERE id IN (2, 4)")
    await pg_migrated.execute("DELETE FROM checkins WHERE id IN (2, 4)")
    expected = (
        [(1, MONDAY, 1, "stuck", MONDAY + 10, 1, 1), (1, MONDAY, 2, "rut", MONDAY + 20, 3, 1)],
        [(1, MONDAY, "rut", 1, 1), (1, MONDAY, "stuck", 1, 1)],
    )
    assert await _week_tables(_sqlite_rows, db) == expected
    assert await _week_tables(_pg_rows, pg_migrated) == expected


# --- data migrations on existing rows --------------------------------------------------------------------------------


async def _migrate_both(db: Database, pg: Any, versions: range) -> None:
    """Apply migrations ``versions`` (1-based, e.g. range(1, 9) for 1..8) to both engines."""
    await migrate(db, load_migrations()[: versions.stop - 1])
    await _apply_pg(pg, load_migrations(PG_MIGRATIONS_DIR)[versions.start - 1 : versions.stop - 1])


async def test_data_migrations_0009_and_0011_give_the_same_rows(db_path: Path, pg: Any) -> None:
    db = await Database.open(db_path)
    try:
        await _migrate_both(db, pg, range(1, 9))
        jobs = [
            ('{"guild_id": 1, "user_id": 42}', None),
            ('{"guild_id": 1, "user_id": "43"}', None),
            ('{"guild_id": 1, "user_id": "x"}', None),
            ('{"guild_id": 1, "user_id": 4.5}', None),
            ('{"guild_id": 1, "user_id": null}', None),
            ('{"guild_id": 1}', None),
            ('{"guild_id": 1, "user_id": 7}', 8),
        ]
        for payload, user_id in jobs:
            sql = "INSERT INTO jobs (kind, payload, user_id, due_at, created_at) VALUES ('roster', ?, ?, 0, 0)"
            await db.conn.execute(sql, (payload, user_id))
            await pg.execute(_pg_sql(sql), payload, user_id)
        await db.raw.commit()
        await _migrate_both(db, pg, range(9, 11))
        query = "SELECT id, payload, user_id FROM jobs ORDER BY id"
        assert await _pg_rows(pg, query) == await _sqlite_rows(db, query)
        assert [user for _, _, user in await _sqlite_rows(db, query)] == [42, 43, 0, None, None, None, 8]

        rng = random.Random(11)
        for next_id in range(1, 80):
            row = _random_checkin(rng, next_id)
            await db.conn.execute(INSERT_CHECKIN, row)
            await pg.execute(_pg_sql(INSERT_CHECKIN), *row)
        await db.raw.commit()
        await _migrate_both(db, pg, range(11, len(load_migrations()) + 1))
        sqlite_tables = await _week_tables(_sqlite_rows, db)
        assert sqlite_tables[0] and sqlite_tables[1]
        assert await _week_tables(_pg_rows, pg) == sqlite_tables
    finally:
        await db.close()
