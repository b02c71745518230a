"""Porchlight's entry point: Settings -> storage (migrate) -> services -> PorchlightBot -> run.

``python bot.py`` runs against Discord with the token from ``.env``; ``python bot.py --demo`` runs the scripted demo
against the local Discord twin, no account needed; ``python bot.py --backup PATH`` copies the database and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import math
import signal
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import discord
import pydantic
from discord.ext import commands

from cogs import EXTENSIONS
from cogs._effects import EffectRunner, doubt_trace
from cogs._pacing import BURST, GlobalPacer, pace
from cogs._ui import PorchlightTree
from discord_endpoints import point_discord_at
from services.clock import Clock, SystemClock
from services.command_sync import commands_digest
from services.contact import PhoneVault
from services.wiring import MissingKey, Services, build_services, encryption_key
from settings import Settings
from storage.backup import BackupFailed, backup_database, backup_name
from storage.db import Database
from storage.health import DatabaseUnusable, open_checked_url
from storage.migrate import DatabaseTooNew

if TYPE_CHECKING:
    from cogs._ops import OpsServer
    from services.metrics import Metrics

log = logging.getLogger("porchlight")
T = TypeVar("T")

# Exactly what PRODUCT.md lists: the help, queue and roster channels' needs, plus Manage Roles (mentor role) and
# Manage Channels (temporary voice rooms) for the optional features.
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_private_threads=True,
    manage_threads=True,
    read_message_history=True,
    embed_links=True,
    manage_roles=True,
    manage_channels=True,
)
SCOPES = ("bot", "applications.commands")

# Tasks discord.py starts for each interaction or event; shutdown waits for these to finish.
_HANDLER_TASKS = ("CommandTree-invoker", "discord-ui-", "discord.py: ")
DRAIN_TIMEOUT = 10.0


def porchlight_intents() -> discord.Intents:
    """No privileged intents: guilds (channels, roles, threads), guild messages (thread activity, no content) and
    direct messages (an anonymous asker's replies; DM content needs no message-content intent)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    return intents


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=SCOPES)


