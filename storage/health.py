"""Start-up checks of the database: is it a healthy SQLite file (or a reachable PostgreSQL database), and can this
process write to it?

``open_checked`` opens, checks (``PRAGMA quick_check``), migrates and write-probes the database, and turns every
SQLite failure on the way into :class:`DatabaseUnusable`, which says in one line what is wrong with which file and
what the operator can do. The connection is always closed again on failure: aiosqlite's worker thread is not a
daemon, so a connection left open keeps the process alive after the error.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from storage.db import Database
from storage.meta import set_meta
from storage.migrate import migrate
from storage.sql import is_postgres_url, sqlite_path

log = logging.getLogger(__name__)

RESTORE_HINT = 'restore the latest backup (see "Backups and restore" in README.md)'


class Problem(StrEnum):
    DAMAGED = "damaged"
    NOT_WRITABLE = "not writable"
    IN_USE = "locked"
    UNREADABLE = "unreadable"
    UNREACHABLE = "unreachable"  # a PostgreSQL server


class DatabaseUnusable(Exception):
    """The database cannot be used; ``str()`` is the message for the operator (a path and what to do, no data)."""

    def __init__(self, path: str, problem: Problem, detail: str) -> None:
        self.path = path
        self.problem = problem
        self.detail = detail
        super().__init__(_message(path, problem, detail))


def _message(path: str, problem: Problem, detail: str) -> str:
    if problem is Problem.DAMAGED:
        return (
            f"Porchlight's database {path} is damaged ({detail}).\n"
            f"Porchlight has not started. Move the damaged file aside (keep it), then {RESTORE_HINT}, or start with "
            "an empty database by pointing PORCHLIGHT_DATABASE_PATH at a new file."
        )
    if problem is Problem.NOT_WRITABLE:
        return (
            f"Porchlight cannot write to its database {path} ({detail}).\n"
            "Porchlight has not started. Make the file and its folder writable by the user that runs Porchlight "
            "(check the owner, the file mode and whether the disk is mounted read-only or full), then start again."
        )
    if problem is Problem.IN_USE:
        return (
            f"Porchlight's database {path} is locked by another process ({detail}).\n"
            "Porchlight has not started. Is another Porchlight already running on this file? Stop it, then start again."
        )
    if problem is Problem.UNREACHABLE:
        return (
            f"Porchlight cannot use its PostgreSQL database {path} ({detail}).\n"
            "Porchlight has not started. Check that the server is running and reachable from here, and that the "
            "user, password and database in PORCHLIGHT_DATABASE_URL are right (the database must exist; Porchlight "
            "creates its tables), then start again."
        )
    return (
        f"Porchlight cannot open its database {path} ({detail}).\n"
        "Porchlight has not started. Check that the path is right and readable by the user that runs Porchlight."
    )


_PROBLEMS = {
    sqlite3.SQLITE_CORRUPT: Problem.DAMAGED,
    sqlite3.SQLITE_NOTADB: Problem.DAMAGED,
    sqlite3.SQLITE_READONLY: Problem.NOT_WRITABLE,
    sqlite3.SQLITE_FULL: Problem.NOT_WRITABLE,
    sqlite3.SQLITE_PERM: Problem.NOT_WRITABLE,
    sqlite3.SQLITE_BUSY: Problem.IN_USE,
    sqlite3.SQLITE_LOCKED: Problem.IN_USE,
}


def classify(path: str, error: sqlite3.Error) -> DatabaseUnusable:
    """Map an SQLite error met at start-up to what the operator has to do about it."""
    code = getattr(error, "sqlite_errorcode", None)
    problem = Problem.UNREADABLE if code is None else _PROBLEMS.get(code & 0xFF, Problem.UNREADABLE)
    detail = str(error) or type(error).__name__
    if code is not None and code & 0xFF == sqlite3.SQLITE_CANTOPEN and _readable_file(Path(path)):
        # The file itself opens, but SQLite cannot create its -wal and -shm files beside it: a read-only folder or
        # mount (a WAL database cannot even be read then).
        problem = Problem.NOT_WRITABLE
        detail = f"{detail}: its -wal and -shm files cannot be created in {Path(path).parent}"
    return DatabaseUnusable(path, problem, detail)


def _readable_file(path: Path) -> bool:
    try:
        with path.open("rb"):
            return True
    except OSError:
        return False


def is_new(path: Path) -> bool:
    """A missing or zero-length file is a new database (SQLite treats an empty file as an empty database)."""
    return not path.exists() or (path.is_file() and path.stat().st_size == 0)


async def quick_check(db: Database) -> list[str]:
    """``PRAGMA quick_check``'s findings; empty when the database is healthy."""
    rows = await db.conn.execute_fetchall("PRAGMA quick_check")
    found = [str(row[0]) for row in rows]
    return [] if found == ["ok"] else found


async def write_probe(db: Database, now: datetime) -> None:
    """Commit a real write (the start time in ``meta``), so a read-only file, folder or mount, a full disk or a lock
    held by another process is found now rather than by the first member's command."""
    async with db.transaction() as conn:
        await set_meta(conn, "last_started_at", now.isoformat())


async def open_checked(path: Path, *, now: datetime) -> Database:
    """Open, check, migrate and write-probe the database at ``path``; raise :class:`DatabaseUnusable` if it cannot
    be used. Nothing is left running on failure."""
    new = is_new(path)
    try:
        db = await Database.open(path)
    except sqlite3.Error as error:
        raise classify(str(path), error) from error
    try:
        problems = await quick_check(db)
        if problems:
            detail = f"quick_check: {problems[0][:200]}"
            raise DatabaseUnusable(str(path), Problem.DAMAGED, detail)
        await migrate(db)
        await write_probe(db, now)
    except sqlite3.Error as error:
        await db.close()
        raise classify(str(path), error) from error
    except BaseException:
        await db.close()
        raise
    if new:
        log.info("created a new database at %s", path)
    else:
        log.info("database checked path=%s quick_check=ok write=ok", path)
    return db


async def open_checked_url(url: str, *, now: datetime) -> Database:
    """:func:`open_checked` for a database URL: ``postgresql://…`` is connected, migrated and write-probed (its
    server does its own integrity checking); anything else is the SQLite file it names."""
    if not is_postgres_url(url):
        return await open_checked(Path(sqlite_path(url)), now=now)
    import asyncpg

    from storage.pg import PostgresDatabase, redacted

    try:
        db = await PostgresDatabase.connect(url)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise DatabaseUnusable(redacted(url), Problem.UNREACHABLE, f"{type(error).__name__}: {error}") from error
    try:
        await migrate(db)
        await write_probe(db, now)
    except asyncpg.PostgresError as error:
        await db.close()
        raise DatabaseUnusable(db.path, Problem.UNREACHABLE, f"{type(error).__name__}: {error}") from error
    except BaseException:
        await db.close()
        raise
    log.info("database checked url=%s write=ok", db.path)
    return db
