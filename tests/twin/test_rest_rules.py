from __future__ import annotations

import discord
import pytest

from tests.twin.conftest import World
from twin.state import Overwrite


def _channel(world: World, channel_id: int) -> discord.TextChannel:
    channel = world.bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_sending_without_send_messages_is_forbidden_50013(world: World) -> None:
    with pytest.raises(discord.Forbidden) as caught:
        await _channel(world, world.announcements.id).send("hello")
    assert caught.value.code == 50013


async def test_dm_to_member_with_closed_dms_is_forbidden_50007(world: World) -> None:
    world.twin.close_dms(world.bob)
    user = await world.bot.fetch_user(world.bob.id)
    dm = await user.create_dm()
    assert dm.id
    with pytest.raises(discord.Forbidden) as caught:
        await dm.send("your call is booked")
    assert caught.value.code == 50007
    assert world.bob.dms() == []


async def test_dm_to_member_with_open_dms_arrives(world: World) -> None:
    user = await world.bot.fetch_user(world.alice.id)
    await user.send("reminder: check in")
    assert [m.content for m in world.alice.dms()] == ["reminder: check in"]
    assert [r.where for r in world.alice.sees() if "check in" in r.text] == ["DM"]
    world.twin.assert_only_visible_to("reminder: check in", allowed=[world.alice])


async def test_content_over_2000_characters_is_rejected_50035(world: World) -> None:
    with pytest.raises(discord.HTTPException) as caught:
        await _channel(world, world.general.id).send("x" * 2001)
    assert caught.value.status == 400 and caught.value.code == 50035
    await _channel(world, world.general.id).send("x" * 2000)


async def test_embeds_are_dropped_without_embed_links(world: World) -> None:
    world.general.overwrites.append(Overwrite(world.guild.id, 0, 0, discord.Permissions(embed_links=True).value))
    sent = await _channel(world, world.general.id).send("see embed", embed=discord.Embed(title="dropped"))
    assert sent.embeds == []


async def test_unknown_message_is_404_10008(world: World) -> None:
    with pytest.raises(discord.NotFound) as caught:
        await _channel(world, world.general.id).fetch_message(12345)
    assert caught.value.code == 10008


async def test_attachments_are_stored_and_readable(world: World) -> None:
    import io

    sent = await _channel(world, world.general.id).send(
        "export", file=discord.File(io.BytesIO(b'{"checkins": []}'), filename="export.json")
    )
    assert sent.attachments[0].filename == "export.json" and sent.attachments[0].size == 16
    assert await sent.attachments[0].read() == b'{"checkins": []}'
    assert any('"checkins"' in r.text for r in world.alice.sees())


async def test_locked_archived_thread_rejects_messages_without_manage_threads(world: World) -> None:
    thread = await _channel(world, world.general.id).create_thread(name="t", type=discord.ChannelType.public_thread)
    await thread.send("first")
    await thread.edit(archived=True, locked=True)
    model = world.twin.state.channel(thread.id)
    assert model is not None and model.archived and model.locked
    await thread.send("moderators may still post")
    assert not model.archived
    await thread.edit(archived=True, locked=True)
    bot_role = next(r for r in world.guild.roles.values() if r.managed)
    world.general.overwrites.append(Overwrite(bot_role.id, 0, 0, discord.Permissions(manage_threads=True).value))
    with pytest.raises(discord.HTTPException) as caught:
        await thread.send("no longer allowed")
    assert caught.value.code == 50083


async def test_role_changes_need_manage_roles_50013(world: World) -> None:
    guild = world.bot.get_guild(world.guild.id)
    assert guild is not None
    member = await guild.fetch_member(world.alice.id)
    with pytest.raises(discord.Forbidden) as caught:
        await member.add_roles(discord.Object(world.helpers.id))
    assert caught.value.code == 50013


async def test_unknown_member_is_404_10007(world: World) -> None:
    guild = world.bot.get_guild(world.guild.id)
    assert guild is not None
    world.twin.leave(world.guild, world.bob)
    with pytest.raises(discord.NotFound) as caught:
        await guild.fetch_member(world.bob.id)
    assert caught.value.code == 10007


async def test_bot_cannot_dm_a_user_it_shares_no_guild_with(world: World) -> None:
    stranger = world.twin.create_user("stranger")
    user = await world.bot.fetch_user(stranger.id)
    with pytest.raises(discord.Forbidden) as caught:
        await user.send("hi")
    assert caught.value.code == 50007


async def test_role_hierarchy_limits_manage_roles(world: World) -> None:
    bot_role = next(r for r in world.guild.roles.values() if r.managed)
    bot_role.permissions |= discord.Permissions(manage_roles=True, manage_channels=True).value
    low = world.twin.create_role(world.guild, "mentor", position=1)
    bot_role.position = 2
    guild = world.bot.get_guild(world.guild.id)
    assert guild is not None
    member = await guild.fetch_member(world.alice.id)
    await member.add_roles(discord.Object(low.id))
    assert low.id in world.guild.members[world.alice.id].roles
    with pytest.raises(discord.Forbidden) as caught:
        await member.add_roles(discord.Object(world.moderators.id))
    assert caught.value.code == 50013
    voice = await guild.create_voice_channel("call with alice")
    assert world.twin.state.channel(voice.id) is not None


async def test_creating_channels_needs_manage_channels(world: World) -> None:
    guild = world.bot.get_guild(world.guild.id)
    assert guild is not None
    with pytest.raises(discord.Forbidden) as caught:
        await guild.create_text_channel("nope")
    assert caught.value.code == 50013


async def test_public_thread_from_a_message_takes_its_id(world: World) -> None:
    sent = await _channel(world, world.general.id).send("discuss")
    thread = await sent.create_thread(name="discussion")
    assert thread.id == sent.id and thread.type is discord.ChannelType.public_thread
    await thread.send("in the thread")
    assert any(r.where == "public thread #discussion" for r in world.bob.sees())


async def test_history_pages_newest_first_with_before_and_after(world: World) -> None:
    channel = _channel(world, world.general.id)
    sent = [await world.alice.say(world.general, f"note {i}") for i in range(5)]
    latest = [m.content async for m in channel.history(limit=3)]
    assert latest == ["note 4", "note 3", "note 2"]
    older = [m.content async for m in channel.history(limit=10, before=discord.Object(sent[2].id))]
    assert older == ["note 1", "note 0"]
    newer = [m.content async for m in channel.history(limit=10, after=discord.Object(sent[2].id))]
    assert newer == ["note 3", "note 4"]
