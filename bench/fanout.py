"""Fan-out: how close reminder DMs come to Discord's global limit of 50 requests a second.

The real Porchlight bot with its real job pool (``PORCHLIGHT_JOB_CONCURRENCY``) sends ``members`` check-in reminders
that fall due at the same minute, against a twin that enforces Discord's rate limits (``Twin(rate_limits=True)``:
the global 50 requests/s per token and per-route buckets, answered with Discord's headers and 429s) and delays every
REST call by a 100 ms round trip. discord.py does the waiting, as it does against Discord.

Two passes, both reported:

- **first DMs** (day 1): nobody has been DMed yet, so each DM opens the DM channel first (``POST /users/@me/channels``
  then the message: two requests, so at most 25 DMs/s);
- **known channels** (day 2): the same reminders a day later, to DM channels Porchlight remembers (one request each).
  This is the steady state of a community and the headline figure: DMs/s as a share of the 50 requests/s limit.

DMs delivered are counted from the twin's state (bot messages in DM channels), requests from the twin's log.
``python -m bench.fanout`` runs this alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.postgres import BENCH_KEY, autovacuum, scratch_schema
from bot import PERMISSIONS, create_bot
from demo.community import DEFAULT_START, GUILD_READY_TIMEOUT
from services.clock import ManualClock
from settings import Settings
from twin.ratelimit import GLOBAL_LIMIT
from twin.server import Twin
from twin.state import DM
from twin.testing import running_bot

ROUND_TRIP = 0.1  # seconds
REMINDER_AT = "09:30"  # UTC; the world's clock starts at 09:00


@dataclass(frozen=True)
class Pass:
    name: str
    dms: int  # delivered, counted in the twin's DM channels
    seconds: float  # from the first job claimed to the last job done
    requests: int  # REST requests the bot made during the pass, 429s included
    refused: int  # of which answered 429 (global or per-route)

    @property
    def per_second(self) -> float:
        return self.dms / self.seconds if self.seconds else 0.0

    @property
    def share(self) -> float:
        """DMs per second as a share of the global limit (requests per second)."""
        return self.per_second / GLOBAL_LIMIT

    def line(self) -> str:
        per_dm = self.requests / self.dms if self.dms else float("nan")
        return (
            f"  {self.name:<14} {self.dms:>5} DMs in {self.seconds:6.1f} s = {self.per_second:5.1f} DMs/s "
            f"({self.share:4.0%} of {GLOBAL_LIMIT} req/s); {per_dm:.2f} requests per DM, {self.refused} answered 429"
        )


@dataclass(frozen=True)
class Result:
    members: int
    concurrency: int
    first: Pass
    known: Pass
    backend: str = "SQLite"

    def summary(self) -> str:
        return (
            f"fan-out ({self.backend}): {self.known.per_second:.1f} DMs/s to known DM channels = "
            f"{self.known.share:.0%} of Discord's {GLOBAL_LIMIT} requests/s (goal >= 90%); "
            f"first DMs {self.first.per_second:.1f}/s "
            f"({self.first.share:.0%}, two requests each) — {self.members} reminders, {ROUND_TRIP * 1000:.0f} ms "
            f"round trip, pool of {self.concurrency}"
        )


def delivered(twin: Twin, bot_id: int) -> int:
    """Messages the bot has posted in DM channels, from the twin's state."""
    return sum(
        1
        for channel in twin.state.dms.values()
        if channel.type == DM
        for message in twin.state.channel_messages(channel.id)
        if message.author.id == bot_id
    )


async def run(
    members: int = 2000, *, concurrency: int | None = None, round_trip: float = ROUND_TRIP, postgres: bool = False
) -> Result:
    """The fan-out on a SQLite file, or with ``postgres`` on a scratch PostgreSQL schema (:mod:`bench.postgres`)."""
    with tempfile.TemporaryDirectory(prefix="porchlight-fanout-") as tmp:
        twin = Twin(rate_limits=True, latency=round_trip)
        await twin.start()
        try:
            if not postgres:
                return await _run(twin, {"database_path": Path(tmp) / "fanout.db"}, members, concurrency)
            async with scratch_schema("fanout") as url:
                where = {"database_url": url, "encryption_key": BENCH_KEY}
                return await _run(twin, where, members, concurrency, backend="PostgreSQL")
        finally:
            await twin.close()


