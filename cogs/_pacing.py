"""Porchlight's REST requests spaced under Discord's global rate limit, instead of running into it.

discord.py waits out a 429 but does not pace: a full job pool sends requests as fast as round trips allow,
overshoots the global limit (50 requests/s per bot), and each overshoot is a global 429 that holds *every* request
until the limit resets, plus the round trip it takes to learn that (at a 100 ms round trip about a tenth of every
second is lost: ``bench/fanout.py``). 429s also count toward Cloudflare's invalid-request limit (10,000 in 10
minutes bans the bot's IP for an hour), so a big reminder fan-out should not produce them by the hundred.

So requests that count against the global limit start at most ``rate`` a second, evenly spaced, in the order they
were made; discord.py's own bucket handling still does the rest (per-route buckets, any 429 that gets through).
Interaction responses and webhook calls are exempt from the global limit (Discord's docs) and are never delayed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import discord.http

# Routes Discord does not count against the bot's global limit: interaction callbacks and (interaction) webhooks.
EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")


class GlobalPacer:
    """Hands out start times ``1 / rate`` seconds apart; a request never waits behind one made after it."""

    def __init__(self, rate: float, clock: Callable[[], float] | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._clock = clock
        self._next = float("-inf")

    def reserve(self, now: float) -> float:
        """Take the next start time at or after ``now``; returns how long to wait for it."""
        start = max(now, self._next)
        self._next = start + self.interval
        return start - now

    async def wait(self) -> None:
        now = self._clock() if self._clock is not None else asyncio.get_running_loop().time()
        delay = self.reserve(now)
        if delay > 0:
            await asyncio.sleep(delay)


def is_exempt(route: discord.http.Route) -> bool:
    return route.path.startswith(EXEMPT_PREFIXES)


def pace(http: discord.http.HTTPClient, pacer: GlobalPacer) -> None:
    """Make every request of ``http`` that counts against the global limit wait for its turn with ``pacer``."""
    request = http.request

    async def paced(route: discord.http.Route, **kwargs: Any) -> Any:
        if not is_exempt(route):
            await pacer.wait()
        return await request(route, **kwargs)

    http.request = paced  # type: ignore[method-assign]  # one instance, wrapped once at start-up
