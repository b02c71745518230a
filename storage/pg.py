"""PostgreSQL behind the same :class:`~storage.db.Database` API as SQLite, over asyncpg.

Only this module knows asyncpg (imported only when a ``postgresql://`` URL is configured). Storage SQL is written
with SQLite's ``?`` and ``:name`` placeholders; :func:`to_postgres` rewrites them to ``$n`` once per statement text.

Write transactions keep SQLite's guarantee where it matters. SQLite's ``BEGIN IMMEDIATE`` serialises every write
transaction, and Porchlight's invariants (a limit checked and reserved in one transaction, a slot checked and booked)
rely on it. Here a write transaction takes transaction-scoped advisory locks, keyed by the database and schema, so
the same holds across every process sharing the database:

- by default, the database-wide lock exclusively: alone, as on SQLite;
- with a ``scope`` (``"guild:<id>"``), the database-wide lock *shared* and the scope's lock exclusively: alone among
  that scope's transactions, beside other scopes' (a check-in in one server does not wait for one in another), and
  never beside a database-wide one. Only transactions that touch nothing but their scope's rows take a scope.

Reads outside transactions run on any pooled connection at once. Job claims take no advisory lock: they take rows
with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import weakref
from collections.abc import AsyncIterator, Generator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from storage.db import Database
from storage.sql import POSTGRESQL, Conn, Dialect, IntegrityError, Params

log = logging.getLogger(__name__)

POOL_SIZE = 10
_ROW_RETURNING = re.compile(r"^\s*(SELECT|WITH|VALUES)\b|\bRETURNING\b", re.IGNORECASE)
_STATUS_COUNT = re.compile(r"(\d+)$")
_KEY_COLUMNS = re.compile(r"Key \((.*?)\)=")


@lru_cache(maxsize=4096)
def to_postgres(sql: str) -> tuple[str, tuple[str, ...] | None, bool]:
    """``?`` -> ``$1, $2, …`` in order, or ``:name`` -> ``$k`` (the names in order of first use, returned), skipping
    string literals, quoted identifiers, comments and ``::`` casts; and whether the statement returns rows (read
    with ``fetch``, else ``execute`` for its row count). Cached: each statement text is looked at once."""
    out: list[str] = []
    names: list[str] = []
    positional = 0
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # an escaped quote
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1])
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            out.append(sql[i:end])
            i = end
        elif ch == "?":
            positional += 1
            out.append(f"${positional}")
            i += 1
        elif ch == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
        elif ch == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            end = i + 1
            while end < n and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            name = sql[i + 1 : end]
            if name not in names:
                names.append(name)
            out.append(f"${names.index(name) + 1}")
            i = end
        else:
            out.append(ch)
            i += 1
    if positional and names:
        raise ValueError("a statement mixes ? and :name placeholders")
    query = "".join(out)
    return query, (tuple(names) if names else None), bool(_ROW_RETURNING.search(query))


def _arguments(names: tuple[str, ...] | None, parameters: Params) -> list[Any]:
    if names is not None:
        if not isinstance(parameters, Mapping):
            raise TypeError("a statement with :name placeholders needs a mapping of parameters")
        values: Sequence[Any] = [parameters[name] for name in names]
    else:
        if isinstance(parameters, Mapping):
            raise TypeError("a statement with ? placeholders needs a sequence of parameters")
        values = parameters
    # SQLite stores booleans as 0/1; PostgreSQL's integer columns refuse a Python bool.
    return [int(value) if isinstance(value, bool) else value for value in values]


def _integrity(error: asyncpg.IntegrityConstraintViolationError) -> IntegrityError:
    """The error in SQLite's words, so storage matches one format: ``UNIQUE constraint failed: t.a, t.b``."""
    table = getattr(error, "table_name", None) or "?"
    constraint = getattr(error, "constraint_name", None) or "?"
    kind = {
        asyncpg.UniqueViolationError: "UNIQUE",
        asyncpg.ForeignKeyViolationError: "FOREIGN KEY",
        asyncpg.CheckViolationError: "CHECK",
        asyncpg.NotNullViolationError: "NOT NULL",
    }.get(type(error), "integrity")
    found = _KEY_COLUMNS.search(getattr(error, "detail", None) or "")
    columns = ", ".join(f"{table}.{column.strip()}" for column in found.group(1).split(",")) if found else table
    if kind == "NOT NULL":
        columns = f"{table}.{getattr(error, 'column_name', None) or '?'}"
    return IntegrityError(f"{kind} constraint failed: {columns} (constraint {constraint})")


class PgCursor:
    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[asyncpg.Record], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    async def fetchone(self) -> asyncpg.Record | None:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[asyncpg.Record]:
        return self._rows


