"""`make bench`: interactions through the local Discord twin, Porchlight against a bare discord.py bot.

Both bots run in the same process against the same twin, in interleaved rounds, so the machine's noise falls on both.
Latency is measured from dispatching INTERACTION_CREATE to the bot's callback arriving at the twin (both include
the twin's own constant cost). The figure that matters is the ratio Porchlight / bare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import storage as bench_storage
from bench.bare import BareBot
from demo.community import community
from twin.people import Person
from twin.testing import running_bot


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    count: int = 0

    def add(self, other: Sample) -> None:
        self.latencies += other.latencies
        self.wall += other.wall
        self.count += other.count

    @property
    def per_second(self) -> float:
        return self.count / self.wall

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def drive(send: Callable[[], Awaitable[object]], count: int, concurrency: int) -> Sample:
    sample = Sample(count=count)
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            started = time.perf_counter()
            await send()
            sample.latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    sample.wall = time.perf_counter() - began
    return sample


async def main(count: int, concurrency: int, rounds: int, storage_rows: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="porchlight-bench-") as tmp:
        async with community(Path(tmp) / "bench.db") as c:
            bare_app = c.twin.create_application("Bare")
            c.twin.add_bot(c.guild, bare_app, 0)
            async with running_bot(c.twin, BareBot(), bare_app.token):
                admin: Person = c.admin

                def porchlight() -> Awaitable[object]:
                    return admin.slash("setup show", channel=c.general, app=c.app)

                def bare() -> Awaitable[object]:
                    return admin.slash("setup show", channel=c.general, app=bare_app)

                await drive(porchlight, 50, concurrency)  # warm-up: imports, caches, SQLite pages
                await drive(bare, 50, concurrency)
                totals = {"porchlight": Sample(), "bare": Sample()}
                for _ in range(rounds):
                    totals["porchlight"].add(await drive(porchlight, count, concurrency))
                    totals["bare"].add(await drive(bare, count, concurrency))
            violations = list(c.twin.violations)
    report(totals, count, concurrency, rounds)
    if violations:
        raise SystemExit("twin violations during the benchmark:\n" + "\n".join(violations))
    if storage_rows:
        print()
        await bench_storage.run(small=10_000, large=storage_rows, samples=300)


def report(totals: dict[str, Sample], count: int, concurrency: int, rounds: int) -> None:
    print(f"/setup show through the twin: {rounds} rounds × {count} interactions, {concurrency} in flight")
    print(f"{'bot':<12}{'interactions/s':>16}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for name, sample in totals.items():
        mean = statistics.fmean(sample.latencies) * 1000
        print(
            f"{name:<12}{sample.per_second:>16.1f}{sample.percentile(0.5):>10.2f}"
            f"{sample.percentile(0.99):>10.2f}{mean:>10.2f}"
        )
    a, b = totals["porchlight"], totals["bare"]
    print(
        f"ratio porchlight/bare: throughput {a.per_second / b.per_second:.2f}×, "
        f"p50 {a.percentile(0.5) / b.percentile(0.5):.2f}×, p99 {a.percentile(0.99) / b.percentile(0.99):.2f}×"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=300, help="interactions per bot per round")
    parser.add_argument("--concurrency", type=int, default=8, help="interactions in flight at once")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--storage-rows", type=int, default=10_000_000, help="check-ins in the large storage database (0: skip)"
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.count, args.concurrency, args.rounds, args.storage_rows))
