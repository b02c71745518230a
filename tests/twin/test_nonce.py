"""Message nonces: ``enforce_nonce`` returns the author's earlier message instead of creating a second one."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import pytest

from tests.twin.conftest import World
from twin.state import NONCE_WINDOW_SECONDS, Message


def _channel(world: World, channel_id: int) -> discord.TextChannel:
    channel = world.bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


def _stored(world: World, channel_id: int) -> list[Message]:
    return world.twin.state.channel_messages(channel_id)


def _message_creates(world: World, message_id: int) -> int:
    frames = [f for s in world.twin.gateway.sessions_of(world.app) for f in s.frames]
    return sum(1 for f in frames if f["t"] == "MESSAGE_CREATE" and f["d"]["id"] == str(message_id))


async def _post(world: World, channel_id: int, body: dict[str, Any]) -> Any:
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
    return await world.bot.http.request(route, json=body)


async def test_discord_py_sends_a_random_enforced_nonce_and_gets_it_back(world: World) -> None:
    first = await _channel(world, world.general.id).send("one")
    second = await _channel(world, world.general.id).send("two")
    assert first.nonce and second.nonce and first.nonce != second.nonce
    assert [m.content for m in _stored(world, world.general.id)] == ["one", "two"]


async def test_a_repeated_nonce_returns_the_first_message_and_creates_nothing(world: World) -> None:
    channel = _channel(world, world.general.id)
    first = await channel.send("queue card", nonce="card-17")
    again = await channel.send("queue card", nonce="card-17")
    assert again.id == first.id
    assert again.nonce == "card-17"
    assert [m.id for m in _stored(world, world.general.id)] == [first.id]
    assert _message_creates(world, first.id) == 1


async def test_a_repeated_nonce_returns_the_first_message_even_with_other_content(world: World) -> None:
    channel = _channel(world, world.general.id)
    first = await channel.send("the original", nonce=4242)
    again = await channel.send("a different text", nonce=4242)
    assert (again.id, again.content) == (first.id, "the original")


async def test_a_repeated_nonce_in_a_private_thread_posts_once(world: World) -> None:
    parent = _channel(world, world.help.id)
    thread = await parent.create_thread(name="help 1", type=discord.ChannelType.private_thread, invitable=False)
    first = await thread.send("opening message", nonce="open-1")
    again = await thread.send("opening message", nonce="open-1")
    assert again.id == first.id
    assert [m.content for m in _stored(world, thread.id)] == ["opening message"]


async def test_a_repeated_nonce_in_a_dm_posts_once(world: World) -> None:
    user = await world.bot.fetch_user(world.alice.id)
    first = await user.send("your thread is open", nonce="dm-alice-1")
    again = await user.send("your thread is open", nonce="dm-alice-1")
    assert again.id == first.id
    assert [m.content for m in world.alice.dms()] == ["your thread is open"]


async def test_without_enforce_nonce_the_nonce_is_only_echoed(world: World) -> None:
    first = await _post(world, world.general.id, {"content": "a", "nonce": "same"})
    second = await _post(world, world.general.id, {"content": "b", "nonce": "same", "enforce_nonce": False})
    assert first["id"] != second["id"]
    assert first["nonce"] == second["nonce"] == "same"
    assert [m.content for m in _stored(world, world.general.id)] == ["a", "b"]


async def test_a_nonce_is_echoed_as_sent_and_not_on_later_reads(world: World) -> None:
    created = await _post(world, world.general.id, {"content": "n", "nonce": 99, "enforce_nonce": True})
    assert created["nonce"] == 99
    fetched = await _channel(world, world.general.id).fetch_message(int(created["id"]))
    assert fetched.nonce is None


async def test_a_nonce_of_a_deleted_message_answers_not_found(world: World) -> None:
    channel = _channel(world, world.general.id)
    first = await channel.send("gone soon", nonce="del-1")
    await first.delete()
    with pytest.raises(discord.NotFound) as caught:
        await channel.send("gone soon", nonce="del-1")
    assert caught.value.code == 10008
    assert _stored(world, world.general.id) == []


async def test_a_nonce_is_forgotten_after_the_window(world: World) -> None:
    channel = _channel(world, world.general.id)
    first = await channel.send("morning", nonce="daily")
    real = world.twin.state.clock
    world.twin.state.clock = lambda: real() + NONCE_WINDOW_SECONDS + 1
    again = await channel.send("morning", nonce="daily")
    assert again.id != first.id
    assert len(_stored(world, world.general.id)) == 2


async def test_the_same_nonce_from_another_bot_creates_its_own_message(world: World) -> None:
    other = world.twin.create_application("Other", token="other-token")
    world.twin.add_bot(world.guild, other, permissions=discord.Permissions(view_channel=True, send_messages=True))
    mine = await _channel(world, world.general.id).send("mine", nonce="shared")
    url = f"{world.twin.api_base}/channels/{world.general.id}/messages"
    headers = {"Authorization": "Bot other-token"}
    body = {"content": "theirs", "nonce": "shared", "enforce_nonce": True}
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=headers) as response:
        theirs = await response.json()
    assert response.status == 200
    assert theirs["id"] != str(mine.id)
    assert theirs["author"]["id"] == str(other.bot.id)


async def test_a_nonce_longer_than_25_characters_is_rejected(world: World) -> None:
    with pytest.raises(discord.HTTPException) as caught:
        await _channel(world, world.general.id).send("x", nonce="n" * 26)
    assert caught.value.status == 400
    assert _stored(world, world.general.id) == []
    world.twin.violations.clear()
