"""Which tables and columns the database holds, on either engine: for the privacy scans that read every row, and
for copying a community from SQLite to PostgreSQL table by table."""

from __future__ import annotations

from typing import Any

from storage.sql import Conn

# Bookkeeping of the engines themselves, not Porchlight data.
INTERNAL = frozenset({"sqlite_sequence", "sqlite_stat1", "porchlight_schema"})


async def table_names(conn: Conn) -> list[str]:
    """Porchlight's tables, by name."""
    if conn.dialect.postgres:
        rows = await conn.execute_fetchall(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
    else:
        rows = await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [str(row[0]) for row in rows if str(row[0]) not in INTERNAL]


async def column_names(conn: Conn, table: str) -> list[str]:
    """The table's columns in their declared order."""
    if conn.dialect.postgres:
        rows = await conn.execute_fetchall(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return [str(row[0]) for row in rows]
    rows = await conn.execute_fetchall("SELECT name FROM pragma_table_info(?) ORDER BY cid", (table,))
    return [str(row[0]) for row in rows]


async def all_rows(conn: Conn, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table`` (a name from :func:`table_names`), its columns in declared order."""
    if table not in await table_names(conn):
        raise ValueError(f"no table {table!r}")
    columns = ", ".join(f'"{column}"' for column in await column_names(conn, table))
    rows = await conn.execute_fetchall(f'SELECT {columns} FROM "{table}"')  # noqa: S608 (catalogued names)
    return [tuple(row) for row in rows]
