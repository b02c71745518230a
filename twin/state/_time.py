"""The twin's time: the current UTC time, Discord's timestamp format and time-based snowflakes."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import discord.utils


def now() -> datetime:
    """The current aware UTC time."""
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """Discord's ISO-8601 timestamp format."""
    return moment.isoformat() if moment is not None else None


class Snowflakes:
    """Real, time-based, strictly increasing snowflakes."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        self._last = max(discord.utils.time_snowflake(now()), self._last + 1)
        return self._last

    def next_on_shard(self, shard_id: int, num_shards: int) -> int:
        """The next snowflake whose ``(id >> 22) % num_shards`` is ``shard_id`` (a guild id routed to that shard)."""
        candidate = self.next()
        while (candidate >> 22) % num_shards != shard_id:
            candidate += 1 << 22  # one millisecond later
        self._last = candidate
        return candidate
