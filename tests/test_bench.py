"""The benchmark code runs end to end at a tiny size, so it cannot rot. No figure is asserted: benchmarks are never
timed assertions; these pin only that every step happens (DMs delivered, every interaction answered, RSS read)."""

from __future__ import annotations

import os

import pytest

from bench import fanout, interactions


def require_postgres(problem: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI=true: {problem}")
    pytest.skip(f"PostgreSQL unreachable: {problem}")


async def test_the_fan_out_benchmark_delivers_every_reminder_twice_and_reports_a_share() -> None:
    result = await fanout.run(12, concurrency=4)
    assert (result.first.dms, result.known.dms) == (12, 12)
    assert result.first.requests >= 24 and result.known.requests >= 12  # opening the channel, then the message
    assert "fan-out (SQLite):" in result.summary()


async def test_the_fan_out_benchmark_runs_on_postgresql_and_compares_the_engines() -> None:
    from bench.postgres import autovacuum, unreachable

    if (problem := await unreachable()) is not None:
        require_postgres(problem)
    on_postgres = await fanout.run(12, concurrency=4, postgres=True)
    assert (on_postgres.first.dms, on_postgres.known.dms) == (12, 12)
    on_sqlite = await fanout.run(12, concurrency=4)
    assert "fan-out on PostgreSQL" in fanout.backends_summary(on_sqlite, on_postgres)
    assert "WITHOUT autovacuum" in fanout.backends_summary(on_sqlite, on_postgres, autovacuum=False)
    assert isinstance(await autovacuum(), bool)  # the server's own setting, read with SHOW


async def test_the_interactions_and_memory_benchmark_runs_both_bots_in_their_own_processes() -> None:
    result = await interactions.run(members=120, count=2, rounds=1, concurrency=2, mentors=1, settle=0)
    assert not result.violations
    for operation in ("/setup show", "/checkin", "/ask submit", "booking"):
        for bot in ("porchlight", "bare"):
            assert result.samples[operation][bot].count == 2, (operation, bot)
    assert all(m.ready_kib > 0 and m.after_kib > 0 for m in result.memory.values())
    assert "interactions (no network delay):" in result.interactions_summary()
    assert "memory:" in result.memory_summary()


async def test_the_interactions_benchmark_puts_its_round_trip_on_every_answer() -> None:
    result = await interactions.run(members=120, count=2, rounds=1, concurrency=2, mentors=1, settle=0, round_trip=0.04)
    assert not result.violations
    for operation in ("/setup show", "/checkin", "/ask submit", "booking"):
        for bot in ("porchlight", "bare"):
            sample = result.samples[operation][bot]
            assert sample.count == 2, (operation, bot)
            # the answer's request waited out at least its way there (half the trip): the delay applies to both bots
            assert min(sample.latencies) >= 0.02, (operation, bot, sample.latencies)
    assert "interactions at a 40 ms round trip:" in result.interactions_summary()


async def test_the_scale_out_benchmark_runs_one_and_two_processes_on_postgresql() -> None:
    from bench import scaleout
    from bench.postgres import unreachable

    if (problem := await unreachable()) is not None:
        require_postgres(problem)
    result = await scaleout.run(count=8, rounds=1, concurrency=4, settle=0.5)
    assert len(result.one.rates) == len(result.two.rates) == 1  # every /checkin of both set-ups was answered
    assert result.one.rate > 0 and result.two.rate > 0
    assert "scale-out:" in result.summary()