class PorchlightBot(commands.Bot):
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        services: Services,
        run_jobs: bool = True,
        **client_options: Any,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=porchlight_intents(),
            tree_cls=PorchlightTree,
            # Nobody is ever pinged unless a message opts in explicitly (e.g. an escalation naming one role).
            allowed_mentions=discord.AllowedMentions.none(),
            # No message cache: nothing reads it (no on_message_edit/delete or reaction events, references are read
            # by id), and it would hold the last 1,000 messages Porchlight sees, its own posts and DMs included.
            max_messages=client_options.pop("max_messages", None),
            # Tells a thread creation answered at once from one whose outcome a server error left unknown.
            http_trace=client_options.pop("http_trace", None) or doubt_trace(),
            **client_options,
        )
        self.settings = settings
        self.db = db
        self.services = services
        self.run_jobs = run_jobs
        self.draining = False
        self.effects = EffectRunner(services.outbox)
        self._jobs_task: asyncio.Task[None] | None = None
        # Metrics are kept only when someone can read them: prometheus-client is imported only with a metrics port.
        self.metrics: Metrics | None = None
        if settings.metrics_port is not None:
            from services.metrics import Metrics

            self.metrics = Metrics()
            services.jobs.observer = self.metrics.observe_job
        self.ops: OpsServer | None = None
        self._connections = 0
        self._shutdown: asyncio.Future[None] | None = None
        share = settings.global_limit_share  # the bot's limit, shared among its processes by the shards they hold
        self.pacer = GlobalPacer(share, burst=min(BURST, share - 1))
        pace(self.http, self.pacer)

    async def setup_hook(self) -> None:
        if self.settings.metrics_port is not None:
            from cogs._ops import OpsServer

            self.ops = OpsServer(self, self.settings.metrics_host, self.settings.metrics_port)
            await self.ops.start()
        self.services.jobs.register(self.effects.job_kind())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.settings.syncs_commands:
            await self.sync_commands()
        else:
            log.info("commands are synced by the process holding shard 0 (PORCHLIGHT_SYNC_COMMANDS to change)")
        if self.run_jobs:
            await self.services.backups.ensure_scheduled()
            self.start_jobs()
        assert self.application_id is not None
        log.info("invite url: %s", invite_url(self.application_id))
        log.info("intents: %s (no privileged intents)", ", ".join(name for name, on in self.intents if on))

    async def sync_commands(self) -> bool:
        """Sync to the dev guild when set, else globally; skip when the payload has not changed since last time."""
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        scope = f"guild:{guild.id}" if guild else "global"
        digest = commands_digest([command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)])
        if await self.services.command_sync.is_current(scope, digest):
            log.info("commands unchanged since last sync scope=%s", scope)
            return False
        await self.tree.sync(guild=guild)
        await self.services.command_sync.record(scope, digest)
        log.info("commands synced scope=%s", scope)
        return True

    async def _drain_handlers(self) -> None:
        current = asyncio.current_task()
        in_flight = [
            task
            for task in asyncio.all_tasks()
            if task is not current and not task.done() and task.get_name().startswith(_HANDLER_TASKS)
        ]
        if in_flight:
            log.info("waiting for %d handlers: %s", len(in_flight), ", ".join(t.get_name() for t in in_flight))
            _, pending = await asyncio.wait(in_flight, timeout=DRAIN_TIMEOUT)
            if pending:
                log.warning("shutdown: %d handlers still running after %.0fs", len(pending), DRAIN_TIMEOUT)

    def start_jobs(self) -> None:
        """Start the job loop (``setup_hook`` does, when ``run_jobs``; tests that drive jobs by hand may too)."""
        if self._jobs_task is None:
            self._jobs_task = asyncio.create_task(self._run_jobs(), name="porchlight-jobs")

    async def _run_jobs(self) -> None:
        await self.wait_until_ready()
        await self.effects.resume()
        await self.services.jobs.run_forever()

    async def on_connect(self) -> None:
        self._connections += 1
        if self._connections > 1 and self.metrics is not None:  # a new session after a lost one
            self.metrics.gateway_reconnects.inc()

    def gateway_open(self) -> bool:
        """Connected to Discord's gateway, with a measured heartbeat (``/healthz``)."""
        ws = self.ws
        return not self.is_closed() and ws is not None and ws.open and math.isfinite(self.latency)

    async def on_resumed(self) -> None:
        if self.metrics is not None:
            self.metrics.gateway_reconnects.inc()

    async def on_ready(self) -> None:
        assert self.user is not None
        held = ",".join(map(str, self.settings.held_shards))
        shards = f" shards={held} of {self.settings.shard_count}" if self.settings.sharded else ""
        log.info("ready as user=%s guilds=%d%s", self.user.id, len(self.guilds), shards)

    async def close(self) -> None:
        """Stop accepting work, let in-flight handlers finish, stop the job loop, then disconnect and close the db.

        Every caller (a signal handler, ``run()``'s clean-up, a test) awaits the one shutdown in progress, so nothing
        returns — and lets ``asyncio.run`` cancel the rest — before the database is closed.
        """
        if self._shutdown is None:
            self.draining = True  # from this moment new interactions are refused
            self.services.jobs.stop_claiming()  # ... and no scheduled job starts
            self._shutdown = asyncio.ensure_future(self._shut_down())
        await asyncio.shield(self._shutdown)

    async def _shut_down(self) -> None:
        log.info("shutting down: draining in-flight handlers and running jobs")
        # Handlers and jobs drain side by side, within one DRAIN_TIMEOUT; Discord stays connected meanwhile.
        await asyncio.gather(self._drain_handlers(), self.services.jobs.drain(DRAIN_TIMEOUT))
        if self._jobs_task is not None:
            self._jobs_task.cancel()  # idle by now: it claims nothing once stopping and its jobs are done
            await asyncio.gather(self._jobs_task, return_exceptions=True)
        await super().close()
        if self.ops is not None:
            await self.ops.stop()
        await self.db.close()
        log.info("shut down cleanly")


class ShardedPorchlightBot(PorchlightBot, commands.AutoShardedBot):
    """Porchlight on some of Discord's shards (``PORCHLIGHT_SHARD_COUNT`` / ``PORCHLIGHT_SHARD_IDS``).

    ``self.guilds`` holds only the guilds on this process's shards, so start-up reconciliation and the daily passes
    cover exactly those; jobs and effects are taken by any process and fetch a guild held elsewhere over REST
    (``cogs._guilds.guild_of``). Shards IDENTIFY as fast as Discord's ``max_concurrency`` allows (one per rate-limit
    bucket ``shard_id % max_concurrency`` every 5 seconds) instead of discord.py's flat 5 seconds between shards.
    """

    IDENTIFY_WINDOW = 5.0

    def __init__(self, *, settings: Settings, **options: Any) -> None:
        super().__init__(
            settings=settings,
            shard_count=settings.shard_count,
            shard_ids=list(settings.held_shards),
            **options,
        )
        self._max_concurrency: int | None = None
        self._identify_buckets: dict[int, tuple[asyncio.Lock, list[float]]] = {}
        self._shard_connections: dict[int, int] = {}

    async def on_connect(self) -> None:
        """discord.py dispatches ``connect`` once per shard: reconnects are counted per shard instead."""

    async def on_shard_connect(self, shard_id: int) -> None:
        connections = self._shard_connections[shard_id] = self._shard_connections.get(shard_id, 0) + 1
        if connections > 1:  # this shard's new session after a lost one
            self.metrics.gateway_reconnects.inc()

    def gateway_open(self) -> bool:
        """Every shard this process holds is connected, each with a measured heartbeat."""
        shards = list(self.shards.values())
        return (
            not self.is_closed()
            and len(shards) == len(self.settings.held_shards)
            and all(not shard.is_closed() and math.isfinite(shard.latency) for shard in shards)
        )

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if self._max_concurrency is None:
            try:
                _, _, limit = await self.http.get_bot_gateway()
                self._max_concurrency = max(1, int(limit["max_concurrency"]))
            except (discord.GatewayNotFound, KeyError, TypeError, ValueError):
                self._max_concurrency = 1  # one shard at a time: always allowed
        bucket = (shard_id or 0) % self._max_concurrency
        lock, last = self._identify_buckets.setdefault(bucket, (asyncio.Lock(), []))
        async with lock:
            loop = asyncio.get_running_loop()
            if last:
                await asyncio.sleep(max(0.0, last[0] + self.IDENTIFY_WINDOW - loop.time()))
            last[:] = [loop.time()]
        log.info("identifying shard=%s bucket=%d max_concurrency=%d", shard_id, bucket, self._max_concurrency)