async def _run(
    twin: Twin, where: dict[str, object], members: int, concurrency: int | None, backend: str = "SQLite"
) -> Result:
    app = twin.create_application("Porchlight", token=secrets.token_urlsafe(24))
    owner = twin.create_user("owner")
    guild = twin.create_guild("Job Seekers Hub", owner=owner)
    twin.add_bot(guild, app, PERMISSIONS.value)
    people = [twin.create_user(f"member{i:05d}") for i in range(members)]
    for user in people:
        twin.join(guild, user)
    clock = ManualClock(DEFAULT_START)
    options = {"job_concurrency": concurrency} if concurrency is not None else {}
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings init option
        token=app.token,
        **where,
        discord_api_base=twin.api_base,
        discord_gateway_url=twin.gateway_url,
        **options,
    )
    bot = await create_bot(settings, clock=clock, run_jobs=False, guild_ready_timeout=GUILD_READY_TIMEOUT)
    async with running_bot(twin, bot, app.token):
        for user in people:  # what /reminders checkin does, without 2,000 interactions
            await bot.services.reminders.set(guild.id, user.id, "daily", REMINDER_AT, "UTC")
        clock.advance(timedelta(minutes=31))  # 09:31: every reminder is due
        first = await _pass(twin, bot, "first DMs")
        clock.advance(timedelta(days=1))  # the next day's reminders, to channels Porchlight now knows
        known = await _pass(twin, bot, "known channels")
    return Result(members, settings.job_concurrency, first, known, backend)


async def _pass(twin: Twin, bot: object, name: str) -> Pass:
    from bot import PorchlightBot

    assert isinstance(bot, PorchlightBot) and bot.user is not None
    before_dms = delivered(twin, bot.user.id)
    before_requests = len(twin.requests)
    before_refused = len(twin.limiter.refused) if twin.limiter else 0
    started = time.perf_counter()
    report = await bot.services.jobs.run_due()
    seconds = time.perf_counter() - started
    if report.ran != report.total:
        logging.getLogger(__name__).warning("fan-out pass %s: %s", name, report)
    return Pass(
        name=name,
        dms=delivered(twin, bot.user.id) - before_dms,
        seconds=seconds,
        requests=len(twin.requests) - before_requests,
        refused=(len(twin.limiter.refused) if twin.limiter else 0) - before_refused,
    )


def report(result: Result) -> None:
    print(result.first.line())
    print(result.known.line())
    print(result.summary())


def backends_summary(sqlite: Result, postgres: Result, *, autovacuum: bool = True) -> str:
    """The same fan-out on both engines, in one run: PostgreSQL's DMs/s against SQLite's. A server without
    autovacuum is named: a deployment's runs it, and without it the job claims slow down as dead rows pile up."""
    ratio = postgres.known.per_second / sqlite.known.per_second if sqlite.known.per_second else float("nan")
    caveat = "" if autovacuum else "; this server runs WITHOUT autovacuum, unlike a deployment's (README, PostgreSQL)"
    return (
        f"fan-out on PostgreSQL: {postgres.known.per_second:.1f} vs {sqlite.known.per_second:.1f} DMs/s on SQLite "
        f"= {ratio:.2f}x (goal: within 10%, >= 0.90x){caveat}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000, help="reminders due at once")
    parser.add_argument("--concurrency", type=int, default=None, help="job pool size (default: the setting's)")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL, and compare the two")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    async def main() -> None:
        on_sqlite = await run(args.members, concurrency=args.concurrency)
        report(on_sqlite)
        if args.postgres:
            on_postgres = await run(args.members, concurrency=args.concurrency, postgres=True)
            report(on_postgres)
            print(backends_summary(on_sqlite, on_postgres, autovacuum=await autovacuum()))

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
