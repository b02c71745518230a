from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.db import Database
from storage.migrate import DatabaseTooNew, current_version, load_migrations, migrate, migrations_for, set_version
from tests.conftest import open_test_database


async def _tables(db: Database) -> list[str]:
    async with db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") as cur:
        return [row[0] for row in await cur.fetchall()]


async def _schema(db: Database) -> list[tuple[str, str]]:
    async with db.conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name") as cur:
        return [(row[0], row[1]) for row in await cur.fetchall()]


async def test_migrating_an_empty_database_creates_the_tables_and_sets_user_version(db_path: Path) -> None:
    db = await Database.open(db_path)
    try:
        version = await migrate(db)
        assert version == len(load_migrations()) == await current_version(db)
        assert {"guild_config", "jobs", "meta"} <= set(await _tables(db))
    finally:
        await db.close()


@pytest.mark.sqlite_only
async def test_running_migrations_again_changes_nothing(db: Database) -> None:
    before = (await _schema(db), await current_version(db))
    assert await migrate(db) == before[1]
    assert (await _schema(db), await current_version(db)) == before


async def test_a_failing_migration_leaves_the_database_exactly_as_it_was(tmp_path: Path, db_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_good.sql").write_text("CREATE TABLE kept (id INTEGER PRIMARY KEY) STRICT;\n")
    (migrations / "0002_broken.sql").write_text(
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY) STRICT;\n"
        "INSERT INTO kept (id) VALUES (1);\n"
        "INSERT INTO no_such_table (id) VALUES (1);\n"
    )
    db = await Database.open(db_path)
    try:
        await migrate(db, load_migrations(migrations)[:1])
        before = (await _schema(db), await current_version(db))
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            await migrate(db, load_migrations(migrations))
        assert (await _schema(db), await current_version(db)) == before == (before[0], 1)
        assert await _tables(db) == ["kept"]
        async with db.conn.execute("SELECT COUNT(*) FROM kept") as cur:
            assert (await cur.fetchone())[0] == 0  # type: ignore[index]
        assert not db.conn.in_transaction  # the connection is usable afterwards
    finally:
        await db.close()


async def test_a_database_from_a_newer_porchlight_is_refused_with_a_clear_message(db: Database) -> None:
    newer = len(migrations_for(db)) + 1
    async with db.transaction() as conn:
        await set_version(db, conn, newer)
    with pytest.raises(DatabaseTooNew, match=rf"schema version {newer}.*only knows up to {newer - 1}.*Upgrade"):
        await migrate(db)


async def test_two_processes_starting_together_apply_each_migration_once(
    db_path: Path, postgres_schema_url: str | None
) -> None:
    import asyncio

    first = await open_test_database(db_path, postgres_schema_url)
    second = await open_test_database(db_path, postgres_schema_url)
    try:
        versions = await asyncio.gather(migrate(first), migrate(second))
        assert versions == [len(migrations_for(first))] * 2 == [await current_version(second)] * 2
    finally:
        await first.close()
        await second.close()


@pytest.mark.sqlite_only
async def test_tables_are_strict_and_reject_a_wrong_type(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="cannot store TEXT value in INTEGER column"):
        await db.conn.execute(
            "INSERT INTO jobs (kind, due_at, status, created_at) VALUES ('x', 'tomorrow', 'pending', 0)"
        )


@pytest.mark.sqlite_only
async def test_cancelling_a_task_while_it_begins_a_transaction_leaves_none_open(db: Database) -> None:
    import asyncio

    entered = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as conn:
            entered.set()
            await conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")

    task = asyncio.create_task(writer())
    await asyncio.sleep(0)  # one turn: the task awaits its first statement, BEGIN IMMEDIATE with it, on the thread
    assert entered.is_set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await db.conn.execute("SELECT 1")  # statements run in order: anything queued before has finished
    assert not db.conn.in_transaction  # the BEGIN ran, and the cancelled transaction was rolled back
    assert await db.conn.execute_fetchall("SELECT value FROM meta WHERE key = 'k'") == []
    async with db.transaction() as conn:  # the shared connection still works
        await conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")


@pytest.mark.sqlite_only
async def test_a_transaction_that_could_not_begin_runs_nothing_even_when_its_body_catches_the_error(
    db: Database, second_db: Database
) -> None:
    """The BEGIN travels with the body's first statement: when it fails (another process holds SQLite's write lock
    past the busy timeout), no later statement of the body runs outside a transaction, and the block raises."""
    import contextlib

    await db.conn.execute("PRAGMA busy_timeout = 50")
    async with second_db.transaction() as other:  # another process, writing
        await other.execute("INSERT INTO meta (key, value) VALUES ('other', '1')")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            async with db.transaction() as conn:
                with contextlib.suppress(sqlite3.OperationalError):
                    await conn.execute("INSERT INTO meta (key, value) VALUES ('first', 'x')")
                assert not conn.in_transaction
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    await conn.execute("INSERT INTO meta (key, value) VALUES ('second', 'x')")
        assert not db.conn.in_transaction
    rows = await db.conn.execute_fetchall("SELECT key FROM meta WHERE key IN ('other', 'first', 'second')")
    assert [row[0] for row in rows] == ["other"]
    async with db.transaction() as conn:  # the lock is free again: transactions begin as before
        await conn.execute("INSERT INTO meta (key, value) VALUES ('first', 'x')")
    assert await db.conn.execute_fetchall("SELECT value FROM meta WHERE key = 'first'") != []


@pytest.mark.sqlite_only
async def test_a_transaction_that_runs_no_statement_begins_and_commits_nothing(db: Database) -> None:
    commits = db.commits
    async with db.transaction():
        pass
    assert db.commits == commits and not db.conn.in_transaction
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
    assert db.commits == commits + 1


@pytest.mark.sqlite_only
async def test_a_one_statement_block_commits_its_statement_alone_and_refuses_a_second(db: Database) -> None:
    commits = db.commits
    async with db.statement() as conn:
        assert not conn.in_transaction  # a function that needs a transaction refuses this connection
        await conn.execute("INSERT INTO meta (key, value) VALUES ('one', '1')")
        assert not db.conn.in_transaction  # no BEGIN was made: SQLite committed the statement as it ran
        with pytest.raises(RuntimeError, match="one statement"):
            await conn.execute("INSERT INTO meta (key, value) VALUES ('two', '2')")
    assert db.commits == commits + 1
    rows = await db.conn.execute_fetchall("SELECT key FROM meta WHERE key IN ('one', 'two')")
    assert [row[0] for row in rows] == ["one"]
