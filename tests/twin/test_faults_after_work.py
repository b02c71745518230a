"""Faults after the work is done, seeded fault runs, global 429s, on_done hooks and waiting for requests."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
import pytest

from tests.twin.conftest import World
from twin import Handled

MESSAGES = "/channels/{channel_id}/messages"


def _channel(world: World, channel_id: int) -> discord.TextChannel:
    channel = world.bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


def _contents(world: World, channel_id: int) -> list[str]:
    return [m.content for m in world.twin.state.channel_messages(channel_id)]


def _statuses(world: World, route: str) -> list[int]:
    return [r.status for r in world.twin.requests if r.route == route]


async def _post_without_nonce(world: World, channel_id: int, content: str) -> Any:
    route = discord.http.Route("POST", MESSAGES, channel_id=channel_id)
    return await world.bot.http.request(route, json={"content": content})


async def test_502_after_the_work_makes_discord_py_post_a_message_twice_without_a_nonce(world: World) -> None:
    world.twin.faults.server_error_after("POST", MESSAGES, status=502)
    await _post_without_nonce(world, world.general.id, "card")
    assert _contents(world, world.general.id) == ["card", "card"]
    assert _statuses(world, MESSAGES) == [502, 200]


async def test_502_after_the_work_is_absorbed_by_discord_py_s_enforced_nonce(world: World) -> None:
    fault = world.twin.faults.server_error_after("POST", MESSAGES, status=502)
    sent = await _channel(world, world.general.id).send("card")
    assert fault.fired == 1
    assert _contents(world, world.general.id) == ["card"]
    assert [m.id for m in world.twin.state.channel_messages(world.general.id)] == [sent.id]


async def test_503_after_the_work_raises_though_the_message_exists(world: World) -> None:
    world.twin.faults.server_error_after("POST", MESSAGES, status=503)
    with pytest.raises(discord.DiscordServerError) as caught:
        await _channel(world, world.general.id).send("did it arrive?")
    assert caught.value.status == 503
    assert _contents(world, world.general.id) == ["did it arrive?"]


async def test_500_after_a_thread_is_created_leaves_two_threads(world: World) -> None:
    world.twin.faults.server_error_after("POST", "/channels/{channel_id}/threads", status=500)
    help_channel = _channel(world, world.help.id)
    thread = await help_channel.create_thread(name="help #1", type=discord.ChannelType.private_thread)
    named = [c for c in world.guild.threads() if c.name == "help #1"]
    assert len(named) == 2
    assert thread.id == max(c.id for c in named)


async def test_a_5xx_before_the_work_changes_nothing(world: World) -> None:
    world.twin.faults.server_error("POST", MESSAGES, status=503)
    with pytest.raises(discord.DiscordServerError):
        await _channel(world, world.general.id).send("never stored")
    assert _contents(world, world.general.id) == []


async def _fault_run(world: World, seed: int) -> list[bool]:
    world.twin.faults.server_error_after("POST", MESSAGES, status=503, times=None, probability=0.3, seed=seed)
    failed = []
    for i in range(30):
        try:
            await _channel(world, world.general.id).send(f"m{i}")
            failed.append(False)
        except discord.DiscordServerError:
            failed.append(True)
    world.twin.faults.clear()
    return failed


async def test_a_seeded_fault_run_fails_the_same_requests_every_time(world: World) -> None:
    first = await _fault_run(world, seed=7)
    second = await _fault_run(world, seed=7)
    other = await _fault_run(world, seed=8)
    assert first == second
    assert first != other
    assert 0 < sum(first) < len(first)
    assert len(_contents(world, world.general.id)) == 90  # every request did its work, failed or not


async def test_probability_outside_zero_to_one_and_unknown_statuses_are_refused(world: World) -> None:
    with pytest.raises(ValueError):
        world.twin.faults.server_error_after("POST", MESSAGES, probability=1.5)
    with pytest.raises(ValueError):
        world.twin.faults.server_error_after("POST", MESSAGES, status=418)


async def test_a_global_429_is_waited_out_and_the_message_arrives_once(world: World) -> None:
    fault = world.twin.faults.rate_limit("POST", MESSAGES, retry_after=0.05, is_global=True)
    await _channel(world, world.general.id).send("after a global limit")
    assert fault.fired == 1
    assert _statuses(world, MESSAGES) == [429, 200]
    assert _contents(world, world.general.id) == ["after a global limit"]


async def _raw(world: World, method: str, path: str) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": f"Bot {world.app.token}"}
    url = world.twin.api_base + path
    async with aiohttp.ClientSession() as session, session.request(method, url, headers=headers) as response:
        return response.status, dict(response.headers), await response.json()


async def test_a_global_429_carries_discord_s_global_headers_and_no_bucket(world: World) -> None:
    world.twin.faults.rate_limit("GET", "/users/@me", retry_after=1.5, is_global=True)
    status, headers, body = await _raw(world, "GET", "/users/@me")
    assert status == 429
    assert body == {"message": "You are being rate limited.", "retry_after": 1.5, "global": True}
    assert headers["X-RateLimit-Global"] == "true"
    assert headers["X-RateLimit-Scope"] == "global"
    assert headers["Retry-After"] == "2"
    assert headers["Via"]
    bucket_headers = {h for h in headers if h.startswith("X-RateLimit-")} - {"X-RateLimit-Global", "X-RateLimit-Scope"}
    assert bucket_headers == set()


async def test_a_per_route_429_carries_the_whole_bucket_header_set(world: World) -> None:
    world.twin.faults.rate_limit("GET", "/users/@me", retry_after=0.25)
    status, headers, body = await _raw(world, "GET", "/users/@me")
    assert status == 429
    assert body["global"] is False
    assert headers["X-RateLimit-Scope"] == "user"
    assert "X-RateLimit-Global" not in headers
    for name in ("Limit", "Remaining", "Reset", "Reset-After", "Bucket"):
        assert f"X-RateLimit-{name}" in headers
    assert headers["X-RateLimit-Remaining"] == "0"


async def test_on_done_runs_after_the_work_and_before_the_client_learns_of_it(world: World) -> None:
    seen: list[tuple[Handled, list[str], bool]] = []
    sending: asyncio.Task[discord.Message] | None = None

    async def between(handled: Handled) -> None:
        assert sending is not None
        seen.append((handled, _contents(world, world.general.id), sending.done()))

    world.twin.faults.on_done("POST", MESSAGES, between)
    sending = asyncio.create_task(_channel(world, world.general.id).send("opening message"))
    sent = await sending
    [(handled, stored, client_knew)] = seen
    assert (handled.method, handled.route, handled.status) == ("POST", MESSAGES, 200)
    assert handled.data["id"] == str(sent.id)
    assert stored == ["opening message"]
    assert client_knew is False


async def test_on_done_skips_requests_that_failed(world: World) -> None:
    calls: list[Handled] = []

    async def record(handled: Handled) -> None:
        calls.append(handled)

    fault = world.twin.faults.on_done("POST", MESSAGES, record, times=1)
    with pytest.raises(discord.Forbidden):
        await _channel(world, world.announcements.id).send("not allowed")
    assert calls == [] and fault.fired == 0
    await _channel(world, world.general.id).send("allowed")
    assert len(calls) == 1 and fault.fired == 1


async def test_requests_handled_resolves_on_the_nth_matching_request(world: World) -> None:
    third = world.twin.requests_handled("POST", "/channels/*/messages", count=3)
    channel = _channel(world, world.general.id)
    await channel.send("one")
    await channel.fetch_message((await channel.send("two")).id)
    assert not third.done()
    await channel.send("three")
    records = await asyncio.wait_for(third, 5)
    assert [r.method for r in records] == ["POST", "POST", "POST"]
    assert all(r.status == 200 for r in records)


async def test_requests_handled_can_wait_for_a_status(world: World) -> None:
    refused = world.twin.requests_handled("POST", MESSAGES, status=403)
    await _channel(world, world.general.id).send("fine")
    assert not refused.done()
    with pytest.raises(discord.Forbidden):
        await _channel(world, world.announcements.id).send("refused")
    [record] = await asyncio.wait_for(refused, 5)
    assert record.status == 403