class _Execution:
    """Awaited: the cursor; ``async with``: the same cursor (nothing to close, rows are already here)."""

    __slots__ = ("_run",)

    def __init__(self, run: Any) -> None:
        self._run = run

    def __await__(self) -> Generator[Any, None, PgCursor]:
        cursor: Generator[Any, None, PgCursor] = self._run.__await__()
        return cursor

    async def __aenter__(self) -> PgCursor:
        cursor: PgCursor = await self._run
        return cursor

    async def __aexit__(self, *exc: object) -> None:
        return None


async def _run(connection: asyncpg.Connection, sql: str, parameters: Params) -> PgCursor:
    query, names, returns_rows = to_postgres(sql)
    arguments = _arguments(names, parameters)
    try:
        if returns_rows:
            rows = await connection.fetch(query, *arguments)
            return PgCursor(rows, len(rows))
        status = await connection.execute(query, *arguments)
    except asyncpg.IntegrityConstraintViolationError as error:
        raise _integrity(error) from error
    found = _STATUS_COUNT.search(status or "")
    return PgCursor([], int(found.group(1)) if found else -1)


class PgConn:
    """One pooled connection, held for a transaction."""

    __slots__ = ("_connection", "dialect", "in_transaction")

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection
        self.dialect: Dialect = POSTGRESQL
        self.in_transaction = True

    def execute(self, sql: str, parameters: Params = ()) -> _Execution:
        return _Execution(_run(self._connection, sql, parameters))

    def may_fail(self) -> AbstractAsyncContextManager[Any]:
        return cast(AbstractAsyncContextManager[Any], self._connection.transaction())  # nested: a savepoint

    async def executescript(self, sql: str) -> None:
        """A whole migration file, as one simple-protocol script (no placeholders)."""
        try:
            await self._connection.execute(sql)
        except asyncpg.IntegrityConstraintViolationError as error:
            raise _integrity(error) from error

    async def execute_fetchall(self, sql: str, parameters: Params = ()) -> list[asyncpg.Record]:
        return await (await _run(self._connection, sql, parameters)).fetchall()

    async def executemany(self, sql: str, parameters: Iterable[Params]) -> None:
        for each in parameters:
            await _run(self._connection, sql, each)