async def create_bot(
    settings: Settings, *, clock: Clock | None = None, run_jobs: bool = True, **client_options: Any
) -> PorchlightBot:
    """Open and migrate the database, build the services and the bot. The bot owns the database from here on."""
    point_discord_at(settings.discord_api_base, settings.discord_gateway_url)
    clock = clock or SystemClock()
    db = await open_checked_url(settings.database, now=clock.now())
    try:
        services = build_services(db, clock, PhoneVault(encryption_key(settings)), settings)
        bot_class = ShardedPorchlightBot if settings.sharded else PorchlightBot
        return bot_class(settings=settings, db=db, services=services, run_jobs=run_jobs, **client_options)
    except BaseException:
        await db.close()  # else aiosqlite's (non-daemon) worker thread keeps the failed process alive
        raise


async def freeze_when_ready(bot: PorchlightBot) -> None:
    """Once the bot is ready, move what start-up built (modules, the command tree, cogs, caches) out of the cyclic
    garbage collector's sight (``gc.freeze``): each full collection then scans only what the process made since,
    instead of pausing the event loop for tens of milliseconds to re-scan objects that live as long as it does."""
    await bot.wait_until_ready()
    gc.collect()
    gc.freeze()
    log.info("start-up objects frozen count=%d", gc.get_freeze_count())


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to its end on uvloop, libuv's event loop, where it is installed (everywhere but Windows), else on
    asyncio's own. Every answer is a chain of hand-offs through the loop (the gateway's event, each database trip
    back from aiosqlite's thread, each request): uvloop does each for a fraction of the cost, a quarter of a
    check-in's CPU in ``bench.interactions`` (``docs/decisions.md``)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - not on this platform
        return asyncio.run(main)
    return uvloop.run(main)


