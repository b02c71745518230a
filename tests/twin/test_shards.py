"""The twin's shards, as Discord documents them: IDENTIFY's ``shard: [shard_id, num_shards]``, a guild's events on
shard ``(guild_id >> 22) % num_shards`` only, READY listing that shard's guilds, DMs on shard 0 only, 4010 for an
invalid shard, and ``GET /gateway/bot`` with ``url``, a recommended ``shards`` count and ``session_start_limit``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import pytest

from twin import Application, Channel, Guild, Person, Twin
from twin.gateway import GUILDS_PER_RECOMMENDED_SHARD, Session, shard_of
from twin.openapi import default_spec
from twin.testing import assert_no_discord_errors, running_bot, running_twin

# Four guilds: guild i on shard i % 2.
NUM_SHARDS = 2


class ShardedClient(discord.AutoShardedClient):
    """A bare discord.py client on both shards, recording what it receives."""

    def __init__(self) -> None:
        intents = discord.Intents.none()
        intents.guilds = intents.guild_messages = intents.dm_messages = True
        super().__init__(intents=intents, shard_count=NUM_SHARDS, guild_ready_timeout=0.05)
        self.messages: list[discord.Message] = []
        self.joined: list[discord.Guild] = []

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # the twin allows both shards at once (max_concurrency=2)

    async def on_message(self, message: discord.Message) -> None:
        self.messages.append(message)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.joined.append(guild)


@dataclass
class World:
    twin: Twin
    app: Application
    guilds: list[Guild]
    channels: list[Channel]
    people: list[Person]
    client: ShardedClient

    def session(self, shard_id: int) -> Session:
        [session] = [s for s in self.twin.gateway.sessions_of(self.app) if s.shard_id == shard_id]
        return session

    def received(self, shard_id: int, event: str) -> list[dict[str, Any]]:
        return [f["d"] for f in self.session(shard_id).frames if f["t"] == event]


@pytest.fixture
async def world(caplog: pytest.LogCaptureFixture) -> AsyncIterator[World]:
    async with running_twin(max_concurrency=NUM_SHARDS) as twin:
        app = twin.create_application("Sharded", token="sharded-token")
        guilds = [twin.create_guild(f"Server {i}", shard=(i % NUM_SHARDS, NUM_SHARDS)) for i in range(4)]
        for guild in guilds:
            twin.add_bot(guild, app, discord.Permissions(view_channel=True, send_messages=True).value)
        channels = [twin.create_text_channel(guild, "general") for guild in guilds]
        people = [twin.member(guild, "alice") for guild in guilds]  # alice, a member of all four
        client = ShardedClient()
        async with running_bot(twin, client, app.token):
            yield World(twin, app, guilds, channels, people, client)
    assert_no_discord_errors(caplog.records)


def test_the_routing_rule_is_discords_and_guild_ids_can_be_placed_on_a_shard() -> None:
    twin = Twin()
    for num_shards in (1, 2, 3, 16):
        for shard_id in range(num_shards):
            guild = twin.create_guild(f"g{num_shards}-{shard_id}", shard=(shard_id, num_shards))
            assert (guild.id >> 22) % num_shards == shard_id == shard_of(guild.id, num_shards)
    ids = [g.id for g in twin.state.guilds.values()]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # still strictly increasing snowflakes
    # Only the timestamp bits count: ids of one millisecond share a shard.
    base = 46977450285 << 22
    assert {shard_of(base + low, 2) for low in (0, 1, (1 << 22) - 1)} == {46977450285 % 2}


async def test_each_shard_gets_ready_with_its_own_guilds_and_only_their_events(world: World) -> None:
    for shard_id in range(NUM_SHARDS):
        [ready] = world.received(shard_id, "READY")
        assert ready["shard"] == [shard_id, NUM_SHARDS]
        mine = {g.id for i, g in enumerate(world.guilds) if i % NUM_SHARDS == shard_id}
        assert {int(g["id"]) for g in ready["guilds"]} == mine
        assert {int(g["id"]) for g in world.received(shard_id, "GUILD_CREATE")} == mine
    assert {g.id for g in world.client.guilds} == {g.id for g in world.guilds}

    for person, channel in zip(world.people, world.channels, strict=True):
        await person.say(channel, f"hello in {channel.guild_id}")
    await _until(lambda: len(world.client.messages) == 4)
    for shard_id in range(NUM_SHARDS):
        got = {int(m["guild_id"]) for m in world.received(shard_id, "MESSAGE_CREATE")}
        assert got == {g.id for i, g in enumerate(world.guilds) if i % NUM_SHARDS == shard_id}
    assert sorted(m.guild.id for m in world.client.messages if m.guild) == sorted(g.id for g in world.guilds)


async def test_dms_go_to_shard_0_only(world: World) -> None:
    alice = world.people[1]  # her membership of a guild on shard 1 makes no difference
    await alice.dm(world.app, "a direct message")
    await _until(lambda: any(m.content == "a direct message" for m in world.client.messages))
    assert [m["content"] for m in world.received(0, "MESSAGE_CREATE")] == ["a direct message"]
    assert world.received(1, "MESSAGE_CREATE") == []
    [dm] = world.client.messages
    assert dm.guild is None and isinstance(dm.channel, discord.DMChannel)


async def test_a_guild_joined_or_left_is_announced_on_its_shard_only(world: World) -> None:
    new = world.twin.create_guild("Later", shard=(1, NUM_SHARDS))
    world.twin.add_bot(new, world.app)
    await _until(lambda: [g.id for g in world.client.joined] == [new.id])
    assert new.id in {int(g["id"]) for g in world.received(1, "GUILD_CREATE")}
    assert new.id not in {int(g["id"]) for g in world.received(0, "GUILD_CREATE")}
    world.twin.remove_bot(new, world.app)
    await _until(lambda: world.client.get_guild(new.id) is None)
    assert [int(g["id"]) for g in world.received(1, "GUILD_DELETE")] == [new.id]
    assert world.received(0, "GUILD_DELETE") == []


@pytest.mark.parametrize("shard", [[2, 2], [-1, 2], [0, 0], [0], "0,1", [0.0, 1]])
async def test_an_invalid_shard_is_closed_with_4010(shard: Any) -> None:
    async with running_twin() as twin:
        app = twin.create_application("Sharded", token="sharded-token")
        async with aiohttp.ClientSession() as http, http.ws_connect(twin.gateway_url) as ws:
            hello = await ws.receive_json()
            assert hello["op"] == 10
            identify = {"token": app.token, "intents": 1, "properties": {}, "shard": shard}
            await ws.send_str(json.dumps({"op": 2, "d": identify}))
            closing = await ws.receive()
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 4010
        assert twin.gateway.sessions_of(app) == []


async def test_gateway_bot_has_discords_shape_a_recommended_shard_count_and_the_session_start_limit() -> None:
    spec = default_spec()
    async with running_twin(max_concurrency=16) as twin:
        app = twin.create_application("Sharded", token="sharded-token")
        twin.add_bot(twin.create_guild("One"), app)

        async def gateway_bot() -> dict[str, Any]:
            headers = {"Authorization": f"Bot {app.token}"}
            async with aiohttp.ClientSession() as http, http.get(f"{twin.api_base}/gateway/bot", headers=headers) as r:
                assert r.status == 200
                body: dict[str, Any] = await r.json()
                return body

        first = await gateway_bot()
        assert spec.check_response("GET", "/gateway/bot", 200, first) == []
        assert first["url"] == twin.gateway_url and first["shards"] == 1
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 16}
        assert first["session_start_limit"] == limit
        # The check itself rejects what Discord would not send.
        assert spec.check_response("GET", "/gateway/bot", 200, {**first, "shards": "1"})
        assert spec.check_response("GET", "/gateway/bot", 200, {"url": twin.gateway_url, "shards": 1})

        for i in range(GUILDS_PER_RECOMMENDED_SHARD):
            twin.add_bot(twin.create_guild(f"Server {i}"), app)
        client = ShardedClient()
        client.shard_count = None  # discord.py asks GET /gateway/bot how many shards to run
        async with running_bot(twin, client, app.token, within=30):
            assert client.shard_count == 2
            assert sorted(s.shard_id for s in twin.gateway.sessions_of(app)) == [0, 1]
            assert len(client.guilds) == GUILDS_PER_RECOMMENDED_SHARD + 1
        after = await gateway_bot()
        assert spec.check_response("GET", "/gateway/bot", 200, after) == []
        assert after["shards"] == 2
        limit = after["session_start_limit"]
        assert limit["remaining"] == 1000 - 2  # one IDENTIFY per shard
        assert 0 < limit["reset_after"] <= 24 * 3600 * 1000


async def test_a_shard_over_2500_guilds_is_told_sharding_is_required() -> None:
    async with running_twin() as twin:
        app = twin.create_application("Sharded", token="sharded-token")
        for i in range(2501):
            twin.add_bot(twin.create_guild(f"Server {i}"), app)
        async with aiohttp.ClientSession() as http, http.ws_connect(twin.gateway_url) as ws:
            await ws.receive_json()
            identify = {"token": app.token, "intents": 1, "properties": {}, "shard": [0, 1]}
            await ws.send_str(json.dumps({"op": 2, "d": identify}))
            await ws.receive()
            assert ws.close_code == 4011


async def _until(predicate: Any, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, "the client did not receive it in time"
        await asyncio.sleep(0.01)