class PgPoolConn:
    """Statements outside a transaction: each on whichever pooled connection is free, in autocommit."""

    __slots__ = ("_pool", "dialect")

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.dialect: Dialect = POSTGRESQL

    @property
    def in_transaction(self) -> bool:
        return False

    async def _on_any(self, sql: str, parameters: Params) -> PgCursor:
        async with self._pool.acquire() as connection:
            return await _run(connection, sql, parameters)

    def execute(self, sql: str, parameters: Params = ()) -> _Execution:
        return _Execution(self._on_any(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Params = ()) -> list[asyncpg.Record]:
        return await (await self._on_any(sql, parameters)).fetchall()

    async def executemany(self, sql: str, parameters: Iterable[Params]) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            for each in parameters:
                await _run(connection, sql, each)

    def may_fail(self) -> AbstractAsyncContextManager[Any]:
        return nullcontext()  # each statement commits or fails on its own

    async def executescript(self, sql: str) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            await PgConn(connection).executescript(sql)


def _numeric(text: str) -> int | float:
    """``SUM`` and ``AVG`` of integers are ``numeric`` in PostgreSQL; SQLite gives an integer (or a float)."""
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


async def _setup_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec("numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text")


def redacted(url: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _split_schema(url: str) -> tuple[str, str | None]:
    """``postgresql://…/db?schema=name`` selects a schema (tests use one per test); the rest goes to asyncpg."""
    parts = urlsplit(url)
    query = [pair for pair in parts.query.split("&") if pair]
    schema = None
    kept = []
    for pair in query:
        key, _, value = pair.partition("=")
        if key == "schema":
            schema = value
        else:
            kept.append(pair)
    return urlunsplit(parts._replace(query="&".join(kept))), schema


class PostgresDatabase(Database):
    """A pool of asyncpg connections with :class:`Database`'s API."""

    dialect: Dialect = POSTGRESQL

    def __init__(self, pool: asyncpg.Pool, url: str, schema: str | None, where: str, pool_size: int) -> None:
        self.pool = pool
        self.url = url
        self.schema = schema
        self.path = redacted(url)
        self.conn: Conn = PgPoolConn(pool)
        self.checkpointer = None
        self.commits = 0
        self._where = where
        self._lock_key = self._key("")
        # Write transactions take a slot first, so that at most half the pool waits on advisory locks and the rest
        # stays free for reads (a transaction's body may read through ``db.conn``); transactions of one scope queue
        # in the process first, holding no connection meanwhile.
        self._slots = asyncio.Semaphore(max(1, pool_size // 2))
        self._scopes: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @classmethod
    async def connect(cls, url: str, *, pool_size: int = POOL_SIZE) -> PostgresDatabase:
        dsn, schema = _split_schema(url)
        settings = {"search_path": schema} if schema else {}
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=pool_size, init=_setup_connection, server_settings=settings
        )
        try:
            async with pool.acquire() as connection:
                where = await connection.fetchval("SELECT current_database() || '/' || current_schema()")
        except BaseException:
            await pool.close()
            raise
        log.debug("database opened url=%s schema=%s", redacted(url), where)
        return cls(pool, url, schema, where, pool_size)

    def _key(self, scope: str) -> int:
        """The advisory lock key of ``scope`` ("" for the whole database) in this database and schema."""
        digest = hashlib.blake2b(f"porchlight:{self._where}:{scope}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)

    @asynccontextmanager
    async def transaction(self, *, exclusive: bool = True, scope: str | None = None) -> AsyncIterator[Conn]:
        """A write transaction (see the module's docstring for the locks).

        - default: alone across every process (the database-wide advisory lock, exclusively);
        - ``scope="guild:123"``: alone among transactions of that scope, beside those of other scopes (the
          database-wide lock shared, the scope's exclusively): for changes that touch only that scope's rows;
        - ``exclusive=False``: no advisory lock, for claims that take rows ``FOR UPDATE SKIP LOCKED``.
        """
        if not exclusive:
            async with self._transaction(()) as conn:
                yield conn
            return
        if scope is None:
            async with self._slots, self._transaction(((self._lock_key, False),)) as conn:
                yield conn
            return
        lock = self._scopes.get(scope)
        if lock is None:
            lock = self._scopes[scope] = asyncio.Lock()
        async with lock, self._slots, self._transaction(((self._lock_key, True), (self._key(scope), False))) as conn:
            yield conn

    @asynccontextmanager
    async def statement(self, *, exclusive: bool = True, scope: str | None = None) -> AsyncIterator[Conn]:
        """One write statement (:meth:`storage.db.Database.statement`): here, a transaction with the same locks."""
        async with self.transaction(exclusive=exclusive, scope=scope) as conn:
            yield conn

    @asynccontextmanager
    async def _transaction(self, locks: Sequence[tuple[int, bool]]) -> AsyncIterator[Conn]:
        """A transaction holding advisory ``locks`` (key, shared), taken in one statement."""
        async with self.pool.acquire() as connection:
            transaction = connection.transaction()
            await transaction.start()
            try:
                if locks:
                    calls = ", ".join(
                        f"pg_advisory_xact_lock{'_shared' if shared else ''}(${index})"
                        for index, (_key, shared) in enumerate(locks, start=1)
                    )
                    await connection.execute(f"SELECT {calls}", *(key for key, _shared in locks))
                yield PgConn(connection)
            except BaseException:
                await asyncio.shield(transaction.rollback())
                raise
            try:
                await asyncio.shield(transaction.commit())
            except asyncpg.IntegrityConstraintViolationError as error:  # a deferred constraint
                raise _integrity(error) from error
            self.commits += 1

    @asynccontextmanager
    async def copying(self) -> AsyncIterator[Loader]:
        """One transaction, holding the writer lock, for filling tables in bulk (``bot.py --copy-to``); identity
        counters are moved past the copied ids before it commits."""
        async with self._slots, self._transaction(((self._lock_key, False),)) as conn:
            assert isinstance(conn, PgConn)
            loader = Loader(conn._connection, self.schema)
            yield loader
            await loader.continue_identities()

    async def close(self) -> None:
        await self.pool.close()
        log.debug("database closed url=%s", self.path)


class Loader:
    """Bulk loading inside :meth:`PostgresDatabase.copying`."""

    def __init__(self, connection: asyncpg.Connection, schema: str | None) -> None:
        self._connection = connection
        self._schema = schema

    async def clear(self, table: str) -> None:
        await self._connection.execute(f'DELETE FROM "{table}"')  # noqa: S608 (a catalogued name)

    async def rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """COPY the rows in, with the table's own triggers off: what they maintain is copied as it is."""
        await self._connection.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        try:
            if rows:
                await self._connection.copy_records_to_table(
                    table, records=[tuple(row) for row in rows], columns=list(columns), schema_name=self._schema
                )
        except asyncpg.IntegrityConstraintViolationError as error:
            raise _integrity(error) from error
        await self._connection.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')

    async def continue_identities(self) -> None:
        """Each identity column continues after the highest id copied (ids are never reused)."""
        identities = await self._connection.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES'"
        )
        for row in identities:
            table, column = row["table_name"], row["column_name"]
            await self._connection.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "  # noqa: S608 (catalogued)
                f'COALESCE((SELECT MAX("{column}") FROM "{table}"), 0) + 1, false)'
            )
