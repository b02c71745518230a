"""The real bot process against the twin across starts: a new database, a restore from backup, a crash mid-job."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from demo.community import Community
from services.backups import BACKUP_JOB
from services.contact import PhoneVault
from storage import jobs
from storage.backup import backup_name
from storage.db import Database
from storage.migrate import migrate
from twin.state import Application
from twin.testing import wait_for_gateway

ROOT = Path(__file__).resolve().parents[2]


def process_env(c: Community, name: str, database: Path) -> tuple[dict[str, str], Application]:
    """The environment of a Porchlight process of its own (a new application in the community's server)."""
    app = c.twin.create_application(name)
    c.twin.add_bot(c.guild, app, 0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORCHLIGHT_")}
    env.update(
        PORCHLIGHT_TOKEN=app.token,
        PORCHLIGHT_DATABASE_PATH=str(database),
        PORCHLIGHT_DISCORD_API_BASE=c.twin.api_base,
        PORCHLIGHT_DISCORD_GATEWAY_URL=c.twin.gateway_url,
    )
    return env, app


async def run_until(
    c: Community, env: dict[str, str], app: Application, *, log_line: str | None = None
) -> tuple[int, str]:
    """Start ``bot.py``; once it is connected to the gateway (and, if given, has logged ``log_line``), SIGTERM it.
    Returns the exit code and everything it logged (also when it exits by itself before connecting)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bot.py"),
        cwd=Path(env["PORCHLIGHT_DATABASE_PATH"]).parent,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        if log_line is not None:
            async with asyncio.timeout(30):
                while not any(log_line in line for line in lines):
                    line = (await process.stderr.readline()).decode()
                    assert line, "the process ended early: " + "".join(lines)
                    lines.append(line)
        connected = asyncio.ensure_future(wait_for_gateway(c.twin, app, within=30))
        ended = asyncio.ensure_future(process.wait())
        await asyncio.wait({connected, ended}, return_when=asyncio.FIRST_COMPLETED)
        if not ended.done():
            connected.result()  # raises if it never connected
            process.send_signal(signal.SIGTERM)
        connected.cancel()
        _, rest = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode is not None
    return process.returncode, "".join(lines) + rest.decode()


def read(database: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(database)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def restore_as_the_readme_says(backup: Path, database: Path, *, aside: Path) -> None:
    """README, "Backups and restore": move the database and its -wal/-shm aside, copy the backup and its key in."""
    aside.mkdir()
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{database}{suffix}").exists():
            shutil.move(f"{database}{suffix}", aside)
    shutil.copy(backup, database)
    shutil.copy(f"{backup}.key", f"{database}.key")


async def test_a_zero_length_database_file_is_treated_as_new_and_logged(community: Community, tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "porchlight.db"
    database.parent.mkdir()
    database.touch()  # e.g. created by a deployment script or `touch`
    env, app = process_env(community, "Porchlight Fresh", database)

    code, log = await run_until(community, env, app)

    assert code == 0, log
    assert f"created a new database at {database}" in log
    tables = {row[0] for row in read(database, "SELECT name FROM sqlite_schema")}
    assert {"jobs", "meta", "checkins"} <= tables


async def test_restoring_a_backup_as_the_readme_says_brings_the_bot_back_with_its_data(
    community: Community, tmp_path: Path
) -> None:
    database = tmp_path / "live" / "porchlight.db"
    env, app = process_env(community, "Porchlight Restored", database)
    db = await Database.open(database)
    await migrate(db)
    await db.conn.execute("INSERT INTO meta (key, value) VALUES ('marker', 'in the backup')")
    await db.close()
    key = database.with_name("porchlight.db.key")
    secret = PhoneVault.generate_key()
    key.write_bytes(secret)
    backups = tmp_path / "safe"
    backups.mkdir()

    made = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), "--backup", str(backups), env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(made.communicate(), 60)
    assert made.returncode == 0, out
    [copy] = [p for p in backups.iterdir() if p.suffix == ".db"]

    # The disk fails: the live file is damaged and the key file lost.
    with database.open("r+b") as handle:
        handle.write(b"\0" * 100)
    key.unlink()
    restore_as_the_readme_says(copy, database, aside=tmp_path / "damaged")

    code, log = await run_until(community, env, app)

    assert code == 0, log
    assert "quick_check=ok write=ok" in log
    assert read(database, "SELECT value FROM meta WHERE key = 'marker'") == [("in the backup",)]
    assert key.read_bytes() == secret


async def test_after_a_crash_the_restarted_process_runs_the_interrupted_job_at_once(
    community: Community, tmp_path: Path
) -> None:
    """The previous run died (SIGKILL) in the middle of the daily backup; its lease has minutes left. The restarted
    process, same worker name, takes the job back at start-up instead of waiting the lease out."""
    database = tmp_path / "restart" / "porchlight.db"
    env, app = process_env(community, "Porchlight Restarted", database)
    db = await Database.open(database)
    await migrate(db)
    now = datetime.now(UTC)
    job = await jobs.schedule(db.conn, kind=BACKUP_JOB, due_at=now, dedupe_key="backup:start", now=now)
    async with db.transaction() as conn:
        await jobs.claim_due(conn, now=now, worker="bot:deadbeef", lease_seconds=300, limit=1)
    await db.close()
    folder = database.parent / "backups"
    folder.mkdir()
    (folder / backup_name(database, now - timedelta(hours=1))).write_bytes(b"")  # so no other backup is due

    code, log = await run_until(community, env, app, log_line="backup made")

    assert code == 0, log
    assert "jobs of a previous run made claimable count=1" in log
    [(status, claimed_by, attempts)] = read(
        database, "SELECT status, claimed_by, attempts FROM jobs WHERE id = ?", (job.id,)
    )
    assert (status, attempts) == ("done", 2)
    assert isinstance(claimed_by, str) and claimed_by.startswith("bot:") and claimed_by != "bot:deadbeef"


async def test_once_ready_the_process_freezes_its_start_up_objects_out_of_the_collectors_scans(
    community: Community, tmp_path: Path
) -> None:
    database = tmp_path / "frozen" / "porchlight.db"
    database.parent.mkdir()
    env, app = process_env(community, "Porchlight Frozen", database)

    code, log = await run_until(community, env, app, log_line="start-up objects frozen")

    assert code == 0, log
    found = re.search(r"start-up objects frozen count=(\d+)", log)
    assert found is not None and int(found[1]) > 10_000, log  # modules, the command tree, the cogs: not rescanned


async def test_the_process_runs_on_uvloop_and_stops_cleanly_on_sigterm(community: Community, tmp_path: Path) -> None:
    database = tmp_path / "uvloop" / "porchlight.db"
    database.parent.mkdir()
    env, app = process_env(community, "Porchlight Loop", database)

    code, log = await run_until(community, env, app, log_line="event loop")

    assert code == 0, log
    assert "event loop uvloop" in log, log  # signal handlers, aiosqlite's thread and the gateway all work on it
