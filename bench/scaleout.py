"""Scale-out: interactions per second across four servers, two Porchlight processes against one, on PostgreSQL.

Four servers of one bot, two on each of Discord's two shards (the twin routes each server's events by Discord's rule
``(guild_id >> 22) % 2``), one PostgreSQL database. In turn, in the same run:

- **one process** (``python bot.py`` holding shards 0 and 1: every server);
- **two processes** (one holding shard 0, the other shard 1), sharing the database.

Each round sends ``count`` ``/checkin`` interactions (a stuck check-in: stored, counted, its follow-up scheduled),
spread evenly over the four servers, each from a member who has not checked in yet, with ``concurrency`` in flight;
throughput is interactions answered per second of the round's wall time. Rounds alternate between the two set-ups so
the machine's noise falls on both. The twin and the members run in this process, as in ``bench.interactions``.

Each round also accounts for the CPU it used, per interaction: the bot processes', this process's (the twin and the
members), the PostgreSQL server's (its processes on this machine), and how busy the machine's cores were. A second
process can only add throughput where the first left cores idle: the report's "ceiling" is the machine's cores
divided by the CPU one interaction costs across all those parts.

``python -m bench.scaleout`` runs this alone (it needs the PostgreSQL server of :mod:`bench.postgres`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.interactions import cpu_seconds, drive
from bench.postgres import BENCH_KEY, scratch_schema
from demo.community import Community, build_world
from services.clock import ManualClock
from tests.bot_process import BotProcess, all_running
from twin.people import MessageView, Person
from twin.server import Twin

SERVERS = 4
SHARDS = 2
SETTLE = 8.0  # seconds after connecting: guild_ready_timeout and the start-up passes over each server's members

log = logging.getLogger(__name__)


@dataclass
class Setup:
    name: str
    processes: int
    rates: list[float] = field(default_factory=list)  # interactions per second, one per round
    cpu: list[float] = field(default_factory=list)  # bot CPU seconds per interaction (all processes)
    twin_cpu: list[float] = field(default_factory=list)  # this process's (the twin and the members) per interaction
    postgres_cpu: list[float] = field(default_factory=list)  # the PostgreSQL server's per interaction
    busy: list[float] = field(default_factory=list)  # cores busy during the round (machine-wide), out of os.cpu_count()

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0


@dataclass(frozen=True)
class Result:
    count: int
    rounds: int
    concurrency: int
    one: Setup
    two: Setup

    @property
    def ratio(self) -> float:
        return self.two.rate / self.one.rate if self.one.rate else float("nan")

    def lines(self) -> list[str]:
        out = []
        for setup in (self.one, self.two):
            rates = ", ".join(f"{r:.1f}" for r in setup.rates)
            bot, twin, server = (_median_ms(v) for v in (setup.cpu, setup.twin_cpu, setup.postgres_cpu))
            busy = statistics.median(setup.busy) if setup.busy else float("nan")
            ceiling = (os.cpu_count() or 1) / ((bot + twin + server) / 1000)
            out.append(
                f"  {setup.name:<14} {setup.rate:6.1f} interactions/s (rounds: {rates}); CPU per interaction: bot "
                f"{bot:.1f} ms, twin and members {twin:.1f} ms, PostgreSQL {server:.1f} ms; machine busy {busy:.2f} "
                f"of {os.cpu_count()} cores; ceiling at that CPU {ceiling:.0f}/s"
            )
        return out

    def summary(self) -> str:
        busy = statistics.median(self.one.busy) if self.one.busy else float("nan")
        return (
            f"scale-out: two processes {self.two.rate:.1f} vs one {self.one.rate:.1f} /checkin per second across "
            f"{SERVERS} servers on PostgreSQL = {self.ratio:.2f}x (goal >= 1.7x); {self.count} per round, "
            f"{self.concurrency} in flight, median of {self.rounds} rounds; one process already kept "
            f"{busy:.2f} of the machine's {os.cpu_count()} cores busy"
        )


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


def postgres_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL server's processes on this machine (0 when it runs elsewhere)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().split("(", 1)[1].rsplit(")", 1)
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        if name == "postgres":
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, elapsed) CPU seconds of the whole machine so far, summed over its cores (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle and waiting for I/O
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


class Members:
    """Fresh members of each server, so that no member's own limits come into play."""

    def __init__(self, twin: Twin, communities: list[Community], per_server: int) -> None:
        self._queues: dict[int, Iterator[Person]] = {}
        for c in communities:
            people = []
            for index in range(per_server):
                user = twin.create_user(f"s{c.guild.id % 1000:03d}m{index:05d}")
                twin.join(c.guild, user)
                people.append(Person(twin, c.guild, user))
            self._queues[c.guild.id] = iter(people)

    def next(self, c: Community) -> Person:
        person = next(self._queues[c.guild.id], None)
        if person is None:
            raise RuntimeError("every member has checked in: run with fewer interactions")
        return person


