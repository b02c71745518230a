from __future__ import annotations

from tests.twin.conftest import World


async def test_bot_becomes_ready_with_the_guild_cached(world: World) -> None:
    guild = world.bot.get_guild(world.guild.id)
    assert guild is not None
    assert {c.name for c in guild.text_channels} == {"general", "help", "announcements"}
    assert {r.name for r in guild.roles} >= {"@everyone", "helpers", "moderators", "Bare"}
    assert guild.me is not None and guild.me.guild_permissions.create_private_threads


async def test_commands_are_registered_through_the_bulk_overwrite(world: World) -> None:
    names = {c.name for c in world.app.commands.values()}
    assert names >= {"ping", "slow", "board", "form", "helpme", "setup", "tz"}


async def test_json_responses_carry_the_exact_content_type(world: World) -> None:
    records = [r for r in world.twin.requests if r.route == "/users/@me"]
    assert records and records[0].status == 200
    user = await world.bot.fetch_user(world.alice.id)
    assert user.name == "alice"
