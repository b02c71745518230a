"""Backups on real SQLite files: complete, checked, consistent while another connection writes, rotated."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.backup import (
    BackupFailed,
    automatic_backups,
    backup_database,
    latest_backup_at,
    make_automatic_backup,
)
from storage.db import Database

pytestmark = pytest.mark.sqlite_only  # about the SQLite file itself

ROWS = 500


async def fill(db: Database, rows: int = ROWS, prefix: str = "row") -> None:
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)", [(f"{prefix}-{i}", "x" * 100) for i in range(rows)]
        )


def read_back(path: Path) -> tuple[list[str], set[str], str]:
    """quick_check's findings, the meta keys and the journal mode of a backup file, opened on its own."""
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        keys = {row[0] for row in conn.execute("SELECT key FROM meta")}
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    return problems, keys, mode


async def test_a_backup_opens_passes_quick_check_holds_every_row_and_is_private(
    db: Database, db_path: Path, tmp_path: Path
) -> None:
    await fill(db)
    key = tmp_path / "porchlight.sqlite3.key"
    key.write_bytes(b"a-fernet-key")
    key.chmod(0o600)

    made = await asyncio.to_thread(backup_database, db_path, tmp_path / "out" / "copy.db", key_file=key)

    problems, keys, mode = read_back(made.path)
    assert problems == ["ok"]
    assert {f"row-{i}" for i in range(ROWS)} <= keys
    assert mode == "delete"  # one self-contained file: no -wal needed to read it
    assert sorted(os.listdir(made.path.parent)) == ["copy.db", "copy.db.key"]  # no -wal, no .partial left
    assert made.path.stat().st_mode & 0o777 == 0o600  # members' private data
    assert made.key_path == Path(f"{made.path}.key")
    assert made.key_path.read_bytes() == b"a-fernet-key" and made.key_path.stat().st_mode & 0o777 == 0o600


async def test_a_backup_taken_while_another_connection_writes_is_the_committed_snapshot(
    db: Database, second_db: Database, db_path: Path, tmp_path: Path
) -> None:
    """The bot's connection is in the middle of a write transaction: the backup neither waits for it nor sees it."""
    await fill(db, prefix="committed")
    async with second_db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)", [(f"in-flight-{i}", "y") for i in range(ROWS)]
        )
        made = await asyncio.to_thread(backup_database, db_path, tmp_path / "mid-write.db")
    problems, keys, _ = read_back(made.path)
    assert problems == ["ok"]
    assert {f"committed-{i}" for i in range(ROWS)} <= keys
    assert not any(key.startswith("in-flight-") for key in keys)
    # and the writer's transaction committed normally after the backup
    rows = await db.conn.execute_fetchall("SELECT COUNT(*) FROM meta WHERE key LIKE 'in-flight-%'")
    assert list(rows)[0][0] == ROWS


async def test_a_second_backup_to_the_same_path_replaces_the_first_atomically(
    db: Database, db_path: Path, tmp_path: Path
) -> None:
    target = tmp_path / "nightly.db"
    await asyncio.to_thread(backup_database, db_path, target)
    await fill(db, prefix="later")
    await asyncio.to_thread(backup_database, db_path, target)
    assert {f"later-{i}" for i in range(ROWS)} <= read_back(target)[1]


def test_backing_up_a_missing_database_fails_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(BackupFailed, match="there is no database at"):
        backup_database(tmp_path / "missing.db", tmp_path / "copy.db")
    assert list(tmp_path.iterdir()) == []


async def test_backing_up_a_damaged_database_fails_and_leaves_no_file(
    db: Database, db_path: Path, tmp_path: Path
) -> None:
    await fill(db)
    await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damaged = tmp_path / "damaged.db"
    shutil.copyfile(db_path, damaged)
    conn = sqlite3.connect(damaged, isolation_level=None)
    conn.execute("PRAGMA writable_schema = ON")  # rows now break a CHECK their table declares
    conn.execute(
        "UPDATE sqlite_schema SET sql = replace(sql, 'value TEXT NOT NULL', "
        "'value TEXT NOT NULL CHECK (length(value) < 50)') WHERE name = 'meta'"
    )
    conn.close()
    with pytest.raises(BackupFailed, match="fails quick_check"):
        backup_database(damaged, tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists() and not (tmp_path / "copy.db.partial").exists()


def test_backing_up_a_database_onto_itself_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "p.db"
    sqlite3.connect(source).close()
    with pytest.raises(BackupFailed, match="onto itself"):
        backup_database(source, source)


async def test_rotation_keeps_the_newest_n_with_their_keys_and_nothing_else_is_touched(
    db: Database, db_path: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    key = tmp_path / "key"
    key.write_bytes(b"k")
    start = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    folder.mkdir(mode=0o700)
    unrelated = folder / "porchlight.sqlite3-before-upgrade.db"
    unrelated.write_bytes(b"an operator's own copy")

    for day in range(10):
        await asyncio.to_thread(
            make_automatic_backup, db_path, folder, at=start + timedelta(days=day), keep=7, key_file=key
        )

    kept = automatic_backups(folder, db_path)
    assert [p.name for p in kept] == [f"porchlight-202603{d:02d}T030000Z.sqlite3" for d in range(5, 12)]
    assert sorted(p.name for p in folder.glob("*.key")) == sorted(f"{p.name}.key" for p in kept)
    assert unrelated.exists()
    assert latest_backup_at(folder, db_path) == start + timedelta(days=9)
    assert all(read_back(p)[0] == ["ok"] for p in kept)