@contextlib.asynccontextmanager
async def processes(
    twin: Twin,
    c: Community,
    env: dict[str, str],
    shard_sets: list[tuple[int, ...]],
    folder: Path,
    settle: float = SETTLE,
) -> AsyncIterator[list[BotProcess]]:
    """Porchlight processes holding the given shard sets (``(0, 1)``, or ``(0,)`` and ``(1,)``), started and settled."""
    quiet = {**env, "PORCHLIGHT_LOG_LEVEL": "WARNING"}
    shards = [
        BotProcess.on_shards(twin, c.app, c.database_path, ids, SHARDS, folder=folder, env=quiet) for ids in shard_sets
    ]
    async with all_running(shards) as started:
        await asyncio.sleep(settle)
        yield started


async def run(*, count: int = 200, rounds: int = 3, concurrency: int = 16, settle: float = SETTLE) -> Result:
    logging.getLogger("twin").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="porchlight-scaleout-") as tmp:
        twin = Twin()
        await twin.start()
        try:
            async with scratch_schema("scaleout") as url:
                env = {"PORCHLIGHT_DATABASE_URL": url, "PORCHLIGHT_ENCRYPTION_KEY": BENCH_KEY}
                return await _run(twin, Path(tmp), env, count, rounds, concurrency, settle)
        finally:
            await twin.close()


async def _run(
    twin: Twin, tmp: Path, env: dict[str, str], count: int, rounds: int, concurrency: int, settle: float
) -> Result:
    clock = ManualClock(datetime.now(UTC))
    communities: list[Community] = []
    for index in range(SERVERS):
        app = communities[0].app if communities else None
        shard = (index % SHARDS, SHARDS)
        communities.append(
            build_world(twin, clock, tmp / "unused.db", app=app, name=f"Server {index + 1}", shard=shard)
        )
    first = communities[0]
    per_server = (count * (2 * rounds + 1)) // SERVERS + 1
    members = Members(twin, communities, per_server)
    setups = [Setup("one process", 1), Setup("two processes", 2)]
    shard_sets = {1: [tuple(range(SHARDS))], 2: [(shard,) for shard in range(SHARDS)]}

    async def checkin(index: int) -> float:
        c = communities[index % SERVERS]
        person = members.next(c)
        started = time.perf_counter()
        answer = await person.slash("checkin", app=c.app, channel=c.general, status="stuck")
        assert isinstance(answer, MessageView) and answer.ephemeral, answer
        return time.perf_counter() - started

    async with processes(twin, first, env, shard_sets[1], tmp, settle) as warm:
        for c in communities:
            await c.admin.slash(
                "setup channels", app=c.app, channel=c.general, help=c.help, queue=c.queue, roster=c.roster
            )
        await drive(checkin, count // 2, concurrency)  # warm-up: imports, caches, connections
        del warm
    for _ in range(rounds):
        for setup in setups:
            async with processes(twin, first, env, shard_sets[setup.processes], tmp, settle) as running:
                pids = [p.pid for p in running if p.pid is not None]
                cpu_before, own_before = sum(cpu_seconds(pid) for pid in pids), time.process_time()
                server_before, (busy_before, elapsed_before) = postgres_cpu(), machine_cpu()
                _latencies, wall = await drive(checkin, count, concurrency)
                setup.twin_cpu.append((time.process_time() - own_before) / count)
                setup.postgres_cpu.append((postgres_cpu() - server_before) / count)
                busy, elapsed = machine_cpu()
                setup.busy.append((busy - busy_before) / (elapsed - elapsed_before) * (os.cpu_count() or 1))
                setup.rates.append(count / wall)
                setup.cpu.append((sum(cpu_seconds(pid) for pid in pids) - cpu_before) / count)
    if twin.violations:
        raise AssertionError(f"the twin recorded requests Discord would reject: {twin.violations[:3]}")
    return Result(count, rounds, concurrency, setups[0], setups[1])


def report(result: Result) -> None:
    for line in result.lines():
        print(line)
    print(result.summary())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="/checkin interactions per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="interactions in flight")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt):
        report(asyncio.run(run(count=args.count, rounds=args.rounds, concurrency=args.concurrency)))
