"""Interactions and memory: Porchlight against a bare discord.py bot, each in its own process, as on Discord.

The twin (and the people who click) run in this process; Porchlight runs as ``python bot.py`` (its real entry point,
settings, logging and job loop) and the bare bot (``bench.bare``) as ``python -m bench.bare``, both against the same
twin and the same guild of ``members`` members (50,000 by default; neither bot asks for the members intent, so the
twin sends GUILD_CREATE with only the bot in it, as Discord does).

**Interactions.** For each operation, in interleaved rounds (so the machine's noise falls on both bots), ``count``
interactions with ``concurrency`` in flight, each by a different member. Latency runs from dispatching
INTERACTION_CREATE until the member sees the answer (the reply, or the follow-up of a deferred reply):

- ``/setup show`` (the admin);
- ``/checkin status`` (a stuck check-in: stored, counted, its follow-up scheduled);
- ``/ask`` submit: the form's submission (opening the form is not timed). Porchlight answers once the request is
  stored, then makes five requests that count against Discord's global limit (the private thread, its member, the
  posts; at ``concurrency`` in flight they queue for that limit, at most 10 asks a second) and edits the answer to
  link the thread; ``/ask alone`` measures it once more, ``count / 4`` times, one at a time and each after a pause
  (its throughput means nothing);
- booking: the call request form's submission, after "Book a call" on a roster card and picking a time (those two
  steps are timed separately as ``booking picker``, the free-slot computation). Porchlight answers once the booking
  is stored, then DMs the mentor (a request under the global limit) and edits the answer to say it was sent.

A bot may answer first and carry on after (Porchlight opens an /ask's thread and DMs a mentor after answering: those
requests queue under Discord's global limit, the answer does not). Each run therefore ends when the twin has had no
request for half a second, so that work is not a load on the other bot's run; requests are those the twin handled
until then (a background job of the other bot included), and CPU is the bot process's (all threads) and this
process's over the same span, per interaction. Throughput is answers a second, over the span to the last answer.

**Network.** By default the twin answers at once, so the figures are the bots' own cost: the harshest comparison,
since the bare bot does nothing. ``--round-trip MS`` delays every REST call as the network to Discord does (the
fan-out benchmark uses 100 ms): the latency a member feels, where a bot's own milliseconds weigh against the trip.

**Memory.** VmRSS of each process (``/proc/<pid>/status``) once it is ready, and again after the traffic.

``python -m bench.interactions`` runs this alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from demo.community import Community, build_world
from services.clock import ManualClock
from tests.bot_process import BotProcess
from twin.people import MessageView, Modal, Person
from twin.ratelimit import GLOBAL_EXEMPT_PREFIXES as EXEMPT_PREFIXES
from twin.server import RequestRecord, Twin
from twin.state import Application, Channel

ROOT = Path(__file__).resolve().parent.parent
SETTLE = 3.0  # seconds after connecting: discord.py's guild_ready_timeout (2 s) and Porchlight's start-up work
PHONE = "+44 20 7946 0958"
MENTOR_WINDOWS = "Mon-Sun 06:00-22:00"
ALONE = "/ask alone"  # the same form submission, one at a time with a pause: nothing queues for the global limit
PAUSE = 0.25  # seconds before each lone /ask: the pacer's burst is back, as in a community at an ordinary pace
QUIET_GAP = 0.5  # seconds without a request: a bot's work after its answers is done
QUIET_WITHIN = 60.0
COUNT = 50  # interactions per operation, bot and round
ROUNDS = 6  # the bots take turns each round, so the machine's noise falls on both
CONCURRENCY = 8  # interactions in flight at once
OPERATIONS = ("/setup show", "/checkin", "/ask submit", ALONE, "booking", "booking picker")

log = logging.getLogger(__name__)


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    count: int = 0
    cpu: float = 0.0  # CPU seconds the bot's process used during the runs (all its threads)
    twin_cpu: float = 0.0  # CPU seconds this process (the twin and the people) used meanwhile
    counted: int = 0  # of which count against Discord's global limit (not interaction answers or webhooks)
    requests: int | None = None  # REST requests the bot made during the runs (the untimed steps of a flow included)

    def add(
        self,
        latencies: list[float],
        wall: float,
        requests: list[RequestRecord] | None = None,
        cpu: float = 0.0,
        twin: float = 0.0,
    ) -> None:
        self.cpu += cpu
        self.twin_cpu += twin
        self.latencies += latencies
        self.wall += wall
        self.count += len(latencies)
        if requests is not None:
            self.requests = (self.requests or 0) + len(requests)
            self.counted += sum(1 for r in requests if not r.path.split("/api/v10")[-1].startswith(EXEMPT_PREFIXES))

    @property
    def cpu_each(self) -> str:
        return f"{self.cpu / self.count * 1000:.1f}" if self.cpu and self.count else "-"

    @property
    def twin_cpu_each(self) -> str:
        return f"{self.twin_cpu / self.count * 1000:.1f}" if self.twin_cpu and self.count else "-"

    @property
    def requests_each(self) -> str:
        if self.requests is None or not self.count:
            return "-"
        return f"{self.requests / self.count:.1f} ({self.counted / self.count:.1f})"

    @property
    def per_second(self) -> float:
        return self.count / self.wall if self.wall else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


@dataclass
class Memory:
    ready_kib: int = 0
    after_kib: int = 0


@dataclass
class Result:
    members: int
    count: int
    rounds: int
    concurrency: int
    bare_loop: str
    round_trip: float  # seconds the twin adds to every REST call (0: the bots' own cost alone)
    samples: dict[str, dict[str, Sample]]  # operation -> bot -> sample
    memory: dict[str, Memory]  # bot -> memory
    violations: list[str]

    def ratio(self, operation: str, what: str) -> float:
        a, b = self.samples[operation]["porchlight"], self.samples[operation]["bare"]
        if what == "throughput":
            return a.per_second / b.per_second
        q = 0.5 if what == "p50" else 0.99
        return a.percentile(q) / b.percentile(q)

    def interactions_summary(self) -> str:
        worst = max((o for o in self.samples if o != "booking picker"), key=lambda o: self.ratio(o, "p99"))
        parts = ", ".join(f"{o} {self.ratio(o, 'p99'):.2f}×" for o in self.samples)
        return (
            f"interactions{self.conditions}: worst p99 {self.ratio(worst, 'p99'):.2f}× bare ({worst}; goal <= 1.3×) — "
            f"p99 {parts}; bots in their own processes, {self.members:,} members"
        )

    @property
    def conditions(self) -> str:
        return f" at a {self.round_trip * 1000:.0f} ms round trip" if self.round_trip else " (no network delay)"

    def memory_summary(self) -> str:
        p, b = self.memory["porchlight"], self.memory["bare"]
        return (
            f"memory: Porchlight {p.after_kib / 1024:.1f} MiB vs bare {b.after_kib / 1024:.1f} MiB after traffic = "
            f"{p.after_kib / b.after_kib:.2f}× (goal <= 1.2×); at ready {p.ready_kib / 1024:.1f} vs "
            f"{b.ready_kib / 1024:.1f} MiB = {p.ready_kib / b.ready_kib:.2f}× — guild of {self.members:,} members"
        )


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """The process's resident set size (VmRSS) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(f"no VmRSS for process {pid}")


