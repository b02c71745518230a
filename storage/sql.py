"""What storage functions see of a database connection, whichever engine is behind it.

Storage code is written once, in SQL that SQLite and PostgreSQL both accept (``?`` placeholders, ``ON CONFLICT``,
``RETURNING``, ``CASE`` instead of scalar ``max``). The few constructs the two engines spell differently are the
:class:`Dialect` fragments below, and nowhere else. A connection is a :class:`Conn`: ``execute`` (awaited for a
cursor, or used as ``async with``), ``execute_fetchall`` and ``executemany``, the subset of aiosqlite's API that
storage uses, so that the SQLite path stays aiosqlite's own objects with no translation in between.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

Params = Sequence[Any] | Mapping[str, Any]

# The integrity error storage catches, whichever engine raised it: the PostgreSQL driver re-raises unique,
# foreign-key and check violations as this, with SQLite's wording ("UNIQUE constraint failed: table.column") and
# the constraint's name, so that callers test one message format.
IntegrityError = sqlite3.IntegrityError


class Row(Protocol):
    """A result row, by column name or position (``sqlite3.Row`` and ``asyncpg.Record`` both are)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Any: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Iterable[Any]: ...


class Execution(Protocol):
    """What ``Conn.execute`` returns: awaited, a cursor; ``async with``, a cursor closed afterwards."""

    def __await__(self) -> Generator[Any, None, Cursor]: ...

    async def __aenter__(self) -> Cursor: ...

    async def __aexit__(self, *exc: object) -> Any: ...


class Conn(Protocol):
    dialect: Dialect

    def execute(self, sql: str, parameters: Params = ()) -> Execution: ...

    async def execute_fetchall(self, sql: str, parameters: Params = ()) -> list[Any]: ...

    async def executemany(self, sql: str, parameters: Iterable[Params]) -> Any: ...

    async def executescript(self, sql: str) -> None: ...

    def may_fail(self) -> AbstractAsyncContextManager[Any]:
        """Around a statement whose integrity error the caller handles and then goes on in the same transaction:
        SQLite undoes just the failed statement; PostgreSQL aborts the whole transaction unless the statement ran
        inside a savepoint, which this is there."""
        ...

    @property
    def in_transaction(self) -> bool: ...


Engine = Literal["sqlite", "postgresql"]


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> str:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or a plain path -> the path."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///") or ":memory:"
    if url.startswith("sqlite://"):
        raise ValueError(f"a SQLite URL is sqlite:///path (three slashes), not {url!r}")
    return url


def guild_scope(guild_id: int | None) -> str | None:
    """The transaction scope of a change to one server's rows only (``Database.transaction(scope=…)``); None: the
    whole database."""
    return None if guild_id is None else f"guild:{guild_id}"


class Dialect:
    """The SQL fragments that differ between the engines. Everything else is written once."""

    def __init__(self, engine: Engine) -> None:
        self.engine: Engine = engine

    @property
    def postgres(self) -> bool:
        return self.engine == "postgresql"

    def json_array_values(self, expression: str) -> str:
        """A table of a JSON array's elements as text (numbers as their digits) in column ``value``; compare with a
        text parameter: ``EXISTS (SELECT 1 FROM {json_array_values('topics')} AS t WHERE t.value = ?)``.
        ``expression`` is a column or placeholder from code, never member input."""
        if self.postgres:
            return f"(SELECT value FROM jsonb_array_elements_text(CAST({expression} AS jsonb)))"  # noqa: S608
        return f"(SELECT CAST(value AS TEXT) AS value FROM json_each({expression}))"  # noqa: S608

    def json_object_values(self, expression: str) -> str:
        """The same for a JSON object's values."""
        if self.postgres:
            return f"(SELECT value FROM jsonb_each_text(CAST({expression} AS jsonb)))"  # noqa: S608
        return f"(SELECT CAST(value AS TEXT) AS value FROM json_each({expression}))"  # noqa: S608

    @property
    def skip_locked(self) -> str:
        """Row locks for a claim query (PostgreSQL); SQLite's one writer needs none."""
        return "FOR UPDATE SKIP LOCKED" if self.postgres else ""

    def json_array_length(self, expression: str) -> str:
        if self.postgres:
            return f"jsonb_array_length(CAST({expression} AS jsonb))"
        return f"json_array_length({expression})"

    def contains(self, haystack: str, needle: str) -> str:
        """``needle`` occurs in the text ``haystack`` (both SQL expressions)."""
        if self.postgres:
            return f"strpos({haystack}, {needle}) > 0"
        return f"instr({haystack}, {needle}) > 0"

    def greatest(self, first: str, second: str) -> str:
        if self.postgres:
            return f"GREATEST({first}, {second})"
        return f"max({first}, {second})"


SQLITE = Dialect("sqlite")
POSTGRESQL = Dialect("postgresql")
