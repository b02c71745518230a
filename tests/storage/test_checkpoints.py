"""The write-ahead log is copied into the database by a connection of its own, never inside an interaction's COMMIT."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.db import BACKSTOP_CHECKPOINT_PAGES, CHECKPOINT_EVERY_COMMITS, Database

pytestmark = pytest.mark.sqlite_only  # about the SQLite file itself


async def write(db: Database, times: int) -> None:
    for _ in range(times):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES (hex(randomblob(8)), ?)", ("v" * 200,))


def wal_frames(path: Path) -> tuple[int, int]:
    """(frames in the log, frames already in the database), asked from a third connection."""
    conn = sqlite3.connect(path)
    try:
        _, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        conn.close()
    return log, done


async def test_commits_ask_the_background_connection_for_a_checkpoint_every_so_often(db: Database) -> None:
    assert db.checkpointer is not None
    async with db.conn.execute("PRAGMA wal_autocheckpoint") as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == BACKSTOP_CHECKPOINT_PAGES  # only a backstop on the main connection
    before = db.checkpointer.requests
    await write(db, CHECKPOINT_EVERY_COMMITS - 1 - db.commits % CHECKPOINT_EVERY_COMMITS)
    assert db.checkpointer.requests == before
    await write(db, 1)
    assert db.checkpointer.requests == before + 1


async def test_a_background_checkpoint_copies_the_whole_log_while_the_main_connection_keeps_working(
    db: Database, db_path: Path
) -> None:
    assert db.checkpointer is not None
    async with db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)"):  # start from an empty log
        pass
    await write(db, 50)
    async with db.conn.execute("SELECT count(*) FROM meta") as cur:  # the main connection holds no lock meanwhile
        assert (await cur.fetchone())[0] >= 50  # type: ignore[index]
    await db.checkpointer.checkpoint()
    log, done = wal_frames(db_path)
    assert log > 0 and done == log


async def test_closing_the_database_ends_the_checkpoint_connection(db_path: Path) -> None:
    db = await Database.open(db_path)
    assert db.checkpointer is not None
    await db.checkpointer.checkpoint()
    await db.close()
    assert db.checkpointer.done == 1
    db.checkpointer.request()  # after close: ignored, nothing starts
    assert db.checkpointer.requests == 1


async def test_a_statement_is_run_to_its_end_with_its_rows_in_one_trip(db: Database, db_path: Path) -> None:
    """Rows come with their statement (one hand-over to the database thread, not three): RETURNING rows, rowcount and
    lastrowid as before, and a read whose first row is all the caller wanted holds no snapshot open afterwards, so a
    checkpoint from another connection can copy the whole log."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO meta (key, value) VALUES ('a', '1'), ('b', '2'), ('c', '3') RETURNING key"
        )
        assert [row[0] for row in await cur.fetchall()] == ["a", "b", "c"] and cur.rowcount == 3
        assert cur.lastrowid is not None
    cur = await db.conn.execute("SELECT key FROM meta WHERE key IN ('a', 'b', 'c') ORDER BY key")
    first = await cur.fetchone()
    assert first is not None and first[0] == "a"
    other = sqlite3.connect(db_path)
    try:
        busy, log, done = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        other.close()
    assert busy == 0 and log == done == 0  # nothing held the log: it was copied and truncated
    assert [row[0] for row in await cur.fetchmany(5)] == ["b", "c"] and await cur.fetchone() is None
    await cur.close()
