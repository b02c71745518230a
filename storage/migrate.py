"""Numbered SQL migrations (``migrations/NNNN_name.sql``), applied in order, one transaction each.

The schema version lives in ``PRAGMA user_version``. A shipped migration is never edited; add a new file instead.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from storage.db import Database

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseTooNew(RuntimeError):
    """The database was migrated by a newer Porchlight than this one."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise ValueError(f"migration file name {path.name!r} is not NNNN_name.sql")
        found.append(Migration(int(match.group(1)), path.name, path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations must be numbered 1..N without gaps, found {versions}")
    return found


def _statements(sql: str) -> list[str]:
    """Split a migration into statements; sqlite3.complete_statement handles semicolons inside strings/triggers."""
    import sqlite3

    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()):
        raise ValueError("migration ends with an incomplete statement")
    return statements


async def current_version(db: Database) -> int:
    async with db.conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def migrate(db: Database, migrations: list[Migration] | None = None) -> int:
    """Bring the schema up to date; return the version now in force.

    Each migration runs in its own transaction together with the ``user_version`` bump, so a failing migration
    leaves the database exactly as it was before it started.
    """
    migrations = load_migrations() if migrations is None else migrations
    latest = migrations[-1].version if migrations else 0
    version = await current_version(db)
    if version > latest:
        raise DatabaseTooNew(
            f"the database at {db.path} is at schema version {version}, but this Porchlight only knows up to "
            f"{latest}. Upgrade Porchlight, or point PORCHLIGHT_DATABASE_PATH at another file."
        )
    for migration in migrations:
        if migration.version <= version:
            continue
        async with db.transaction() as conn:
            # Another process starting at the same time may have applied it while we waited for the write lock.
            applied_elsewhere = await current_version(db) >= migration.version
            if not applied_elsewhere:
                for statement in _statements(migration.sql):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {migration.version}")
        if not applied_elsewhere:
            log.info("migration applied version=%d name=%s", migration.version, migration.name)
        version = migration.version
    return version
