"""Start-up with a bad database, on the real process: a clear message naming the file, exit code 2, never a hang.

Each run has a timeout, so a process that hangs fails the test instead of the suite. Discord's endpoints point at a
closed port on loopback: these checks happen before Porchlight connects anywhere.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from storage.db import Database
from storage.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]
PAGE = 4096
HANG = 30  # seconds: far above a healthy start-up check, and the test fails instead of hanging


def run_bot(database: Path, *, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORCHLIGHT_")}
    env.update(
        PORCHLIGHT_TOKEN="not-a-real-token",
        PORCHLIGHT_DATABASE_PATH=str(database),
        PORCHLIGHT_DISCORD_API_BASE="http://127.0.0.1:9/api/v10",
        PORCHLIGHT_DISCORD_GATEWAY_URL="ws://127.0.0.1:9/",
    )
    return subprocess.run(
        [*prefix, sys.executable, str(ROOT / "bot.py")],
        cwd=database.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG,
    )


@pytest.fixture
async def healthy(tmp_path: Path) -> Path:
    """A migrated database with enough rows to span many pages, closed cleanly (no -wal left)."""
    path = tmp_path / "data" / "porchlight.db"
    db = await Database.open(path)
    await migrate(db)
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)", [(f"filler-{i}", "x" * 200) for i in range(2000)]
        )
    await db.close()
    return path


def assert_refused_as_damaged(result: subprocess.CompletedProcess[str], path: Path) -> None:
    assert result.returncode == 2, result.stderr
    assert f"database {path} is damaged" in result.stderr
    assert "restore the latest backup" in result.stderr and "Backups and restore" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_with_a_garbage_header_stops_with_exit_2_and_says_to_restore(healthy: Path) -> None:
    with healthy.open("r+b") as handle:
        handle.write(os.urandom(100))
    result = run_bot(healthy)
    assert_refused_as_damaged(result, healthy)
    assert "file is not a database" in result.stderr


def test_a_truncated_database_stops_with_exit_2_and_says_to_restore(healthy: Path) -> None:
    size = healthy.stat().st_size
    assert size > 20 * PAGE
    os.truncate(healthy, size // 2)
    assert_refused_as_damaged(run_bot(healthy), healthy)


def test_a_database_with_garbage_pages_stops_with_exit_2_and_says_to_restore(healthy: Path) -> None:
    pages = healthy.stat().st_size // PAGE
    with healthy.open("r+b") as handle:
        for page in range(2, pages, 4):  # keep the header page; overwrite every fourth page after it
            handle.seek(page * PAGE)
            handle.write(os.urandom(PAGE))
    assert_refused_as_damaged(run_bot(healthy), healthy)


def test_damage_only_quick_check_sees_stops_with_exit_2(healthy: Path) -> None:
    """Rows that break their table's constraints: every page reads fine, only quick_check notices."""
    conn = sqlite3.connect(healthy, isolation_level=None)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_schema SET sql = replace(sql, 'value TEXT NOT NULL', "
        "'value TEXT NOT NULL CHECK (length(value) < 100)') WHERE name = 'meta'"
    )
    conn.close()
    result = run_bot(healthy)
    assert result.returncode == 2, result.stderr
    assert f"database {healthy} is damaged (quick_check: CHECK constraint failed in meta)" in result.stderr


READ_ONLY_BIND = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"'


def test_a_database_on_a_read_only_mount_stops_with_exit_2_and_says_what_to_fix(healthy: Path) -> None:
    """The folder bind-mounted read-only, as a container volume with ``:ro`` or a disk the kernel remounted
    read-only after errors: the kernel refuses the writes (EROFS), whoever the process runs as."""
    prefix = ("unshare", "--user", "--map-root-user", "--mount", "sh", "-c", READ_ONLY_BIND, "sh", str(healthy.parent))
    if shutil.which("unshare") is None or subprocess.run([*prefix, "true"], timeout=10).returncode != 0:
        pytest.skip("needs unprivileged user and mount namespaces (unshare) to mount a folder read-only")
    result = run_bot(healthy, prefix=prefix)
    assert result.returncode == 2, result.stderr
    assert f"cannot write to its database {healthy}" in result.stderr
    assert f"-wal and -shm files cannot be created in {healthy.parent}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_file_the_bots_user_cannot_write_stops_with_exit_2(healthy: Path) -> None:
    """Mode 444 (say, a file left owned by another user). Tests run as root, which writes through file modes; the
    bot is then started without the capabilities that let root do that (CAP_DAC_OVERRIDE, CAP_FOWNER), so the
    kernel checks the mode as it would for the service user."""
    healthy.chmod(0o444)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot take away root's write access")
        drop = "-dac_override,-fowner"
        prefix = ("setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}")
    result = run_bot(healthy, prefix=prefix)
    assert result.returncode == 2, result.stderr
    assert f"cannot write to its database {healthy}" in result.stderr
    assert "readonly database" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_error_after_the_database_opened_exits_1_instead_of_hanging(healthy: Path) -> None:
    Path(f"{healthy}.key").mkdir()  # the key "file" cannot be read: start-up fails after the database is open
    result = run_bot(healthy)
    assert result.returncode == 1, result.stderr
    assert "stopped by an unexpected error error=IsADirectoryError" in result.stderr


def test_a_database_another_process_holds_locked_stops_with_exit_2(healthy: Path) -> None:
    holder = sqlite3.connect(healthy, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a write lock held for longer than the busy timeout
    try:
        result = run_bot(healthy)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 2, result.stderr
    assert f"database {healthy} is locked by another process" in result.stderr
    assert "Is another Porchlight already running" in result.stderr
