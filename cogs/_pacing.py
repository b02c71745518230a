"""Porchlight's REST requests spaced under Discord's global rate limit, instead of running into it.

discord.py waits out a 429 but does not pace: a full job pool sends requests as fast as round trips allow,
overshoots the global limit (50 requests/s per bot), and each overshoot is a global 429 that holds *every* request
until the limit resets, plus the round trip it takes to learn that (at a 100 ms round trip about a tenth of every
second is lost: ``bench/fanout.py``). 429s also count toward Cloudflare's invalid-request limit (10,000 in 10
minutes bans the bot's IP for an hour), so a big reminder fan-out should not produce them by the hundred.

So requests that count against the global limit are paced (GCRA, a leaky bucket): at most ``limit`` in any
second, a short burst of ``BURST`` at once and then ``limit - BURST`` a second, evenly spaced, in the order they were
made; discord.py's own bucket handling still does the rest (per-route buckets, any 429 that gets through). A bot that
makes a few requests in a row (an /ask opens a thread, adds the member, posts) never waits; only a sustained stream
(a reminder fan-out) is spaced. Interaction responses and webhook calls are exempt from the global limit (Discord's
docs) and are never delayed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import discord.http

# Routes Discord does not count against the bot's global limit: interaction callbacks and (interaction) webhooks.
EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")


BURST = 3  # requests that may start together; the sustained rate is the limit less this, so no second exceeds it


class GlobalPacer:
    """At most ``limit`` request starts in any one-second span; a request never waits behind one made after it."""

    def __init__(self, limit: int, *, burst: int = BURST, clock: Callable[[], float] | None = None) -> None:
        if not 0 < burst < limit:
            raise ValueError("the limit must be larger than the burst, and the burst at least 1")
        self.interval = 1.0 / (limit - burst)
        self._tolerance = (burst - 1) * self.interval  # how far ahead of schedule a start may be
        self._clock = clock
        self._scheduled = float("-inf")  # when the next request would start at the sustained rate

    def reserve(self, now: float) -> float:
        """Take the next start time at or after ``now``; returns how long to wait for it."""
        scheduled = max(now, self._scheduled)
        start = max(now, scheduled - self._tolerance)
        self._scheduled = scheduled + self.interval
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
