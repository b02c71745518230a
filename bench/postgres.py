"""A scratch PostgreSQL schema for a benchmark run, dropped afterwards.

The server comes from ``PORCHLIGHT_BENCH_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
when it cannot be reached, the PostgreSQL parts of ``make bench`` say so in one line and are left out.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

POSTGRES_URL = os.environ.get("PORCHLIGHT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Contact details must be encrypted with one shared key on PostgreSQL; any valid Fernet key does for a benchmark or
# a test (never a real deployment's).
BENCH_KEY = "bWFrZS1iZW5jaC1vbmx5LWtleS1ub3QtYS1zZWNyZXQ="
# The system catalogs that creating and dropping a schema of Porchlight's tables, indexes, triggers and functions
# leaves dead rows in.
CATALOGS = (
    "pg_attribute",
    "pg_attrdef",
    "pg_class",
    "pg_constraint",
    "pg_depend",
    "pg_description",
    "pg_index",
    "pg_namespace",
    "pg_proc",
    "pg_rewrite",
    "pg_sequence",
    "pg_statistic",
    "pg_trigger",
    "pg_type",
)


async def unreachable() -> str | None:
    """Why the benchmark server cannot be used, or None."""
    import asyncpg

    try:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except Exception as error:  # any reason: refused, unknown host, bad credentials
        return f"{type(error).__name__}: {error}"
    await connection.close()
    return None


async def autovacuum(server: str = POSTGRES_URL) -> bool:
    """Whether the server runs autovacuum (PostgreSQL's default). Without it, the dead rows a job queue leaves on
    every claim and completion pile up until each claim wades through them."""
    import asyncpg

    connection = await asyncpg.connect(server)
    try:
        return str(await connection.fetchval("SHOW autovacuum")) == "on"
    finally:
        await connection.close()


@asynccontextmanager
async def scratch_schema(prefix: str = "bench", *, server: str = POSTGRES_URL) -> AsyncIterator[str]:
    """A new empty schema of ``server``, as a database URL (``?schema=``); dropped on exit. The tests use it too."""
    import asyncpg

    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield f"{server}?schema={schema}"
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


async def vacuum_catalogs(server: str = POSTGRES_URL) -> None:
    """Make the catalog rows that dropped scratch schemas left reusable (a plain VACUUM, which a superuser may run
    on the catalogs; for anyone else PostgreSQL skips them with a warning). Autovacuum does this on a server that
    runs it; on one that does not (this machine's has it off), every test run would leave about a hundred thousand
    dead catalog rows, and every later statement that reads the catalogs, a new connection's first ones above all,
    would slow down run after run (seen here: 568 MB of catalogs, PostgreSQL fan-out down from 0.91x to 0.74x)."""
    import asyncpg

    admin = await asyncpg.connect(server)
    try:
        await admin.execute("VACUUM " + ", ".join(f"pg_catalog.{name}" for name in CATALOGS))
    finally:
        await admin.close()
