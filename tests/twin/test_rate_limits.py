"""Discord's rate limits in the twin: complete headers, per-route and global 429s, and discord.py waiting them out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest

from tests.twin.conftest import World
from twin import Twin
from twin.ratelimit import GLOBAL_LIMIT, ROUTE_BUCKETS, Bucket, RateLimiter, RateLimits
from twin.testing import running_twin

MESSAGES = "/channels/{channel_id}/messages"
BUCKET_HEADERS = ("Limit", "Remaining", "Reset", "Reset-After", "Bucket")


@pytest.fixture
async def twin() -> AsyncIterator[Twin]:
    """The world of these tests runs on a twin that enforces Discord's limits."""
    async with running_twin(rate_limits=True) as started:
        yield started


def _freeze(world: World) -> None:
    """A fresh limiter (the bot's start-up requests forgotten) on a stopped clock: no window resets mid-test."""
    assert world.twin.limiter is not None
    frozen = world.twin.limiter.clock()
    world.twin.limiter = RateLimiter(world.twin.limiter.limits, clock=lambda: frozen)


async def _raw(world: World, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": f"Bot {world.app.token}"}
    url = world.twin.api_base + path
    async with aiohttp.ClientSession() as session, session.request(method, url, json=body, headers=headers) as r:
        return r.status, dict(r.headers), await r.json() if r.content_type == "application/json" else None


async def test_every_response_carries_the_whole_bucket_header_set(world: World) -> None:
    _freeze(world)
    for method, path, body in [
        ("GET", "/users/@me", None),
        ("GET", f"/channels/{world.general.id}", None),
        ("POST", f"/channels/{world.general.id}/messages", {"content": "hi"}),
        ("POST", f"/channels/{world.announcements.id}/messages", {"content": "refused: 403"}),
    ]:
        status, headers, _ = await _raw(world, method, path, body)
        assert status in (200, 403)
        missing = [h for h in BUCKET_HEADERS if f"X-RateLimit-{h}" not in headers]
        assert missing == [], f"{method} {path} lacks {missing}"
        assert "X-RateLimit-Scope" not in headers and "X-RateLimit-Global" not in headers


async def test_a_twin_without_rate_limits_sends_no_rate_limit_headers() -> None:
    async with running_twin() as plain:
        app = plain.create_application("Plain", token="plain-token")
        url = f"{plain.api_base}/users/@me"
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, headers={"Authorization": "Bot plain-token"}) as r,
        ):  # noqa: E501
            assert r.status == 200
            assert not [h for h in r.headers if h.lower().startswith("x-ratelimit")]
        assert plain.limiter is None and app.id


async def test_message_create_allows_five_per_channel_then_answers_a_per_route_429(world: World) -> None:
    _freeze(world)
    path = f"/channels/{world.general.id}/messages"
    remaining = []
    for i in range(5):
        status, headers, _ = await _raw(world, "POST", path, {"content": f"m{i}"})
        assert status == 200
        remaining.append(headers["X-RateLimit-Remaining"])
    assert remaining == ["4", "3", "2", "1", "0"]
    status, headers, body = await _raw(world, "POST", path, {"content": "one too many"})
    assert status == 429
    assert body == {"message": "You are being rate limited.", "retry_after": 5.0, "global": False}
    assert headers["X-RateLimit-Scope"] == "user" and headers["Via"] and headers["Retry-After"] == "5"
    assert headers["X-RateLimit-Remaining"] == "0" and headers["X-RateLimit-Limit"] == "5"
    assert "X-RateLimit-Global" not in headers
    assert len(world.twin.state.channel_messages(world.general.id)) == 5  # the refused one was never created
    other, _, _ = await _raw(world, "POST", f"/channels/{world.help.id}/messages", {"content": "other channel"})
    assert other == 200  # buckets are per channel


async def test_routes_in_one_bucket_share_its_hash_and_other_routes_differ(world: World) -> None:
    _freeze(world)
    _, first, _ = await _raw(world, "POST", f"/channels/{world.general.id}/messages", {"content": "a"})
    _, second, _ = await _raw(world, "POST", f"/channels/{world.help.id}/messages", {"content": "b"})
    _, other, _ = await _raw(world, "GET", "/users/@me")
    assert first["X-RateLimit-Bucket"] == second["X-RateLimit-Bucket"] != other["X-RateLimit-Bucket"]


async def test_the_global_limit_answers_a_global_429_without_bucket_headers(world: World) -> None:
    _freeze(world)
    for i in range(GLOBAL_LIMIT):
        status, _, _ = await _raw(world, "GET", "/users/@me" if i % 2 else f"/channels/{world.general.id}")
        assert status == 200
    status, headers, body = await _raw(world, "GET", f"/guilds/{world.guild.id}")
    assert status == 429
    assert body == {"message": "You are being rate limited.", "retry_after": 1.0, "global": True}
    assert headers["X-RateLimit-Global"] == "true" and headers["X-RateLimit-Scope"] == "global"
    assert headers["Via"] and headers["Retry-After"] == "1"
    assert not [h for h in headers if h.startswith("X-RateLimit-") and h.split("-", 2)[2] in BUCKET_HEADERS]


async def test_interaction_callbacks_are_exempt_from_the_global_limit(world: World) -> None:
    _freeze(world)
    for _ in range(GLOBAL_LIMIT):
        await _raw(world, "GET", "/users/@me")
    assert (await _raw(world, "GET", "/users/@me"))[0] == 429
    answer = await world.alice.slash("ping", channel=world.general)
    assert answer.text == "pong secret-123"


async def test_discord_py_waits_out_global_429s_and_every_dm_arrives_exactly_once(world: World) -> None:
    people = [world.twin.member(world.guild, f"member{i}") for i in range(120)]

    async def dm(person_id: int, text: str) -> None:
        channel = await world.bot.create_dm(discord.Object(person_id))
        await channel.send(text)

    await asyncio.gather(*(dm(p.id, f"reminder for {p.name}") for p in people))

    for person in people:
        assert [m.content for m in person.dms()] == [f"reminder for {person.name}"]
    assert world.twin.limiter is not None
    assert any(is_global for _, _, is_global in world.twin.limiter.refused), "the run never met the global limit"


async def test_discord_py_follows_the_bucket_headers_and_never_overruns_a_channel(world: World) -> None:
    assert world.twin.limiter is not None
    quick = Bucket("message-create", 2, 0.2)  # Discord's 5 per 5 s, scaled down to keep the test short
    world.twin.limiter.limits = RateLimits(routes={**ROUTE_BUCKETS, ("POST", MESSAGES): quick})
    channel = world.bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    await asyncio.gather(*(channel.send(f"m{i}") for i in range(9)))
    stored = sorted(m.content for m in world.twin.state.channel_messages(world.general.id))
    assert stored == [f"m{i}" for i in range(9)]
    assert world.twin.limiter.refused == []  # the headers alone made discord.py wait for each window


async def test_latency_delays_every_rest_call_by_the_round_trip() -> None:
    async with running_twin(latency=0.1) as slow:
        slow.create_application("Slow", token="slow-token")
        url = f"{slow.api_base}/users/@me"
        async with aiohttp.ClientSession() as session:
            for _ in range(2):
                async with session.get(url, headers={"Authorization": "Bot slow-token"}) as r:
                    assert r.status == 200
    assert [r.route for r in slow.requests] == ["/users/@me", "/users/@me"]
    assert all(r.seconds >= 0.099 for r in slow.requests)  # a lower bound only: sleeping never ends early
