"""The database handle. SQLite (the default): one aiosqlite connection with WAL, foreign keys, a busy timeout and row
access by name, and a second connection that only checkpoints the write-ahead log in the background. PostgreSQL
(``PORCHLIGHT_DATABASE_URL=postgresql://…``, for several processes): :mod:`storage.pg`, behind the same API.

Each SQLite statement is one trip to aiosqlite's database thread, rows included (:class:`PrefetchingConnection`); a
transaction's first statement carries its ``BEGIN IMMEDIATE`` on the same trip (:class:`TransactionConn`)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import aiosqlite
from aiosqlite.context import contextmanager

from storage.sql import SQLITE, Conn, Dialect, Execution, Params, Row, is_postgres_url, sqlite_path

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# Commits between background checkpoints (a commit writes a few pages: about SQLite's own 1000-page default).
CHECKPOINT_EVERY_COMMITS = 200
# Should the background checkpoints fall behind, the connection checkpoints itself past this many WAL pages.
BACKSTOP_CHECKPOINT_PAGES = 20_000


class PrefetchedCursor(aiosqlite.Cursor):
    """A cursor whose rows were all read on the database thread in the same trip as its statement: fetching and
    closing it need no further trip. (Three trips were the rule: execute, fetch, close; each a hand-over to the
    database thread and back that every other statement and transaction waits behind.)"""

    def __init__(self, conn: aiosqlite.Connection, cursor: sqlite3.Cursor, rows: list[sqlite3.Row]) -> None:
        super().__init__(conn, cursor)
        self._rows = deque(rows)

    async def fetchone(self) -> sqlite3.Row | None:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Iterable[sqlite3.Row]:
        count = self.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    async def fetchall(self) -> Iterable[sqlite3.Row]:
        rows, self._rows = list(self._rows), deque()
        return rows

    async def close(self) -> None:
        self._rows.clear()  # the statement was finished and its cursor closed on the database thread


class PrefetchingConnection(aiosqlite.Connection):
    """``execute`` runs the statement to its end and reads its rows in one trip (a statement is never left half-read,
    holding a read snapshot open); ``rowcount``, ``lastrowid`` and ``description`` are read as usual."""

    def _execute_prefetch(self, sql: str, parameters: Any) -> tuple[sqlite3.Cursor, list[sqlite3.Row]]:
        cursor = self._conn.execute(sql, parameters)
        try:
            return cursor, cursor.fetchall()
        finally:
            cursor.close()

    @contextmanager
    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> aiosqlite.Cursor:
        fetched = self._execute(self._execute_prefetch, sql, [] if parameters is None else parameters)  # type: ignore[no-untyped-call]
        cursor, rows = await fetched
        return PrefetchedCursor(self, cursor, rows)

    def begin_then(self, call: Callable[..., Any], *args: Any) -> Any:
        """On the database thread: ``BEGIN IMMEDIATE``, then ``call`` (a transaction's first statement), in one
        trip. A BEGIN that fails raises before the statement runs."""
        self._conn.execute("BEGIN IMMEDIATE")
        return call(*args)

    async def trip(self, call: Callable[..., Any], *args: Any, begin: bool = False) -> Any:
        """Run ``call(*args)`` on the database thread (after ``BEGIN IMMEDIATE``, with ``begin``)."""
        if begin:
            return await self._execute(self.begin_then, call, *args)  # type: ignore[no-untyped-call]
        return await self._execute(call, *args)  # type: ignore[no-untyped-call]


def connect(path: str) -> aiosqlite.Connection:
    """An autocommit connection (transactions are explicit) that reads each statement's rows in the same trip."""
    return PrefetchingConnection(lambda: sqlite3.connect(path, isolation_level=None), 64)


class Checkpointer:
    """Copies the write-ahead log into the database on a connection (and thread) of its own.

    SQLite's automatic checkpoint runs inside the COMMIT that crosses its threshold: at 10M check-ins it writes
    pages all over a gigabyte file and fsyncs it, holding the one connection every interaction waits on for tens to
    hundreds of milliseconds. A PASSIVE checkpoint on another connection does the same work without blocking the
    main connection's readers or writers.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._waiters: list[asyncio.Future[None]] = []
        self.requests = 0  # checkpoints asked for, for tests
        self.done = 0  # checkpoints run

    def request(self) -> None:
        if self._closing:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)
            return
        self.requests += 1
        self._wanted.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="porchlight-checkpoint")

    async def _run(self) -> None:
        while True:
            await self._wanted.wait()
            if self._closing:
                break
            self._wanted.clear()
            waiters, self._waiters = self._waiters, []
            try:
                await self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self.done += 1
            except sqlite3.Error as error:  # the backstop threshold still bounds the log
                log.warning("background checkpoint failed error=%s", type(error).__name__)
            finally:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def checkpoint(self) -> None:
        """Ask for a checkpoint now and wait until it ran (tests)."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self.request()
        await waiter

    async def close(self) -> None:
        self._closing = True
        self._wanted.set()
        if self._task is not None:
            await self._task
        await self._conn.close()


class SqliteConn:
    """aiosqlite's connection as a :class:`~storage.sql.Conn`: the same calls, passed straight through."""

    __slots__ = ("dialect", "raw")

    def __init__(self, raw: aiosqlite.Connection) -> None:
        self.raw = raw
        self.dialect: Dialect = SQLITE

    def execute(self, sql: str, parameters: Params = ()) -> Execution:
        return cast(Execution, self.raw.execute(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Params = ()) -> list[Any]:
        return list(await self.raw.execute_fetchall(sql, parameters))

    async def executemany(self, sql: str, parameters: Iterable[Params]) -> None:
        await self.raw.executemany(sql, parameters)

    async def executescript(self, sql: str) -> None:
        """Several statements, one at a time inside the caller's transaction (``sqlite3.executescript`` would
        commit first)."""
        for statement in split_statements(sql):
            await self.raw.execute(statement)

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def may_fail(self) -> AbstractAsyncContextManager[Any]:
        return nullcontext()  # SQLite rolls back only the failing statement


class TransactionConn(SqliteConn):
    """The connection a transaction's body gets (:meth:`Database.transaction`). Its first statement carries the
    transaction's ``BEGIN IMMEDIATE`` on the same trip to aiosqlite's thread: one trip fewer per transaction, and a
    transaction that runs no statement begins (and commits) nothing. That first trip always runs to its end, a
    cancelled caller's too, so the transaction's end never looks at a BEGIN still on its way. Should the BEGIN fail
    (or the first statement's error end the transaction), every later statement and the commit raise that error:
    nothing of the body runs outside a transaction, whatever it catches."""

    __slots__ = ("first", "not_begun", "single")

    def __init__(self, raw: PrefetchingConnection, *, single: bool = False) -> None:
        super().__init__(raw)
        self.first: asyncio.Future[Any] | None = None  # the trip that began the transaction, once made
        self.not_begun: BaseException | None = None
        self.single = single  # :meth:`Database.statement`: one statement, no BEGIN (it commits as it runs)

    async def _trip(self, call: Callable[..., Any], *args: Any) -> Any:
        raw = cast(PrefetchingConnection, self.raw)
        if self.not_begun is not None:
            raise self.not_begun
        if self.first is not None:
            if self.single:
                raise RuntimeError("Database.statement() runs one statement: use Database.transaction() for more")
            return await raw.trip(call, *args)
        self.first = asyncio.ensure_future(raw.trip(call, *args, begin=not self.single))
        try:
            return await run_to_end(self.first)
        except Exception as error:
            if not self.single and not raw.in_transaction:
                self.not_begun = error
            raise

    def execute(self, sql: str, parameters: Params = ()) -> Execution:
        return cast(Execution, self._execute(sql, parameters))

    @contextmanager
    async def _execute(self, sql: str, parameters: Params) -> aiosqlite.Cursor:
        raw = cast(PrefetchingConnection, self.raw)
        cursor, rows = await self._trip(raw._execute_prefetch, sql, list(parameters))
        return PrefetchedCursor(raw, cursor, rows)

    async def execute_fetchall(self, sql: str, parameters: Params = ()) -> list[Any]:
        return list(await self._trip(self.raw._execute_fetchall, sql, list(parameters)))

    async def executemany(self, sql: str, parameters: Iterable[Params]) -> None:
        await self._trip(self.raw._conn.executemany, sql, parameters)

    @property
    def in_transaction(self) -> bool:
        return self.not_begun is None and not self.single


async def run_to_end(task: asyncio.Future[Any]) -> Any:
    """Await ``task`` to its end even if the caller is cancelled meanwhile, then deliver the cancellation.

    aiosqlite runs statements on its own thread, and cancelling the await does not stop them: a cancelled ``BEGIN``
    would still open a transaction that nobody ends (every later ``BEGIN`` on this shared connection then fails), and
    a ROLLBACK after a cancelled ``COMMIT`` would run after the COMMIT and fail. So the statement is awaited to
    completion first and the cancellation is delivered afterwards."""
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                continue  # a second cancel: still wait, one CancelledError is raised below
            except Exception:
                break
        if not task.cancelled():
            task.exception()  # retrieved: the caller's cancellation is what propagates
        raise


class Database:
    """Owns one connection. Writes that must be atomic go through :meth:`transaction`.

    aiosqlite serialises statements on one connection, but a transaction spans several awaits, so a lock keeps two
    coroutines from interleaving their statements inside each other's transaction.
    """

    dialect: Dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection, path: str, checkpointer: Checkpointer | None = None) -> None:
        self.raw = conn
        self.conn: Conn = SqliteConn(conn)
        self.path = path
        self.checkpointer = checkpointer
        self._tx_lock = asyncio.Lock()
        self.commits = 0

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit; transactions are explicit (BEGIN IMMEDIATE) so that writers queue on the
        # busy timeout instead of failing on lock upgrade.
        conn = await connect(path)
        checkpointer = None
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA foreign_keys = ON")
            if path != ":memory:":
                await conn.execute("PRAGMA journal_mode = WAL")
                await conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_CHECKPOINT_PAGES}")
                checkpointer = Checkpointer(await aiosqlite.connect(path, isolation_level=None))
            await conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            # aiosqlite's worker thread is not a daemon: a connection left open here (a file that is not a
            # database, a read-only folder) would keep the process alive after the error.
            await conn.close()
            if checkpointer is not None:
                await checkpointer.close()
            raise
        log.debug("database opened path=%s", path)
        return cls(conn, path, checkpointer)

    @asynccontextmanager
    async def transaction(self, *, exclusive: bool = True, scope: str | None = None) -> AsyncIterator[Conn]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception. The BEGIN goes with the body's first statement
        (:class:`TransactionConn`).

        COMMIT itself can fail (a deferred foreign key, a busy lock in rollback-journal mode); it sits inside the
        ``try`` so that the transaction is rolled back then too, instead of staying open on the shared connection
        and breaking every later ``BEGIN``. The ROLLBACK is skipped when SQLite has already ended the transaction,
        so it cannot hide the original error.
        ``exclusive`` and ``scope`` matter to PostgreSQL only (SQLite has one writer: every transaction is alone).
        """
        async with self._tx_lock:
            conn = TransactionConn(cast(PrefetchingConnection, self.raw))
            try:
                yield conn
                if conn.not_begun is not None:  # the body caught the error of its BEGIN: it did not happen
                    raise conn.not_begun
                if conn.first is not None:
                    await self._run_to_end("COMMIT")
                    self._committed()
            except BaseException:
                if self.raw.in_transaction:  # the first trip, BEGIN included, has run to its end (``_trip``)
                    await self._run_to_end("ROLLBACK")
                raise

    @asynccontextmanager
    async def statement(self, *, exclusive: bool = True, scope: str | None = None) -> AsyncIterator[Conn]:
        """One write statement that is atomic by itself (an UPDATE of one row, a conditional INSERT): under the
        transaction lock like a transaction, so it never joins another's, but one trip to the database thread and no
        BEGIN or COMMIT (SQLite commits the statement as it runs). A second statement in the block is refused, and
        the connection says it is not in a transaction, so a function that needs one refuses it too. ``exclusive``
        and ``scope`` as for :meth:`transaction` (PostgreSQL runs the statement in one)."""
        async with self._tx_lock:
            conn = TransactionConn(cast(PrefetchingConnection, self.raw), single=True)
            yield conn
            if conn.first is not None:
                self._committed()

    async def _run_to_end(self, statement: str) -> None:
        """Run a transaction-boundary statement to its end even if the caller is cancelled meanwhile
        (:func:`run_to_end`)."""
        await run_to_end(asyncio.ensure_future(self.raw.execute(statement)))

    def _committed(self) -> None:
        self.commits += 1
        if self.checkpointer is not None and self.commits % CHECKPOINT_EVERY_COMMITS == 0:
            self.checkpointer.request()

    async def close(self) -> None:
        if self.checkpointer is not None:
            await self.checkpointer.close()
        await self.raw.close()
        log.debug("database closed path=%s", self.path)


async def fetch_one(conn: Conn, sql: str, params: tuple[object, ...] = ()) -> Row | None:
    """The first row of a read, in one trip to aiosqlite's worker thread (``execute`` + ``fetchone`` + closing the
    cursor would take three): for reads on every interaction's path."""
    rows = await conn.execute_fetchall(sql, params)
    return next(iter(rows), None)


def split_statements(sql: str) -> list[str]:
    """Split SQLite script text into statements; ``sqlite3.complete_statement`` handles semicolons inside strings
    and triggers."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()):
        raise ValueError("script ends with an incomplete statement")
    return statements


async def open_database(url: str) -> Database:
    """``postgresql://…`` (or ``postgres://…``): PostgreSQL; ``sqlite:///path`` or a plain path: a SQLite file."""
    if is_postgres_url(url):
        from storage.pg import PostgresDatabase  # asyncpg is loaded only when PostgreSQL is configured

        return await PostgresDatabase.connect(url)
    return await Database.open(sqlite_path(url))


def to_epoch(instant: datetime) -> int:
    """Instants are stored as INTEGER unix seconds (UTC); naive datetimes are refused."""
    if instant.tzinfo is None:
        raise ValueError("refusing to store a naive datetime")
    return int(instant.timestamp())


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_epoch(seconds: int) -> datetime:
    """The aware UTC instant of stored unix seconds (an addition: about 40% cheaper than ``fromtimestamp``, and
    every row read converts a few)."""
    return _EPOCH + timedelta(seconds=seconds)
