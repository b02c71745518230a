"""Active and archived thread listings, and message history paging, through discord.py's own iterators."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from tests.twin.conftest import World
from twin.state import Channel, Overwrite

PRIVATE = discord.ChannelType.private_thread
PUBLIC = discord.ChannelType.public_thread


def _channel(world: World, channel_id: int) -> discord.TextChannel:
    channel = world.bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


def _alices_private_thread(world: World, parent: Channel, name: str) -> Channel:
    """A private thread a member opened; the bot is not in it."""
    thread = world.twin.state.create_thread(parent, name, type=12, owner_id=world.alice.id)
    world.twin.emit_thread_create(thread)
    return thread


def _without_manage_threads(world: World, name: str) -> Channel:
    bot_member = world.guild.members[world.app.bot.id]
    deny = discord.Permissions(manage_threads=True).value
    return world.twin.create_text_channel(world.guild, name, overwrites={bot_member: (0, deny)})


async def _get(world: World, path: str, **params: Any) -> Any:
    route = discord.http.Route("GET", path)
    return await world.bot.http.request(route, params=params or None)


async def test_active_threads_lists_what_the_bot_may_see_newest_first(world: World) -> None:
    quiet = _without_manage_threads(world, "quiet")
    help_channel = _channel(world, world.help.id)
    public = await help_channel.create_thread(name="public one", type=PUBLIC)
    mine = await help_channel.create_thread(name="private, bot inside", type=PRIVATE)
    visible_to_manager = _alices_private_thread(world, world.help, "alice's, bot manages threads")
    _alices_private_thread(world, quiet, "alice's, bot may not see")
    archived = await help_channel.create_thread(name="archived", type=PUBLIC)
    await archived.edit(archived=True)

    active = await world.bot.get_guild(world.guild.id).active_threads()  # type: ignore[union-attr]

    assert [t.id for t in active] == [visible_to_manager.id, mine.id, public.id]
    joined = {t.id for t in active if world.app.bot.id in {m.id for m in t.members}}
    assert joined == {mine.id, public.id}


async def test_active_threads_answer_carries_the_bots_memberships(world: World) -> None:
    help_channel = _channel(world, world.help.id)
    mine = await help_channel.create_thread(name="mine", type=PRIVATE)
    theirs = _alices_private_thread(world, world.help, "theirs")
    data = await _get(world, f"/guilds/{world.guild.id}/threads/active")
    assert {t["id"] for t in data["threads"]} == {str(mine.id), str(theirs.id)}
    assert [(m["id"], m["user_id"]) for m in data["members"]] == [(str(mine.id), str(world.app.bot.id))]
    assert data["has_more"] is False


async def _archived_private(world: World, count: int) -> list[discord.Thread]:
    help_channel = _channel(world, world.help.id)
    threads = []
    for i in range(count):
        thread = await help_channel.create_thread(name=f"request #{i}", type=PRIVATE)
        threads.append(await thread.edit(archived=True, locked=True))
    return threads


async def test_archived_private_threads_come_newest_archived_first(world: World) -> None:
    threads = await _archived_private(world, 3)
    await threads[0].edit(archived=False)
    await threads[0].edit(archived=True)  # archived again, so now the newest
    listed = [t.id async for t in _channel(world, world.help.id).archived_threads(private=True)]
    assert listed == [threads[0].id, threads[2].id, threads[1].id]


async def test_archived_private_threads_page_with_before_and_has_more(world: World) -> None:
    threads = await _archived_private(world, 5)
    path = f"/channels/{world.help.id}/threads/archived/private"
    first = await _get(world, path, limit=2)
    assert [t["id"] for t in first["threads"]] == [str(threads[4].id), str(threads[3].id)]
    assert first["has_more"] is True
    rest = await _get(world, path, limit=3, before=first["threads"][-1]["thread_metadata"]["archive_timestamp"])
    assert [t["id"] for t in rest["threads"]] == [str(t.id) for t in reversed(threads[:3])]
    assert rest["has_more"] is False


async def test_discord_py_pages_through_more_than_a_hundred_archived_threads(world: World) -> None:
    threads = await _archived_private(world, 102)
    listed = [t.id async for t in _channel(world, world.help.id).archived_threads(private=True, limit=None)]
    assert listed == [t.id for t in reversed(threads)]
    pages = [r for r in world.twin.requests if r.route == "/channels/{channel_id}/threads/archived/private"]
    assert len(pages) == 2


async def test_archived_private_threads_need_manage_threads(world: World) -> None:
    quiet = await world.bot.fetch_channel(_without_manage_threads(world, "quiet").id)
    assert isinstance(quiet, discord.TextChannel)
    with pytest.raises(discord.Forbidden) as caught:
        [t async for t in quiet.archived_threads(private=True)]
    assert caught.value.code == 50013


async def test_archived_public_threads_leave_private_ones_out(world: World) -> None:
    help_channel = _channel(world, world.help.id)
    public = await help_channel.create_thread(name="public", type=PUBLIC)
    await public.edit(archived=True)
    await _archived_private(world, 1)
    listed = [t.id async for t in help_channel.archived_threads()]
    assert listed == [public.id]


async def test_joined_archived_private_threads_are_the_bots_own_by_id(world: World) -> None:
    mine = await _archived_private(world, 2)
    theirs = _alices_private_thread(world, world.help, "theirs")
    theirs.archived = True
    listed = [t.id async for t in _channel(world, world.help.id).archived_threads(private=True, joined=True)]
    assert listed == [mine[1].id, mine[0].id]


async def test_a_limit_below_two_is_refused(world: World) -> None:
    with pytest.raises(discord.HTTPException) as caught:
        await _get(world, f"/channels/{world.help.id}/threads/archived/private", limit=1)
    assert caught.value.status == 400
    world.twin.violations.clear()


async def _posted(world: World, count: int) -> list[discord.Message]:
    channel = _channel(world, world.general.id)
    return [await channel.send(f"m{i}") for i in range(count)]


async def test_history_pages_backwards_with_before(world: World) -> None:
    sent = await _posted(world, 7)
    channel = _channel(world, world.general.id)
    assert [m.id async for m in channel.history(limit=3)] == [m.id for m in reversed(sent[-3:])]
    assert [m.id async for m in channel.history(limit=3, before=sent[3])] == [m.id for m in reversed(sent[:3])]


async def test_history_pages_forwards_with_after(world: World) -> None:
    sent = await _posted(world, 7)
    channel = _channel(world, world.general.id)
    got = [m.id async for m in channel.history(limit=3, after=sent[1])]
    assert got == [m.id for m in sent[2:5]]


async def test_history_around_a_message_centres_on_it(world: World) -> None:
    sent = await _posted(world, 9)
    channel = _channel(world, world.general.id)
    got = sorted([m.id async for m in channel.history(limit=5, around=sent[4])])
    assert got == [m.id for m in sent[2:7]]


async def test_history_without_read_message_history_is_empty(world: World) -> None:
    await _posted(world, 2)
    bot_member = world.guild.members[world.app.bot.id]
    deny = discord.Permissions(read_message_history=True).value
    world.general.overwrites.append(Overwrite(bot_member.id, 1, 0, deny))
    assert [m async for m in _channel(world, world.general.id).history(limit=10)] == []
