"""Discord's REST rate limits, modelled: per-route buckets, the global limit, and their headers.

Off by default (``Twin()``); ``Twin(rate_limits=True)`` turns them on with Discord's typical values, and
``Twin(rate_limits=RateLimits(...))`` with others. When on, every rate-limited response carries the whole set
``X-RateLimit-Limit``, ``-Remaining``, ``-Reset``, ``-Reset-After`` and ``-Bucket`` (discord.py raises on a partial
set), so discord.py's own bucket handling does the waiting, as it does against Discord.

- **Per-route buckets.** Each route belongs to a bucket (``ROUTE_BUCKETS``; unlisted routes get
  ``DEFAULT_BUCKET``), split by the route's major parameters (``channel_id``, ``guild_id``, ``webhook_id`` with its
  token, ``interaction_id`` with its token), as Discord does. A bucket allows ``limit`` requests per window of
  ``per`` seconds, the window starting at its first request. Over the limit: 429 with ``"global": false``,
  ``retry_after`` (seconds to the window's end), the bucket headers with ``Remaining: 0``, ``X-RateLimit-Scope:
  user``, ``Retry-After`` and ``Via``.
- **The global limit**: ``global_limit`` requests per second per bot token (Discord: 50). Interaction callbacks and
  the interaction webhooks are exempt, as Discord documents. Over it: 429 with ``"global": true``,
  ``X-RateLimit-Global: true``, ``X-RateLimit-Scope: global``, ``Retry-After`` and ``Via``, and no bucket headers.
- A request refused with 429 does not count against any bucket.

Discord publishes no per-route numbers (it says to read the headers); the table holds values Discord typically
answers with. The round-trip delay is separate: ``Twin(latency=0.1)`` delays every REST call by 100 ms (half before
the request is handled, half after), so benchmarks see a realistic ceiling.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_id", "interaction_token")
# Routes answered to an interaction's token: not bound by the bot's global limit (Discord's docs).
GLOBAL_EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")


@dataclass(frozen=True)
class Bucket:
    """``limit`` requests per ``per`` seconds; ``name`` is shared by routes Discord buckets together."""

    name: str
    limit: int
    per: float

    @property
    def hash(self) -> str:
        """The opaque ``X-RateLimit-Bucket`` value, stable per bucket like Discord's."""
        return hashlib.sha1(self.name.encode()).hexdigest()[:32]  # noqa: S324 - an identifier, not security


# Typical values Discord answers with. One table: change numbers here, nowhere else.
ROUTE_BUCKETS: dict[tuple[str, str], Bucket] = {
    ("POST", "/channels/{channel_id}/messages"): Bucket("message-create", 5, 5.0),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): Bucket("message-edit", 5, 5.0),
    ("DELETE", "/channels/{channel_id}/messages/{message_id}"): Bucket("message-delete", 5, 1.0),
    ("POST", "/channels/{channel_id}/threads"): Bucket("thread-create", 5, 5.0),
    ("POST", "/channels/{channel_id}/messages/{message_id}/threads"): Bucket("thread-create", 5, 5.0),
    ("PATCH", "/channels/{channel_id}"): Bucket("channel-edit", 5, 5.0),
    ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"): Bucket("member-role", 10, 10.0),
    ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"): Bucket("member-role", 10, 10.0),
    ("POST", "/interactions/{interaction_id}/{interaction_token}/callback"): Bucket("interaction-callback", 5, 5.0),
    ("POST", "/webhooks/{webhook_id}/{webhook_token}"): Bucket("webhook-execute", 5, 2.0),
}
# Unlisted routes: a bucket per route and major parameter that the global limit binds before it does.
DEFAULT_BUCKET = Bucket("default", 50, 1.0)
GLOBAL_LIMIT = 50  # requests per second per bot token


@dataclass(frozen=True)
class RateLimits:
    """The limits a twin enforces; the defaults are Discord's."""

    routes: Mapping[tuple[str, str], Bucket] = field(default_factory=lambda: dict(ROUTE_BUCKETS))
    default: Bucket = DEFAULT_BUCKET
    global_limit: int = GLOBAL_LIMIT
    global_per: float = 1.0

    def bucket_for(self, method: str, template: str) -> Bucket:
        found = self.routes.get((method.upper(), template))
        if found is not None:
            return found
        return Bucket(f"{self.default.name} {method.upper()} {template}", self.default.limit, self.default.per)


@dataclass
class _Window:
    limit: int
    per: float
    count: int = 0
    resets_at: float = 0.0

    def refresh(self, now: float) -> None:
        if now >= self.resets_at:
            self.count, self.resets_at = 0, now + self.per

    def reset_after(self, now: float) -> float:
        return max(0.0, self.resets_at - now)


@dataclass(frozen=True)
class Decision:
    """The outcome for one request: allowed (with its headers) or refused with a 429."""

    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    is_global: bool = False
    bucket: Bucket | None = None


class RateLimiter:
    """Counts requests per bucket and per bot token and decides each one."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._buckets: dict[tuple[str, tuple[str, ...]], _Window] = {}
        self._global: dict[str, _Window] = {}
        self.refused: list[tuple[str, str, bool]] = []  # (method, route, global) of every 429 answered

    def decide(self, method: str, template: str, path: str, params: Mapping[str, str], token: str | None) -> Decision:
        now = self.clock()
        bucket = self.limits.bucket_for(method, template)
        major = tuple(params[k] for k in MAJOR_PARAMETERS if k in params)
        window = self._buckets.setdefault((bucket.name, major), _Window(bucket.limit, bucket.per))
        window.refresh(now)
        counted_globally = token is not None and not path.startswith(GLOBAL_EXEMPT_PREFIXES)
        if counted_globally:
            assert token is not None
            limit = self._global.setdefault(token, _Window(self.limits.global_limit, self.limits.global_per))
            limit.refresh(now)
            if limit.count >= limit.limit:
                self.refused.append((method, template, True))
                return Decision(False, {}, limit.reset_after(now), is_global=True)
        if window.count >= window.limit:
            self.refused.append((method, template, False))
            return Decision(False, self.headers(bucket, window, now), window.reset_after(now), bucket=bucket)
        window.count += 1
        if counted_globally:
            self._global[token or ""].count += 1
        return Decision(True, self.headers(bucket, window, now), bucket=bucket)

    @staticmethod
    def headers(bucket: Bucket, window: _Window, now: float) -> dict[str, str]:
        """The whole bucket header set, always together."""
        reset_after = math.ceil(round(window.reset_after(now) * 1000, 6)) / 1000  # up: never wake a client early
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(max(0, window.limit - window.count)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket.hash,
        }
