"""Fixtures shared by every test package: a real, migrated database (never a mocked one).

The storage and service suites (``tests/storage``, ``tests/services``) run every test that uses ``db`` twice: on a
SQLite file and on PostgreSQL, each test in a schema of its own that is dropped afterwards. A test that is about
SQLite itself (PRAGMAs, the file, checkpoints, backups) is marked ``sqlite_only``.

PostgreSQL comes from ``PORCHLIGHT_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``). When
it is unreachable the PostgreSQL runs are skipped with one line saying so, except under ``CI=true``, where they fail:
CI must prove both backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench.postgres import BENCH_KEY, scratch_schema, vacuum_catalogs
from storage.db import Database
from storage.migrate import migrate

POSTGRES_URL = os.environ.get("PORCHLIGHT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DUAL_BACKEND_SUITES = ("storage", "services")
_postgres_problem: str | None = None
_postgres_checked = False
_schemas_made: list[str] = []  # schemas the run made on the test server (each dropped after its test)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: the test is about SQLite itself; it does not run on PostgreSQL")
    config.addinivalue_line("markers", "postgres_only: the test is about PostgreSQL itself; it does not run on SQLite")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    suite = Path(str(metafunc.definition.path)).parent.name
    if metafunc.definition.get_closest_marker("postgres_only") is not None:
        metafunc.parametrize("backend", ["postgresql"], indirect=True)
    elif suite in DUAL_BACKEND_SUITES and metafunc.definition.get_closest_marker("sqlite_only") is None:
        metafunc.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None; checked once per run."""
    global _postgres_problem, _postgres_checked
    if not _postgres_checked:
        _postgres_checked = True

        async def probe() -> None:
            import asyncpg

            connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
            await connection.close()

        try:  # on a thread of its own: the caller may be inside a running event loop (an async fixture)
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(asyncio.run, probe()).result()
        except Exception as error:  # any reason at all: unreachable, refused, bad credentials
            _postgres_problem = f"{type(error).__name__}: {error}"
    return _postgres_problem


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run made and dropped a schema per PostgreSQL test: make the catalog rows they left reusable, so that the
    server's catalogs do not grow run after run where autovacuum is off (``bench.postgres.vacuum_catalogs``)."""
    if _schemas_made:
        asyncio.run(vacuum_catalogs(POSTGRES_URL))


def pytest_report_header(config: pytest.Config) -> str:
    problem = postgres_problem()
    if problem is None:
        return f"PostgreSQL backend: {POSTGRES_URL} (storage and service suites run on both backends)"
    if os.environ.get("CI") == "true":
        return f"PostgreSQL backend: UNREACHABLE at {POSTGRES_URL} ({problem}) - CI=true, so those runs FAIL"
    return f"PostgreSQL backend: UNREACHABLE at {POSTGRES_URL} ({problem}) - PostgreSQL runs are SKIPPED"


def require_postgres() -> None:
    """Skip the test when PostgreSQL is unreachable, or fail it under ``CI=true``."""
    problem = postgres_problem()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable at {POSTGRES_URL}: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}")


def postgres_schema(prefix: str = "t") -> contextlib.AbstractAsyncContextManager[str]:
    """A fresh, empty schema of the test server as a database URL (``?schema=``), dropped afterwards."""
    _schemas_made.append(prefix)
    return scratch_schema(prefix, server=POSTGRES_URL)


@contextlib.asynccontextmanager
async def postgres_env(prefix: str) -> AsyncIterator[dict[str, str]]:
    """Settings for bot processes sharing a fresh schema: its URL and the one key they all need there."""
    async with postgres_schema(prefix) as url:
        yield {"PORCHLIGHT_DATABASE_URL": url, "PORCHLIGHT_ENCRYPTION_KEY": BENCH_KEY}


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    name: str = getattr(request, "param", "sqlite")
    if name == "postgresql":
        require_postgres()
    return name


@pytest.fixture
async def postgres_schema_url(backend: str) -> AsyncIterator[str | None]:
    """A fresh, empty schema for this test (dropped afterwards) as a URL, on the PostgreSQL backend."""
    if backend != "postgresql":
        yield None
        return
    async with postgres_schema() as url:
        yield url


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "porchlight.sqlite3"


async def open_test_database(db_path: Path, schema_url: str | None) -> Database:
    if schema_url is None:
        return await Database.open(db_path)
    from storage.pg import PostgresDatabase

    return await PostgresDatabase.connect(schema_url, pool_size=4)


@pytest.fixture
async def db(db_path: Path, postgres_schema_url: str | None) -> AsyncIterator[Database]:
    """A migrated database: a real file in the test's temporary directory, or a fresh PostgreSQL schema."""
    database = await open_test_database(db_path, postgres_schema_url)
    await migrate(database)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def second_db(db: Database, db_path: Path, postgres_schema_url: str | None) -> AsyncIterator[Database]:
    """Another connection to the same database, as a second process would have."""
    database = await open_test_database(db_path, postgres_schema_url)
    try:
        yield database
    finally:
        await database.close()
