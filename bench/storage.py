"""Storage at scale: recording a check-in, /checkin-history and /pulse at 10M check-ins against 10k.

Both databases have the same shape (every member has the same history: 100 check-ins over two years); only the
number of members, and so the check-ins per week, grows a thousandfold. The operations run through the real
services (CheckinService on aiosqlite), as an interaction does. The figure that matters is the ratio large/small
of the p50s (goal ≤ 1.5×), and the slowest single call.

Generated databases are cached under the temp dir, keyed by row count and the migrations' hash, and copied for each
run (the run writes check-ins). ``python -m bench.storage`` runs this alone.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.checkins import FOLLOWUP_JOB, CheckinService, Source, Status
from services.clock import ManualClock
from services.jobs import JobDispatcher, JobKind
from storage.db import Database, to_epoch
from storage.jobs import Job
from storage.migrate import MIGRATIONS_DIR, load_migrations, migrate

GUILD = 1
FIRST_USER = 10_000_000
PER_MEMBER = 100  # check-ins per member, spread over the span
SPAN = timedelta(weeks=104)
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)  # a Monday: /pulse reads this week and last week
STATUSES = ("on_track", "stuck", "rut", "hired")
CACHE = Path(tempfile.gettempdir()) / "porchlight-bench"

log = logging.getLogger(__name__)


def schema_key() -> str:
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def _load_checkins(path: Path, rows: int) -> None:
    """Bulk-load ``rows`` check-ins in one transaction (recursive CTE, indexes built afterwards by sorting)."""
    members = max(1, rows // PER_MEMBER)
    start = to_epoch(NOW - SPAN)
    step = int(SPAN.total_seconds()) // PER_MEMBER  # a member's check-ins are this far apart (~1 a week)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA cache_size = -1000000")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("BEGIN")
        saved = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'checkins' AND type IN ('index', 'trigger')"
            " AND sql IS NOT NULL"
        ).fetchall()
        for name, sql in saved:
            kind = "TRIGGER" if sql.lstrip().upper().startswith("CREATE TRIGGER") else "INDEX"
            conn.execute(f"DROP {kind} {name}")
        conn.execute(
            """
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :rows - 1)
            INSERT INTO checkins (guild_id, user_id, status, note, share_with_helpers, source, created_at)
            SELECT :guild, :first + i % :members, s.status,
                   NULL, CASE WHEN s.status IN ('stuck', 'rut') AND i % 3 = 0 THEN 1 ELSE 0 END, 'command',
                   :start + (i / :members) * :step + (i % :members) * :step / :members
            FROM (SELECT i, CASE (i + i / :members) % 4 WHEN 0 THEN 'on_track' WHEN 1 THEN 'stuck'
                                 WHEN 2 THEN 'rut' ELSE 'hired' END AS status FROM n) AS s
            """,
            {"rows": rows, "guild": GUILD, "first": FIRST_USER, "members": members, "start": start, "step": step},
        )
        for _, sql in saved:
            conn.execute(sql)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def _build(path: Path, rows: int) -> None:
    """The schema up to the check-ins' weekly counts, the rows, then the remaining migrations: the counts are made
    by the same migration that makes them for a deployment upgrading with history."""
    migrations = load_migrations()
    weeks = next(i for i, m in enumerate(migrations) if m.name.endswith("_checkin_weeks.sql"))
    db = await Database.open(path)
    try:
        await migrate(db, migrations[:weeks])
    finally:
        await db.close()
    _load_checkins(path, rows)
    db = await Database.open(path)
    try:
        await migrate(db, migrations)
        await db.conn.execute("ANALYZE")
        await db.raw.commit()
    finally:
        await db.close()


async def prepared(rows: int) -> Path:
    """A cached database of ``rows`` check-ins, built once per schema."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"checkins-{rows}-{schema_key()}.sqlite3"
    if not path.exists():
        began = time.perf_counter()
        partial = path.with_suffix(".building")
        for leftover in CACHE.glob(partial.name + "*"):
            leftover.unlink()
        await _build(partial, rows)
        partial.rename(path)
        print(f"  built {rows:,} check-ins in {time.perf_counter() - began:.0f} s (cached at {path})")
    return path