class BareProcess:
    """``python -m bench.bare`` against the twin; ``start()`` returns once it identified and posted its card."""

    def __init__(
        self, twin: Twin, app: Application, card_channel: Channel, log_path: Path, loop: str = "asyncio"
    ) -> None:
        self.twin, self.app, self.card_channel, self.log_path = twin, app, card_channel, log_path
        self.loop = loop
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, within: float = 30.0) -> None:
        identified = self.twin.gateway.next_identify(self.app)
        card = self.twin.requests_handled("POST", f"/channels/{self.card_channel.id}/messages", status=200)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PORCHLIGHT_", "BARE_"))}
        env.update(
            BARE_TOKEN=self.app.token,
            BARE_API_BASE=self.twin.api_base,
            BARE_GATEWAY_URL=self.twin.gateway_url,
            BARE_CARD_CHANNEL=str(self.card_channel.id),
            BARE_LOOP=self.loop,
        )
        self._log = _append(self.log_path)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.bare", cwd=ROOT, env=env, stdout=self._log, stderr=self._log
        )
        try:
            await asyncio.wait_for(asyncio.gather(identified, card), within)
        except TimeoutError:
            raise RuntimeError(f"the bare bot did not start:\n{self.log_path.read_text()}") from None

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._log is not None:
            self._log.close()


