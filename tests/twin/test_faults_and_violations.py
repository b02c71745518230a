from __future__ import annotations

import asyncio

import discord
import pytest

from tests.twin.conftest import World
from twin.testing import wait_for_gateway


def _general(world: World) -> discord.TextChannel:
    channel = world.bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_injected_429_is_retried_by_discord_py(world: World) -> None:
    world.twin.faults.rate_limit("POST", "/channels/{channel_id}/messages", times=1, retry_after=0.05)
    sent = await _general(world).send("after a rate limit")
    statuses = [r.status for r in world.twin.requests if r.route == "/channels/{channel_id}/messages"]
    assert statuses[-2:] == [429, 200]
    assert sent.content == "after a rate limit"


async def test_unmodelled_route_fails_loudly(world: World) -> None:
    route = discord.http.Route("GET", "/guilds/{guild_id}/bans", guild_id=world.guild.id)
    with pytest.raises(discord.NotFound):
        await world.bot.http.request(route)
    assert any("GET /guilds/" in v and "not modelled" in v for v in world.twin.violations)
    world.twin.violations.clear()


async def test_spec_violating_body_fails_loudly(world: World) -> None:
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=world.general.id)
    with pytest.raises(discord.HTTPException) as caught:
        await world.bot.http.request(route, json={"content": 5, "tts": "maybe"})
    assert caught.value.status == 400
    assert any("POST /channels/{channel_id}/messages" in v for v in world.twin.violations)
    world.twin.violations.clear()


async def _sent_and_seen(world: World, text: str) -> int:
    seen = asyncio.create_task(world.bot.wait_for("message", check=lambda m: m.channel.id == world.general.id))
    await asyncio.sleep(0)
    message = await world.alice.say(world.general, text)
    await asyncio.wait_for(seen, 5)
    return message.id


async def test_resume_after_op7_delivers_events_once(world: World) -> None:
    resumed = asyncio.create_task(world.bot.wait_for("resumed"))
    await asyncio.sleep(0)
    await world.twin.request_reconnect(world.app)
    gap = await world.alice.say(world.general, "during the reconnect")
    await asyncio.wait_for(resumed, 5)
    after = await _sent_and_seen(world, "after the reconnect")
    assert world.bot.seen_messages.count(gap.id) == 1
    assert world.bot.seen_messages.count(after) == 1


async def test_resume_after_dropped_socket_delivers_the_gap_once(world: World) -> None:
    resumed = asyncio.create_task(world.bot.wait_for("resumed"))
    await asyncio.sleep(0)
    await world.twin.drop_gateway(world.app)
    gap = await world.alice.say(world.general, "while disconnected")
    await asyncio.wait_for(resumed, 5)
    await wait_for_gateway(world.twin, world.app)
    after = await _sent_and_seen(world, "after the drop")
    assert world.bot.seen_messages.count(gap.id) == 1
    assert world.bot.seen_messages.count(after) == 1
    assert len(world.twin.gateway.sessions_of(world.app)) == 1, "the client re-identified instead of resuming"


async def test_message_content_is_blanked_without_the_intent(world: World) -> None:
    seen = asyncio.create_task(world.bot.wait_for("message"))
    await asyncio.sleep(0)
    await world.alice.say(world.general, "a private thought")
    message = await asyncio.wait_for(seen, 5)
    assert message.content == ""


async def test_injected_502_is_retried_by_discord_py(world: World) -> None:
    sent = await _general(world).send("fetch me")
    world.twin.faults.server_error("GET", "/channels/{channel_id}/messages/{message_id}", status=502, times=1)
    fetched = await _general(world).fetch_message(sent.id)
    assert fetched.content == "fetch me"
    statuses = [r.status for r in world.twin.requests if r.route == "/channels/{channel_id}/messages/{message_id}"]
    assert statuses == [502, 200]


async def test_invalidated_session_makes_the_client_identify_again(world: World) -> None:
    ready_again = asyncio.create_task(world.bot.wait_for("ready"))
    await asyncio.sleep(0)
    await world.twin.invalidate_session(world.app)
    await asyncio.wait_for(ready_again, 5)
    assert len(world.twin.gateway.sessions_of(world.app)) == 1
    assert world.bot.get_guild(world.guild.id) is not None
