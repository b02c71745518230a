"""Numbered SQL migrations, applied in order, one transaction each: ``migrations/NNNN_name.sql`` for SQLite and
``migrations/postgresql/NNNN_name.sql`` for PostgreSQL, one file per version in each, so that both engines at
version N hold the same tables and columns.

The schema version lives in ``PRAGMA user_version`` (SQLite) or the one-row table ``porchlight_schema``
(PostgreSQL). A shipped migration is never edited; add a new file (for both engines) instead.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from storage.db import Database
from storage.sql import Conn

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
POSTGRES_MIGRATIONS_DIR = MIGRATIONS_DIR / "postgresql"
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


def migrations_for(db: Database) -> list[Migration]:
    return load_migrations(POSTGRES_MIGRATIONS_DIR if db.dialect.postgres else MIGRATIONS_DIR)


async def current_version(db: Database, conn: Conn | None = None) -> int:
    conn = db.conn if conn is None else conn
    if db.dialect.postgres:
        # A catalog query, not to_regclass(): a cached prepared statement may keep to_regclass's earlier answer.
        rows = await conn.execute_fetchall(
            "SELECT COUNT(*) FROM pg_catalog.pg_tables "
            "WHERE schemaname = current_schema() AND tablename = 'porchlight_schema'"
        )
        if not rows[0][0]:
            return 0
        rows = await conn.execute_fetchall("SELECT version FROM porchlight_schema")
    else:
        rows = await conn.execute_fetchall("PRAGMA user_version")
    return int(rows[0][0]) if rows else 0


async def set_version(db: Database, conn: Conn, version: int) -> None:
    if db.dialect.postgres:
        await conn.execute("CREATE TABLE IF NOT EXISTS porchlight_schema (version BIGINT NOT NULL)")
        await conn.execute("DELETE FROM porchlight_schema")
        await conn.execute("INSERT INTO porchlight_schema (version) VALUES (?)", (version,))
    else:
        await conn.execute(f"PRAGMA user_version = {int(version)}")


async def migrate(db: Database, migrations: list[Migration] | None = None) -> int:
    """Bring the schema up to date; return the version now in force.

    Each migration runs in its own transaction together with the ``user_version`` bump, so a failing migration
    leaves the database exactly as it was before it started.
    """
    migrations = migrations_for(db) if migrations is None else migrations
    latest = migrations[-1].version if migrations else 0
    version = await current_version(db)
    if version > latest:
        raise DatabaseTooNew(
            f"the database at {db.path} is at schema version {version}, but this Porchlight only knows up to "
            f"{latest}. Upgrade Porchlight, or point PORCHLIGHT_DATABASE_URL (or _PATH) at another database."
        )
    for migration in migrations:
        if migration.version <= version:
            continue
        async with db.transaction() as conn:
            # Another process starting at the same time may have applied it while we waited for the write lock.
            applied_elsewhere = await current_version(db, conn) >= migration.version
            if not applied_elsewhere:
                await conn.executescript(migration.sql)
                await set_version(db, conn, migration.version)
        if not applied_elsewhere:
            log.info("migration applied version=%d name=%s", migration.version, migration.name)
        version = migration.version
    return version