@dataclass
class Subject:
    """One database under test, with the services an interaction would use."""

    rows: int
    db: Database
    clock: ManualClock
    checkins: CheckinService
    rng: random.Random
    record: list[float] = field(default_factory=list)
    history: list[float] = field(default_factory=list)
    pulse: list[float] = field(default_factory=list)

    def member(self) -> int:
        return FIRST_USER + self.rng.randrange(max(1, self.rows // PER_MEMBER))

    async def one_round(self, i: int, keep: bool) -> None:
        """A check-in by one member, another's /checkin-history, and /pulse, each timed."""
        self.clock.advance(seconds=1)
        status = list(Status)[i % 4]
        await _timed(self.checkins.record(GUILD, self.member(), status, source=Source.COMMAND), self.record, keep)
        await _timed(self.checkins.history(GUILD, self.member()), self.history, keep)
        await _timed(self.checkins.pulse(GUILD), self.pulse, keep)


async def _timed(call: Awaitable[object], into: list[float], keep: bool) -> None:
    began = time.perf_counter()
    await call
    if keep:
        into.append(time.perf_counter() - began)


async def _nothing(job: Job) -> None:
    return None


async def _open(path: Path, rows: int, directory: Path) -> Subject:
    work = directory / f"bench-{rows}.sqlite3"
    shutil.copyfile(path, work)  # the run writes check-ins: the cached file stays as built
    db = await Database.open(work)
    clock = ManualClock(NOW)
    jobs = JobDispatcher(db, clock, worker="bench")
    jobs.register(JobKind(FOLLOWUP_JOB, _nothing))
    return Subject(rows, db, clock, CheckinService(db, jobs, clock), random.Random(rows))


async def measure(sizes: tuple[int, int], samples: int) -> list[Subject]:
    """Both databases open at once, measured in alternation, so the machine's noise falls on both."""
    paths = [await prepared(rows) for rows in sizes]
    with tempfile.TemporaryDirectory(prefix="porchlight-bench-") as tmp:
        subjects = [await _open(path, rows, Path(tmp)) for path, rows in zip(paths, sizes, strict=True)]
        try:
            for i in range(-20, samples):  # 20 rounds of warm-up: statement caches, SQLite's pages
                for subject in subjects:
                    await subject.one_round(i, keep=i >= 0)
        finally:
            for subject in subjects:
                await subject.db.close()
    return subjects


def p50(values: list[float]) -> float:
    return statistics.median(values) * 1000


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


def worst(values: list[float]) -> float:
    return max(values) * 1000


async def run(small: int, large: int, samples: int) -> str:
    print(f"storage: {samples} × record, history and pulse through CheckinService; {small:,} against {large:,}")
    small_db, large_db = await measure((small, large), samples)
    print(f"{'check-ins':>12}  {'operation':<9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for t in (small_db, large_db):
        for name, values in (("record", t.record), ("history", t.history), ("pulse", t.pulse)):
            print(f"{t.rows:>12,}  {name:<9}{p50(values):>9.3f}{p99(values):>9.3f}{worst(values):>9.2f}")
    a, b = large_db, small_db
    ratios = [p50(a.record) / p50(b.record), p50(a.history) / p50(b.history), p50(a.pulse) / p50(b.pulse)]
    verdict = "goal ≤ 1.5× met" if max(ratios) <= 1.5 else "goal ≤ 1.5× MISSED"
    summary = (
        f"storage {large:,} vs {small:,} check-ins, p50 ratio: record {ratios[0]:.2f}×, history {ratios[1]:.2f}×, "
        f"pulse {ratios[2]:.2f}× ({verdict})"
    )
    print(summary)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000, help="check-ins in the small database")
    parser.add_argument("--large", type=int, default=10_000_000, help="check-ins in the large database")
    parser.add_argument("--samples", type=int, default=300, help="calls of each operation per database")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(args.small, args.large, args.samples))


if __name__ == "__main__":
    main()
