"""`make bench`: Porchlight's four benchmarks, each a ratio measured in one run, then one summary line each.

- fan-out (``bench.fanout``): reminder DMs per second as a share of Discord's global limit, through a twin that
  enforces Discord's rate limits with a 100 ms round trip; then the same on PostgreSQL, against SQLite;
- interactions (``bench.interactions``): p50/p99 and throughput of ``/setup show``, ``/checkin``, the ``/ask`` form
  and a roster booking, Porchlight against a bare discord.py bot, each bot in its own process: once with the twin
  answering at once (the bots' own cost), once with a 100 ms round trip on every REST call (as members feel it);
- memory (measured in the same run): RSS of both processes with a guild of 50,000 members;
- scale-out (``bench.scaleout``, PostgreSQL): ``/checkin``s a second across four servers, two processes against one;
- storage (``bench.storage``): record, history and pulse p50 at 10M check-ins against 10k.

Each module also runs alone (``python -m bench.fanout`` and so on).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from bench import fanout, interactions, postgres, scaleout
from bench import storage as bench_storage


async def main(args: argparse.Namespace) -> None:
    summaries: list[str] = []
    print(f"fan-out: {args.reminders:,} check-in reminders due at once")
    result = await fanout.run(args.reminders)
    fanout.report(result)
    summaries.append(result.summary())
    if (problem := await postgres.unreachable()) is None:
        print(f"\nfan-out on PostgreSQL ({postgres.POSTGRES_URL}), same reminders")
        on_postgres = await fanout.run(args.reminders, postgres=True)
        fanout.report(on_postgres)
        summaries.append(fanout.backends_summary(result, on_postgres, autovacuum=await postgres.autovacuum()))
    else:
        summaries.append(f"fan-out on PostgreSQL: skipped, server unreachable ({problem})")
    print()
    measured = await interactions.run(
        members=args.members, count=args.count, rounds=args.rounds, concurrency=args.concurrency
    )
    interactions.report(measured)
    summaries += [measured.interactions_summary(), measured.memory_summary()]
    if args.round_trip:
        print()
        over_network = await interactions.run(
            members=args.members,
            count=args.count,
            rounds=args.rounds,
            concurrency=args.concurrency,
            round_trip=args.round_trip / 1000,
        )
        interactions.report(over_network)
        summaries.append(over_network.interactions_summary())
    if problem is None:
        print()
        scaled = await scaleout.run()
        scaleout.report(scaled)
        summaries.append(scaled.summary())
    if args.storage_rows:
        print()
        summaries.append(await bench_storage.run(small=10_000, large=args.storage_rows, samples=300))
    print("\nsummary")
    for line in summaries:
        print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reminders", type=int, default=2000, help="fan-out: reminders due at once")
    parser.add_argument("--members", type=int, default=50_000, help="interactions and memory: members in the guild")
    interactions.add_load_options(parser)
    parser.add_argument(
        "--round-trip",
        type=float,
        default=fanout.ROUND_TRIP * 1000,
        metavar="MS",
        help="interactions: run them again with this round trip on every REST call, as on Discord (0: skip)",
    )
    parser.add_argument(
        "--storage-rows", type=int, default=10_000_000, help="check-ins in the large storage database (0: skip)"
    )
    logging.basicConfig(level=logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args()))
