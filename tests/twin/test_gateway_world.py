from __future__ import annotations

import asyncio

import discord
import pytest

from tests.twin.bare_bot import BareBot
from tests.twin.conftest import BOT_PERMISSIONS, World
from twin.testing import running_bot


async def test_joining_a_new_guild_dispatches_guild_create(world: World) -> None:
    joined = asyncio.create_task(world.bot.wait_for("guild_join"))
    await asyncio.sleep(0)
    other = world.twin.create_guild("Second Server")
    world.twin.create_text_channel(other, "lobby")
    world.twin.add_bot(other, world.app, permissions=BOT_PERMISSIONS)
    guild = await asyncio.wait_for(joined, 5)
    assert guild.id == other.id and [c.name for c in guild.text_channels] == ["lobby"]

    removed = asyncio.create_task(world.bot.wait_for("guild_remove"))
    await asyncio.sleep(0)
    world.twin.remove_bot(other, world.app)
    assert (await asyncio.wait_for(removed, 5)).id == other.id


async def test_two_bots_each_receive_only_their_own_interactions(world: World) -> None:
    second_app = world.twin.create_application("Bench", token="bench-token")
    world.twin.add_bot(world.guild, second_app, permissions=BOT_PERMISSIONS)
    second = BareBot()
    async with running_bot(world.twin, second, second_app.token):
        with pytest.raises(LookupError, match="several bots"):
            await world.alice.slash("ping")
        reply = await world.alice.slash("ping", app=second_app)
        assert reply.author.id == second_app.bot.id
        interactions = [
            f for s in world.twin.gateway.sessions_of(world.app) for f in s.frames if f["t"] == "INTERACTION_CREATE"
        ]
        assert interactions == []


async def test_thread_membership_round_trip(world: World) -> None:
    channel = world.bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    thread = await channel.create_thread(name="members", type=discord.ChannelType.private_thread)
    await thread.add_user(discord.Object(world.alice.id))
    member = await thread.fetch_member(world.alice.id)
    assert member.id == world.alice.id
    await thread.remove_user(discord.Object(world.alice.id))
    with pytest.raises(discord.NotFound) as caught:
        await thread.fetch_member(world.alice.id)
    assert caught.value.code == 10007
    assert not any(r.where.startswith("private thread") for r in world.alice.sees())


async def test_private_threads_need_create_private_threads(world: World) -> None:
    from twin.state import Overwrite

    bot_role = next(r for r in world.guild.roles.values() if r.managed and r.bot_id == world.app.bot.id)
    deny = discord.Permissions(create_private_threads=True).value
    world.help.overwrites.append(Overwrite(bot_role.id, 0, 0, deny))
    channel = world.bot.get_channel(world.help.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.Forbidden) as caught:
        await channel.create_thread(name="nope", type=discord.ChannelType.private_thread)
    assert caught.value.code == 50013
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.create_thread(name="x" * 101, type=discord.ChannelType.public_thread)
    assert too_long.value.code == 50035
    assert any("maxLength 100" in v for v in world.twin.violations)
    world.twin.violations.clear()


async def test_a_member_can_dm_the_bot(world: World) -> None:
    received = asyncio.create_task(world.bot.wait_for("message", check=lambda m: m.guild is None))
    await asyncio.sleep(0)
    await world.alice.dm(world.app, "hello bot")
    message = await asyncio.wait_for(received, 5)
    assert message.content == "hello bot" and message.author.id == world.alice.id
    await message.channel.send("hello alice")
    assert [m.content for m in world.alice.dms()] == ["hello bot", "hello alice"]


async def test_a_dm_reply_to_the_bot_carries_its_reference_and_attachments_without_the_content_intent(
    world: World,
) -> None:
    first = asyncio.create_task(world.bot.wait_for("message", check=lambda m: m.guild is None))
    await asyncio.sleep(0)
    await world.alice.dm(world.app, "hello bot")
    received = await asyncio.wait_for(first, 5)
    sent = await received.channel.send("which request?")
    reply = asyncio.create_task(world.bot.wait_for("message", check=lambda m: m.guild is None and not m.author.bot))
    await asyncio.sleep(0)
    view = await world.alice.dm(
        world.app, "this one", reply_to=world.twin.state.messages[sent.id], files={"cv.pdf": b"%PDF"}
    )
    message = await asyncio.wait_for(reply, 5)
    assert message.id == view.id and message.content == "this one"  # DM content needs no privileged intent
    assert message.type is discord.MessageType.reply
    assert message.reference is not None and message.reference.message_id == sent.id
    assert isinstance(message.reference.resolved, discord.Message) and message.reference.resolved.id == sent.id
    assert [a.filename for a in message.attachments] == ["cv.pdf"] and message.attachments[0].size == 4
    with pytest.raises(AssertionError, match="same channel"):
        await world.bob.dm(world.app, "not mine", reply_to=world.twin.state.messages[sent.id])


async def test_privileged_intents_must_be_enabled_for_the_application(world: World) -> None:
    from discord.ext import commands

    app = world.twin.create_application("Greedy", token="greedy-token")
    greedy = commands.Bot(command_prefix="!", intents=discord.Intents.all(), guild_ready_timeout=0.05)
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running_bot(world.twin, greedy, app.token):
            pass


async def test_members_intent_delivers_members_when_enabled(world: World) -> None:
    from discord.ext import commands

    app = world.twin.create_application("Members", token="members-token", privileged_intents=1 << 1)
    world.twin.add_bot(world.guild, app)
    intents = discord.Intents.default()
    intents.members = True
    bot = commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
    async with running_bot(world.twin, bot, app.token):
        guild = bot.get_guild(world.guild.id)
        assert guild is not None and guild.get_member(world.alice.id) is not None
        joined = asyncio.create_task(bot.wait_for("member_join"))
        await asyncio.sleep(0)
        world.twin.member(world.guild, "erin")
        assert (await asyncio.wait_for(joined, 5)).name == "erin"


async def test_a_guild_above_the_large_threshold_arrives_large_with_only_the_bot_as_member(world: World) -> None:
    """Without the members intent Discord sends a large guild's GUILD_CREATE with ``large`` true, the full
    ``member_count`` and no member but the bot itself; discord.py then has nothing to chunk."""
    big = world.twin.create_guild("Big Server")
    for index in range(260):  # above discord.py's large_threshold (250)
        world.twin.join(big, world.twin.create_user(f"member{index}"))
    app = world.twin.create_application("Lean", token="lean-token")
    world.twin.add_bot(big, app)
    bot = discord.Client(intents=discord.Intents.none(), guild_ready_timeout=0.05)
    async with running_bot(world.twin, bot, app.token):
        guild = bot.get_guild(big.id)
        assert guild is not None
        assert guild.large and guild.member_count == 262  # the owner, 260 members and the bot
        assert [m.id for m in guild.members] == [app.bot.id]
        sent = next(s for s in world.twin.gateway.sessions_of(app))
        creates = [f["d"] for f in sent.frames if f["t"] == "GUILD_CREATE"]
        assert creates[0]["large"] is True and len(creates[0]["members"]) == 1


async def test_a_guild_below_the_large_threshold_is_not_large(world: World) -> None:
    app = world.twin.create_application("Lean", token="lean-token")
    world.twin.add_bot(world.guild, app)
    bot = discord.Client(intents=discord.Intents.none(), guild_ready_timeout=0.05)
    async with running_bot(world.twin, bot, app.token):
        guild = bot.get_guild(world.guild.id)
        assert guild is not None and not guild.large and guild.member_count == len(world.guild.members)
