"""Moving up: copy a SQLite community into an empty PostgreSQL database, table by table, and check the copy.

Both databases are first brought to the same schema version by the ordinary migrations. Tables are copied parents
before children (foreign keys hold at every step) with PostgreSQL's COPY; the triggers that maintain per-week counts
are switched off for the copy, since those counts are copied as they are (they outlive the check-ins that retention
deletes). Identity counters then continue after the highest copied id. The whole copy is one transaction: it lands
completely or not at all. Afterwards every table is compared: the same number of rows, and the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storage import catalog
from storage.db import Database
from storage.migrate import current_version, migrate

if TYPE_CHECKING:
    from storage.pg import PostgresDatabase

# Rows a start of Porchlight writes by itself (the start time); a database that holds only these is still empty.
REWRITTEN = frozenset({"meta"})


class CopyRefused(Exception):
    """The copy was not made; ``str()`` says why and what to do."""


@dataclass(frozen=True, slots=True)
class TableCopy:
    table: str
    source_rows: int
    target_rows: int
    identical: bool

    @property
    def ok(self) -> bool:
        return self.identical and self.source_rows == self.target_rows


async def _parents_first(source: Database, tables: Sequence[str]) -> list[str]:
    """``tables`` ordered so that every table comes after the tables its foreign keys point at."""
    parents: dict[str, set[str]] = {}
    for table in tables:
        rows = await source.conn.execute_fetchall('SELECT "table" FROM pragma_foreign_key_list(?)', (table,))
        parents[table] = {str(row[0]) for row in rows} - {table}
    ordered: list[str] = []
    while len(ordered) < len(tables):
        ready = sorted(t for t in tables if t not in ordered and parents[t] <= set(ordered))
        if not ready:
            raise CopyRefused(f"circular foreign keys among {sorted(set(tables) - set(ordered))}")
        ordered.extend(ready)
    return ordered


async def _count(db: Database, table: str) -> int:
    rows = await db.conn.execute_fetchall(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 (catalogued name)
    return int(rows[0][0])


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda row: tuple((value is None, repr(type(value)), value) for value in row))


async def copy_database(source: Database, target: PostgresDatabase) -> list[TableCopy]:
    """Copy every Porchlight table of ``source`` (SQLite) into ``target`` (PostgreSQL, empty) and compare them."""
    if source.dialect.postgres or not target.dialect.postgres:
        raise CopyRefused("the copy goes from a SQLite file to a PostgreSQL database")
    source_version = await migrate(source)
    target_version = await migrate(target)
    if source_version != target_version:  # cannot happen with one Porchlight: both know the same migrations
        raise CopyRefused(f"schema versions differ: SQLite {source_version}, PostgreSQL {target_version}")
    tables = await catalog.table_names(source.conn)
    missing = sorted(set(tables) - set(await catalog.table_names(target.conn)))
    if missing:
        raise CopyRefused(f"PostgreSQL lacks the tables {missing}")
    occupied = [t for t in tables if t not in REWRITTEN and await _count(target, t) > 0]
    if occupied:
        raise CopyRefused(
            f"the PostgreSQL database already holds Porchlight data (in {', '.join(occupied[:5])}); "
            "--copy-to only fills an empty one: point PORCHLIGHT_DATABASE_URL at a new database or schema"
        )
    order = await _parents_first(source, tables)
    async with target.copying() as load:
        for table in reversed(order):
            await load.clear(table)
        for table in order:
            columns = await catalog.column_names(source.conn, table)
            await load.rows(table, columns, await catalog.all_rows(source.conn, table))
    report = []
    for table in order:
        source_rows = _sorted(await catalog.all_rows(source.conn, table))
        target_rows = _sorted(await catalog.all_rows(target.conn, table))
        report.append(TableCopy(table, len(source_rows), len(target_rows), source_rows == target_rows))
    if await current_version(target) != source_version:
        raise CopyRefused("the PostgreSQL schema version changed during the copy")
    return report
