"""The operator's HTTP endpoint (only with ``PORCHLIGHT_METRICS_PORT``): ``/metrics`` for Prometheus and ``/healthz``
for a container health check or systemd watchdog. Served by aiohttp (already discord.py's HTTP library) on the
bot's own event loop; nothing member-related is ever in a response."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from storage import jobs as jobs_store
from storage.meta import set_meta

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)


def database_bytes(path: Path) -> float:
    total = 0
    for suffix in ("", "-wal"):
        try:
            total += Path(f"{path}{suffix}").stat().st_size
        except OSError:
            pass
    return float(total)


class OpsServer:
    def __init__(self, bot: PorchlightBot, host: str, port: int) -> None:
        self.bot = bot
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Listen; returns the bound port (a free one when configured as 0)."""
        app = web.Application()
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/healthz", self.healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # aiohttp exposes the bound sockets only here
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        log.info("metrics and health listening host=%s port=%d", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def gateway_connected(self) -> bool:
        return self.bot.gateway_open()

    async def metrics(self, request: web.Request) -> web.Response:
        m = self.bot.metrics
        now = self.bot.services.clock.now()
        m.jobs_due.set(await jobs_store.count_due(self.bot.db.conn, now))
        latency = self.bot.latency
        m.gateway_latency.set(latency if math.isfinite(latency) else float("nan"))
        if (sqlite_file := self.bot.settings.sqlite_file) is not None:
            m.database_bytes.set(database_bytes(sqlite_file))
        return web.Response(body=m.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(self, request: web.Request) -> web.Response:
        writable = True
        try:
            async with self.bot.db.transaction() as conn:
                await set_meta(conn, "health_probe", self.bot.services.clock.now().isoformat())
        except Exception as error:
            log.warning("health: database not writable error=%s", type(error).__name__)
            writable = False
        status = {"alive": True, "database_writable": writable, "gateway_connected": self.gateway_connected()}
        healthy = all(status.values())
        return web.Response(status=200 if healthy else 503, text=json.dumps(status), content_type="application/json")
