"""Several servers spread over Discord's shards, and Porchlight bots holding some of those shards.

``sharded_world`` builds ``per_shard`` communities (servers) on each of ``num_shards`` shards for one application, on
one twin and one database file; ``start_sharded_bot`` starts a real Porchlight bot in this test process holding the
given shards (jobs run only when the test says so, as in every end-to-end test).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bot import PorchlightBot, create_bot
from demo.community import DEFAULT_START, GUILD_READY_TIMEOUT, Community, build_world
from services.clock import ManualClock
from settings import Settings
from twin.server import Twin
from twin.testing import running_bot, running_twin


@dataclass
class ShardedWorld:
    twin: Twin
    num_shards: int
    communities: list[Community]
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    def on_shard(self, shard_id: int) -> list[Community]:
        return [c for c in self.communities if (c.guild.id >> 22) % self.num_shards == shard_id]

    async def start_bot(self, shard_ids: tuple[int, ...] | None = None, **overrides: object) -> PorchlightBot:
        """A Porchlight bot holding ``shard_ids`` (None: every shard) of ``num_shards``; each community on one of
        those shards gets it as its ``bot``."""
        first = self.communities[0]
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]  # pydantic-settings init option
            token=first.app.token,
            database_path=first.database_path,
            discord_api_base=self.twin.api_base,
            discord_gateway_url=self.twin.gateway_url,
            shard_count=self.num_shards,
            shard_ids=shard_ids,
            **overrides,  # type: ignore[arg-type]
        )
        bot = await create_bot(settings, clock=first.clock, run_jobs=False, guild_ready_timeout=GUILD_READY_TIMEOUT)
        await self.stack.enter_async_context(running_bot(self.twin, bot, first.app.token))
        held = shard_ids if shard_ids is not None else tuple(range(self.num_shards))
        for shard_id in held:
            for community in self.on_shard(shard_id):
                community.bot = bot
        return bot


@contextlib.asynccontextmanager
async def sharded_world(
    database_path: Path, *, num_shards: int = 2, per_shard: int = 2, max_concurrency: int = 2
) -> AsyncIterator[ShardedWorld]:
    """``per_shard`` servers on each shard, the first one's people (admin, alice, …) members of every server."""
    async with running_twin(max_concurrency=max_concurrency) as twin:
        clock = ManualClock(DEFAULT_START)
        communities: list[Community] = []
        for index in range(num_shards * per_shard):
            shard = (index % num_shards, num_shards)
            app = communities[0].app if communities else None
            name = f"Server {index + 1}"
            communities.append(build_world(twin, clock, database_path, app=app, name=name, shard=shard))
        world = ShardedWorld(twin, num_shards, communities)
        async with world.stack:
            yield world
