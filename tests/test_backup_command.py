"""``python bot.py --backup PATH`` on the real process, while another connection keeps writing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BATCH = 50


def backup(database: Path, target: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORCHLIGHT_")}
    env.update(PORCHLIGHT_DATABASE_PATH=str(database), **extra_env)
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "--backup", str(target)],
        cwd=database.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "porchlight.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE checkins (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, note TEXT NOT NULL)")
    conn.close()
    Path(f"{path}.key").write_bytes(b"key")
    Path(f"{path}.key").chmod(0o600)
    return path


class Writer:
    """Commits batches of BATCH rows, one transaction each, until stopped: the bot at work."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.first_commit = threading.Event()
        self.stop = threading.Event()
        self.batches = 0
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            while not self.stop.is_set():
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT INTO checkins (batch, note) VALUES (?, ?)", [(self.batches, "z" * 300)] * BATCH
                )
                conn.execute("COMMIT")
                self.batches += 1
                self.first_commit.set()
        finally:
            conn.close()


@pytest.fixture
def writer(database: Path) -> Iterator[Writer]:
    w = Writer(database)
    w.thread.start()
    assert w.first_commit.wait(30)
    yield w
    w.stop.set()
    w.thread.join(30)


def test_backup_while_another_connection_writes_is_complete_consistent_and_checked(
    database: Path, writer: Writer, tmp_path: Path
) -> None:
    before = writer.batches
    result = backup(database, tmp_path / "safe" / "copy.db")
    after = writer.batches
    assert result.returncode == 0, result.stderr
    target = tmp_path / "safe" / "copy.db"
    assert f"Backed up {database} to {target}" in result.stdout and "quick_check ok" in result.stdout
    assert f"Copied the contact-details key to {target}.key (mode 600)" in result.stdout

    copy = sqlite3.connect(f"{target.as_uri()}?mode=ro", uri=True)
    try:
        assert copy.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        rows, batches = copy.execute("SELECT COUNT(*), COUNT(DISTINCT batch) FROM checkins").fetchone()
    finally:
        copy.close()
    assert rows == batches * BATCH  # whole transactions only: a snapshot, never half a batch
    assert before <= batches <= after + 1  # everything committed before the backup started, nothing invented
    assert target.stat().st_mode & 0o777 == 0o600


def test_backup_into_a_folder_gets_a_timestamped_name(database: Path, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    result = backup(database, folder)
    assert result.returncode == 0, result.stderr
    made = [p.name for p in folder.iterdir() if not p.name.endswith(".key")]
    assert len(made) == 1 and made[0].startswith("porchlight-") and made[0].endswith("Z.db")


def test_backup_with_the_key_in_the_environment_copies_no_key_and_says_to_keep_it(
    database: Path, tmp_path: Path
) -> None:
    result = backup(database, tmp_path / "copy.db", PORCHLIGHT_ENCRYPTION_KEY="from-the-environment")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "copy.db.key").exists()
    assert "keep that key too" in result.stdout
    assert "from-the-environment" not in result.stdout + result.stderr


def test_backup_of_a_missing_database_exits_2_and_creates_no_database(tmp_path: Path) -> None:
    result = backup(tmp_path / "nowhere.db", tmp_path / "copy.db")
    assert result.returncode == 2
    assert f"No backup made: there is no database at {tmp_path / 'nowhere.db'}" in result.stderr
    assert not (tmp_path / "nowhere.db").exists() and not (tmp_path / "copy.db").exists()
