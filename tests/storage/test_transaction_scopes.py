"""Transaction scopes on PostgreSQL: a change to one server's rows (``scope="guild:<id>"``) runs beside another
server's, waits for one of its own server, and never runs beside a database-wide transaction, across processes
(two ``Database`` objects, two pools). SQLite has one writer, so scopes change nothing there.

Waiting is observed in ``pg_locks`` (an advisory lock not granted), not by timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from storage import meta
from storage.db import Database

# SQLite has one writer: every transaction is alone there, with or without a scope.
pytestmark = pytest.mark.postgres_only


@asynccontextmanager
async def held(db: Database, scope: str | None) -> AsyncIterator[None]:
    """A transaction of ``scope`` that stays open until the block ends."""
    entered, leave = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with db.transaction(scope=scope) as conn:
            await meta.set_meta(conn, f"held:{scope}", "1")
            entered.set()
            await leave.wait()

    task = asyncio.create_task(hold())
    await entered.wait()
    try:
        yield
    finally:
        leave.set()
        await task


async def write(db: Database, scope: str | None, key: str) -> None:
    async with db.transaction(scope=scope) as conn:
        await meta.set_meta(conn, key, "1")


async def waiting_on_advisory_locks(db: Database) -> int:
    rows = await db.conn.execute_fetchall(
        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return int(rows[0][0])


async def until_waiting(db: Database, count: int) -> None:
    async with asyncio.timeout(10):
        while await waiting_on_advisory_locks(db) < count:  # noqa: ASYNC110 - the server's lock table, not ours
            await asyncio.sleep(0.02)


async def test_another_servers_change_runs_beside_an_open_one(db: Database, second_db: Database) -> None:
    async with held(second_db, "guild:1"):
        await write(db, "guild:2", "other server")  # would hang here if it waited for guild:1
        assert await meta.get_meta(db.conn, "other server") == "1"


async def test_a_change_to_the_same_server_waits_for_the_open_one(db: Database, second_db: Database) -> None:
    async with held(second_db, "guild:1"):
        same = asyncio.create_task(write(db, "guild:1", "same server"))
        await until_waiting(db, 1)
        assert not same.done()
    await same
    assert await meta.get_meta(db.conn, "same server") == "1"


async def test_a_database_wide_change_waits_for_every_scoped_one_and_they_for_it(
    db: Database, second_db: Database
) -> None:
    async with held(second_db, "guild:1"):
        everything = asyncio.create_task(write(db, None, "database-wide"))
        await until_waiting(db, 1)
        assert not everything.done()
    await everything
    async with held(second_db, None):
        scoped = asyncio.create_task(write(db, "guild:3", "scoped"))
        await until_waiting(db, 1)
        assert not scoped.done()
    await scoped