async def run(settings: Settings) -> None:
    assert settings.token is not None
    log.info("event loop %s", type(asyncio.get_running_loop()).__module__.split(".")[0])
    bot = await create_bot(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
    freezing = asyncio.ensure_future(freeze_when_ready(bot))
    try:
        await bot.start(settings.token.get_secret_value())
    finally:
        freezing.cancel()
        await bot.close()


NO_TOKEN = """\
Porchlight needs a bot token to connect to Discord.
  1. Open https://discord.com/developers/applications, create an application, open "Bot" and reset the token.
  2. Copy .env.example to .env and put the token in PORCHLIGHT_TOKEN.
  3. Run `make run` again; it prints the invite link for your server.
To try Porchlight without a Discord account, run `make demo` (a local Discord twin, no token needed)."""


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("discord").setLevel(max(logging.getLevelName(level), logging.INFO))


def backup_command(settings: Settings, path: Path) -> int:
    """``bot.py --backup PATH``: a checked copy of the database, safe while the bot runs. Exit 2 when it fails."""
    source = settings.sqlite_file
    if source is None:
        print(
            "No backup made: the database is PostgreSQL; back it up with its own tools (pg_dump, or your host's "
            "snapshots), and keep PORCHLIGHT_ENCRYPTION_KEY with it.",
            file=sys.stderr,
        )
        return 2
    if path.is_dir():
        path = path / backup_name(source, datetime.now(UTC))
    try:
        made = backup_database(source, path, key_file=settings.key_file)
    except BackupFailed as error:
        print(f"No backup made: {error}.", file=sys.stderr)
        return 2
    print(f"Backed up {source} to {made.path} ({made.size_bytes} bytes, quick_check ok).")
    if made.key_path is not None:
        print(f"Copied the contact-details key to {made.key_path} (mode 600); keep it with the backup.")
    elif settings.encryption_key is not None:
        print(
            "Contact details are encrypted with PORCHLIGHT_ENCRYPTION_KEY: keep that key too, or restored phone "
            "numbers cannot be read."
        )
    return 0


async def copy_command(settings: Settings, url: str) -> int:
    """``bot.py --copy-to postgresql://…``: this SQLite community into an empty PostgreSQL database, every table
    checked. Exit 0 when every table matches, 1 when one does not, 2 when no copy was made."""
    from storage.copy import CopyRefused, copy_database
    from storage.pg import PostgresDatabase, redacted
    from storage.sql import is_postgres_url

    source_file = settings.sqlite_file
    if source_file is None or not source_file.exists():
        print(
            "Nothing to copy: --copy-to copies the SQLite file at PORCHLIGHT_DATABASE_PATH (or a sqlite:/// "
            f"PORCHLIGHT_DATABASE_URL), and {source_file or 'none is configured'} does not exist.",
            file=sys.stderr,
        )
        return 2
    if not is_postgres_url(url):
        print(f"--copy-to needs a postgresql:// URL, not {url!r}.", file=sys.stderr)
        return 2
    try:
        source = await open_checked_url(str(source_file), now=datetime.now(UTC))
    except DatabaseUnusable as error:
        print(error, file=sys.stderr)
        return 2
    try:
        try:
            target = await open_checked_url(url, now=datetime.now(UTC))
        except DatabaseUnusable as error:
            print(error, file=sys.stderr)
            return 2
        assert isinstance(target, PostgresDatabase)
        try:
            report = await copy_database(source, target)
        except CopyRefused as error:
            print(f"No copy made: {error}.", file=sys.stderr)
            return 2
        finally:
            await target.close()
    finally:
        await source.close()
    width = max(len(table.table) for table in report)
    print(f"Copied {source_file} into {redacted(url)}:")
    for table in report:
        verdict = "ok" if table.ok else "MISMATCH"
        print(f"  {table.table:<{width}}  {table.source_rows:>9} rows -> {table.target_rows:>9}  {verdict}")
    bad = [table.table for table in report if not table.ok]
    if bad:
        print(f"The copy differs in {', '.join(bad)}: do not switch to it; report this.", file=sys.stderr)
        return 1
    if settings.key_file is not None and settings.key_file.exists():
        print(
            f"Next: set PORCHLIGHT_ENCRYPTION_KEY to the contents of {settings.key_file} in every process, and "
            "PORCHLIGHT_DATABASE_URL to the PostgreSQL URL."
        )
    else:
        print("Next: set PORCHLIGHT_DATABASE_URL to the PostgreSQL URL in every process (same encryption key).")
    return 0


def settings_problems(error: pydantic.ValidationError) -> str:
    """One line per invalid setting, named as it is set (``PORCHLIGHT_SHARD_IDS: …``), without pydantic's noise."""
    lines = ["Porchlight's settings need fixing (in .env or the environment):"]
    for problem in error.errors():
        name = "PORCHLIGHT_" + "_".join(str(part) for part in problem["loc"]).upper() if problem["loc"] else ""
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"  {name}: {message}" if name else f"  {message}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bot.py", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--demo", action="store_true", help="run the scripted demo against the local Discord twin")
    parser.add_argument(
        "--backup",
        metavar="PATH",
        type=Path,
        help="copy the database to PATH (a file, or a folder for a timestamped name) and exit; safe while the bot runs",
    )
    parser.add_argument(
        "--copy-to",
        metavar="POSTGRESQL_URL",
        help="copy this SQLite community into an empty PostgreSQL database, check every table, and exit",
    )
    args = parser.parse_args(argv)
    if args.demo:
        from demo.run import run_demo

        return run_loop(run_demo())
    try:
        settings = Settings()
    except pydantic.ValidationError as error:
        print(settings_problems(error), file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.backup is not None:
        return backup_command(settings, args.backup)
    if args.copy_to is not None:
        return run_loop(copy_command(settings, args.copy_to))
    if settings.token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    try:
        run_loop(run(settings))
    except (DatabaseUnusable, MissingKey) as error:
        print(error, file=sys.stderr)
        return 2
    except DatabaseTooNew as error:
        print(error, file=sys.stderr)
        return 1
    except discord.LoginFailure:
        print(
            "Discord refused the token in PORCHLIGHT_TOKEN. Reset it in the Developer Portal and update .env.",
            file=sys.stderr,
        )
        return 1
    except Exception as error:
        log.exception("stopped by an unexpected error error=%s", type(error).__name__)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