def _append(path: Path) -> IO[bytes]:
    return open(path, "ab")  # noqa: SIM115 - closed by BareProcess.close()


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """``--count``, ``--rounds`` and ``--concurrency``, for this module's command line and ``make bench``'s."""
    parser.add_argument("--count", type=int, default=COUNT, help="interactions per operation, bot and round")
    parser.add_argument(
        "--rounds",
        type=int,
        default=ROUNDS,
        help="rounds; the bots take turns each round, so the machine's noise falls on both",
    )
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="interactions in flight at once")


async def drive(step: Callable[[int], Awaitable[float]], count: int, concurrency: int) -> tuple[list[float], float]:
    """Run ``step(i)`` for i in range(count), ``concurrency`` at a time; each returns its timed latency."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(index: int) -> None:
        async with gate:
            latencies.append(await step(index))

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return latencies, time.perf_counter() - began


async def quiet(twin: Twin, *, gap: float = QUIET_GAP, within: float = QUIET_WITHIN) -> None:
    """Wait until the twin has handled no request for ``gap`` seconds (at most ``within``): a bot that answers first
    and then carries on (a thread, a DM, queued under the global limit) has finished."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    seen, since = len(twin.requests), loop.time()
    while loop.time() - since < gap and loop.time() < deadline:
        await asyncio.sleep(0.05)
        if len(twin.requests) != seen:
            seen, since = len(twin.requests), loop.time()


