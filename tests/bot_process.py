"""The real Porchlight bot as an operating-system process, against a running twin.

``BotProcess`` starts ``python bot.py`` with the twin's REST and gateway URLs, the application's token and a given
database file, and returns from ``start()`` once the process has identified on the twin's gateway (a new session
per shard it holds, from ``PORCHLIGHT_SHARD_COUNT`` / ``PORCHLIGHT_SHARD_IDS`` in ``env``; awaited as events, never
polled). Its stdout and stderr go to one log file (``log()`` reads it), across restarts.
``kill()`` sends SIGKILL (no clean-up runs, as in a crash), ``terminate()`` SIGTERM (the bot drains and exits),
``restart()`` starts it again on the same database, and ``close()`` (or leaving ``async with``) always stops it::

    async with BotProcess(twin, app, tmp_path / "porchlight.db") as bot:
        await alice.slash("checkin", status="stuck")
        await bot.kill()
        await bot.restart()

If the process exits before it connects, ``start()`` raises ``BotProcessExited`` carrying the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from twin.server import Twin
from twin.state import Application

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class BotProcessExited(AssertionError):
    """The bot process ended while it was expected to start or keep running."""


class BotProcess:
    """One Porchlight process at a time for ``app``, restartable on the same database."""

    def __init__(
        self,
        twin: Twin,
        app: Application,
        database_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        start_within: float = START_TIMEOUT,
    ) -> None:
        self.twin, self.app, self.database_path = twin, app, database_path
        self.extra_env = dict(env or {})
        self.log_path = log_path or database_path.with_suffix(".process.log")
        self.start_within = start_within
        self.starts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._log_file: IO[bytes] | None = None

    @classmethod
    def on_shards(
        cls,
        twin: Twin,
        app: Application,
        database_path: Path,
        shard_ids: Sequence[int],
        shard_count: int,
        *,
        folder: Path,
        env: Mapping[str, str] | None = None,
    ) -> BotProcess:
        """``python bot.py`` holding ``shard_ids`` of ``shard_count`` shards, its worker (in job and effect leases)
        and its log file in ``folder`` named after them: ``shards-0-1``."""
        name = "shards-" + "-".join(map(str, shard_ids))
        shard_env = {
            "PORCHLIGHT_SHARD_COUNT": str(shard_count),
            "PORCHLIGHT_SHARD_IDS": ",".join(map(str, shard_ids)),
            "PORCHLIGHT_WORKER_NAME": name,
        }
        return cls(twin, app, database_path, env={**(env or {}), **shard_env}, log_path=folder / f"{name}.log")

    # ------------------------------------------------------------------ state

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    @property
    def shards(self) -> int:
        """How many gateway sessions the process opens: one per shard it holds (PORCHLIGHT_SHARD_COUNT / _IDS)."""
        env = self.environment()
        ids = env.get("PORCHLIGHT_SHARD_IDS", "").strip().strip("[]")
        if ids:
            return len([part for part in ids.split(",") if part.strip()])
        return int(env.get("PORCHLIGHT_SHARD_COUNT") or 1)

    def log(self) -> str:
        """Everything every run of the process wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def environment(self) -> dict[str, str]:
        """The process environment: ours without any PORCHLIGHT_ setting, then the twin's, then ``env``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORCHLIGHT_")}
        env.update(
            PORCHLIGHT_TOKEN=self.app.token,
            PORCHLIGHT_DATABASE_PATH=str(self.database_path),
            PORCHLIGHT_DISCORD_API_BASE=self.twin.api_base,
            PORCHLIGHT_DISCORD_GATEWAY_URL=self.twin.gateway_url,
        )
        env.update(self.extra_env)
        return env

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the process and return once it identified on the twin's gateway (every shard it holds)."""
        if self.running:
            raise RuntimeError("the bot process is already running")
        identified = self.twin.gateway.next_identifies(self.app, self.shards)
        log_file = self._open_log()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "bot.py"),
            cwd=self.database_path.parent,
            env=self.environment(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
        self.starts += 1
        exited = asyncio.ensure_future(self._process.wait())
        try:
            done, _ = await asyncio.wait(
                {identified, exited}, timeout=self.start_within, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            exited.cancel()
        if identified not in done:
            identified.cancel()
            if exited in done:
                raise BotProcessExited(f"the bot exited with {self.returncode} before connecting:\n{self.log()}")
            await self.kill()
            raise BotProcessExited(f"the bot did not connect within {self.start_within} s:\n{self.log()}")
        log.info("bot process %s connected (start %d)", self.pid, self.starts)

    def _open_log(self) -> IO[bytes]:
        if self._log_file is None:
            self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - kept open across restarts, closed by close()
        self._log_file.write(f"--- start {self.starts + 1}\n".encode())
        self._log_file.flush()
        return self._log_file

    async def kill(self) -> int:
        """SIGKILL: the process ends at once, mid-whatever, as in a crash or an OOM kill. Returns the exit code."""
        return await self._stop(signal.SIGKILL, STOP_TIMEOUT)

    async def terminate(self, within: float = STOP_TIMEOUT) -> int:
        """SIGTERM: the bot drains and exits on its own. Returns the exit code (SIGKILLs after ``within`` s)."""
        return await self._stop(signal.SIGTERM, within)

    async def restart(self) -> None:
        """Stop the process if it still runs (SIGTERM), then start it again on the same database."""
        if self.running:
            await self.terminate()
        await self.start()

    async def wait(self, within: float = STOP_TIMEOUT) -> int:
        """Wait for the process to exit by itself."""
        if self._process is None:
            raise RuntimeError("the bot process was never started")
        return await asyncio.wait_for(self._process.wait(), within)

    async def close(self) -> None:
        """Stop the process if it runs (SIGKILL) and close the log."""
        if self.running:
            await self.kill()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    async def _stop(self, sig: signal.Signals, within: float) -> int:
        process = self._process
        if process is None:
            raise RuntimeError("the bot process was never started")
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            try:
                await asyncio.wait_for(process.wait(), within)
            except TimeoutError:
                log.warning("bot process %s ignored %s for %s s; killing it", process.pid, sig.name, within)
                process.kill()
                await process.wait()
        assert process.returncode is not None
        log.info("bot process %s ended with %s after %s", process.pid, process.returncode, sig.name)
        return process.returncode

    async def __aenter__(self) -> BotProcess:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


@contextlib.asynccontextmanager
async def all_running(processes: Sequence[BotProcess]) -> AsyncIterator[list[BotProcess]]:
    """Start the processes one at a time (each ``start()`` returns once its shards identified), and stop them all
    when the block ends, however it ends."""
    try:
        for process in processes:
            await process.start()
        yield list(processes)
    finally:
        await asyncio.gather(*(p.close() for p in processes))