async def timed(action: Awaitable[Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    answer = await action
    return time.perf_counter() - started, answer


class Crowd:
    """Members who have not used a bot yet: each benchmarked interaction comes from a fresh one."""

    def __init__(self, people: Iterator[Person]) -> None:
        self._people = people

    def next(self) -> Person:
        person = next(self._people, None)
        if person is None:
            raise RuntimeError("every member has had a turn: run with more --members")
        return person


async def sign_up_mentor(c: Community, person: Person) -> None:
    form = await person.slash(
        "mentor signup",
        app=c.app,
        channel=c.general,
        timezone="UTC",
        windows=MENTOR_WINDOWS,
        call_minutes=30,
        contact="they_call_me",
        weekly_limit=20,
    )
    assert isinstance(form, Modal), form
    await person.submit_modal(
        form,
        {
            "Headline": "Eng manager, fintech, 12 years",
            "Topics (comma-separated)": "Interviews, Career change",
            "Phone number (only booked members get it)": PHONE,
        },
    )
    cards = [MessageView(c.twin, m.id) for m in c.twin.state.channel_messages(c.queue.id)]
    card = next(card for card in reversed(cards) if "Mentor application" in card.text and person.mention in card.text)
    await c.mod.click(card, "Approve")


def roster_cards(c: Community) -> list[MessageView]:
    messages = c.twin.state.channel_messages(c.roster.id)
    return [MessageView(c.twin, m.id) for m in messages if not m.deleted and m.ephemeral_for is None]


class Operations:
    """The benchmarked steps for one bot; each returns the seconds its timed part took."""

    def __init__(self, c: Community, app: Application, crowd: Crowd, cards: list[MessageView]) -> None:
        self.c, self.app, self.crowd, self.cards = c, app, crowd, cards
        self.picker: list[float] = []

    async def setup_show(self, _: int) -> float:
        seconds, _answer = await timed(self.c.admin.slash("setup show", app=self.app, channel=self.c.general))
        return seconds

    async def checkin(self, _: int) -> float:
        person = self.crowd.next()
        seconds, _answer = await timed(person.slash("checkin", app=self.app, channel=self.c.general, status="stuck"))
        return seconds

    async def ask_submit(self, _: int) -> float:
        person = self.crowd.next()
        form = await person.slash("ask", app=self.app, channel=self.c.general, topic="resume")
        assert isinstance(form, Modal), form
        values = {"body": "My CV gets no callbacks; could someone look at it?", "wants": "a second pair of eyes"}
        seconds, answer = await timed(person.submit_modal(form, values))
        assert isinstance(answer, MessageView), answer
        return seconds

    async def ask_alone(self, index: int) -> float:
        await asyncio.sleep(PAUSE)
        return await self.ask_submit(index)

    async def booking(self, index: int) -> float:
        person = self.crowd.next()
        for attempt in range(len(self.cards)):
            card = self.cards[(index + attempt) % len(self.cards)]
            seconds, picker = await timed(person.click(card, "Book a call"))
            if picker.selects:
                break
        else:
            raise RuntimeError("every mentor is fully booked: run with more --mentors")
        self.picker.append(seconds)
        options = [o["value"] for o in picker.selects[0]["options"]]
        form = await person.select(picker, "Pick a time", values=[options[index % len(options)]])
        assert isinstance(form, Modal), form
        seconds, answer = await timed(person.submit_modal(form, {"topic": "Practising for a PM final round"}))
        assert isinstance(answer, MessageView), answer
        return seconds

    def steps(self) -> dict[str, Callable[[int], Awaitable[float]]]:
        return {
            "/setup show": self.setup_show,
            "/checkin": self.checkin,
            "/ask submit": self.ask_submit,
            ALONE: self.ask_alone,
            "booking": self.booking,
        }


async def run(
    *,
    members: int = 50_000,
    count: int = COUNT,
    rounds: int = ROUNDS,
    concurrency: int = CONCURRENCY,
    mentors: int = 12,
    settle: float = SETTLE,
    bare_loop: str = "asyncio",
    round_trip: float = 0.0,
) -> Result:
    logging.getLogger("twin").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="porchlight-interactions-") as tmp:
        twin = Twin(latency=round_trip)
        await twin.start()
        try:
            return await _run(twin, Path(tmp), members, count, rounds, concurrency, mentors, settle, bare_loop)
        finally:
            await twin.close()


async def _run(
    twin: Twin,
    tmp: Path,
    members: int,
    count: int,
    rounds: int,
    concurrency: int,
    mentors: int,
    settle: float,
    bare_loop: str,
) -> Result:
    c = build_world(twin, ManualClock(datetime.now(UTC)), tmp / "porchlight.db")
    for index in range(members - len(c.guild.members) - 1):  # the bare bot joins below
        twin.join(c.guild, twin.create_user(f"m{index:06d}"))
    bare_app = twin.create_application("Bare")
    twin.add_bot(c.guild, bare_app, 0)
    humans = (Person(twin, c.guild, m.user) for m in list(c.guild.members.values()) if not m.user.bot)
    staff = {p.id for p in c.members}
    crowd = Crowd(p for p in humans if p.id not in staff)

    porchlight = BotProcess(twin, c.app, c.database_path, log_path=tmp / "porchlight.log")
    bare = BareProcess(twin, bare_app, c.general, tmp / "bare.log", loop=bare_loop)
    memory = {"porchlight": Memory(), "bare": Memory()}
    # The twin plays Discord, whose pauses are not the bots'. Its world (50,000 members) leaves the collector's reach,
    # and the collector runs between the measured runs, never in one: a full collection stopped this process for
    # 0.06-0.2 s mid-run (seen with gc callbacks), landing on whichever bot ran then. Both undone in ``finally``.
    gc.collect()
    gc.freeze()
    try:
        await asyncio.gather(porchlight.start(), bare.start())
        await asyncio.sleep(settle)
        await c.admin.slash("setup channels", app=c.app, channel=c.general, help=c.help, queue=c.queue, roster=c.roster)
        await c.admin.slash(
            "setup roles", app=c.app, channel=c.general, helper=c.helpers, mentor=c.mentors, moderator=c.mods
        )
        assert porchlight.pid is not None
        memory["porchlight"].ready_kib, memory["bare"].ready_kib = rss_kib(porchlight.pid), rss_kib(bare.pid)

        for _ in range(mentors):
            await sign_up_mentor(c, crowd.next())
        bare_cards = [MessageView(twin, m.id) for m in twin.state.channel_messages(c.general.id)]
        bots = {
            "porchlight": Operations(c, c.app, crowd, roster_cards(c)),
            "bare": Operations(c, bare_app, crowd, [v for v in bare_cards if v.buttons]),
        }
        samples = {op: {name: Sample() for name in bots} for op in OPERATIONS}
        pids = {"porchlight": porchlight.pid, "bare": bare.pid}
        for ops in bots.values():  # warm-up: imports, caches, SQLite pages
            for step in ops.steps().values():
                await drive(step, min(count, 20), concurrency)
            ops.picker.clear()
        gc.disable()
        for _ in range(rounds):
            for op in OPERATIONS[:-1]:
                for name, ops in bots.items():
                    pid = pids[name]
                    before, cpu, own = len(twin.requests), cpu_seconds(pid), time.process_time()
                    alone = op == ALONE
                    latencies, wall = await drive(
                        ops.steps()[op], max(1, count // 4) if alone else count, 1 if alone else concurrency
                    )
                    await quiet(twin)  # its work after the answers is its own, not a load on the next run
                    samples[op][name].add(
                        latencies, wall, twin.requests[before:], cpu_seconds(pid) - cpu, time.process_time() - own
                    )
                    gc.collect()
        for name, ops in bots.items():
            samples["booking picker"][name].add(ops.picker, samples["booking"][name].wall)
        memory["porchlight"].after_kib, memory["bare"].after_kib = rss_kib(porchlight.pid), rss_kib(bare.pid)
    except BaseException:
        log.error("porchlight log:\n%s", porchlight.log()[-4000:])
        raise
    finally:
        gc.enable()
        gc.unfreeze()
        await asyncio.gather(porchlight.close(), bare.close())
    violations = list(twin.violations)
    return Result(members, count, rounds, concurrency, bare_loop, twin.latency, samples, memory, violations)


def report(result: Result) -> None:
    print(
        f"interactions through the twin: {result.rounds} rounds × {result.count} per operation and bot, "
        f"{result.concurrency} in flight{result.conditions}; Porchlight on uvloop, the bare bot on "
        f"{result.bare_loop}'s event loop"
    )
    print(
        f"  {'operation':<18}{'bot':<12}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'requests (global)':>19}"
        f"{'CPU ms':>8}{'twin CPU ms':>13}"
    )
    for op, by_bot in result.samples.items():
        for name, sample in by_bot.items():
            mean = statistics.fmean(sample.latencies) * 1000 if sample.latencies else float("nan")
            print(
                f"  {op:<18}{name:<12}{sample.per_second:>8.1f}{sample.percentile(0.5):>9.2f}"
                f"{sample.percentile(0.99):>9.2f}{mean:>9.2f}{sample.requests_each:>19}{sample.cpu_each:>8}{sample.twin_cpu_each:>13}"
            )
        print(
            f"  {'':<18}{'ratio':<12}{result.ratio(op, 'throughput'):>7.2f}×{result.ratio(op, 'p50'):>8.2f}×"
            f"{result.ratio(op, 'p99'):>8.2f}×"
        )
    if result.violations:
        print("twin violations:\n  " + "\n  ".join(result.violations))
    print(result.interactions_summary())
    print(result.memory_summary())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.interactions", description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000, help="members in the guild")
    add_load_options(parser)
    parser.add_argument("--mentors", type=int, default=12, help="mentors to book (each takes ~40 calls)")
    parser.add_argument(
        "--bare-loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="the bare bot's event loop (Porchlight runs on uvloop)",
    )
    parser.add_argument(
        "--round-trip",
        type=float,
        default=0.0,
        metavar="MS",
        help="milliseconds the twin adds to every REST call, as the network to Discord does (default 0: the bots' "
        "own cost alone)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt):
        report(
            asyncio.run(
                run(
                    members=args.members,
                    count=args.count,
                    rounds=args.rounds,
                    concurrency=args.concurrency,
                    mentors=args.mentors,
                    bare_loop=args.bare_loop,
                    round_trip=args.round_trip / 1000,
                )
            )
        )
