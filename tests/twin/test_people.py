from __future__ import annotations

import pytest

from tests.twin.conftest import World
from twin import CommandUnavailable
from twin import state as twin_state


async def test_subcommand_with_object_options_resolves_them(world: World) -> None:
    with pytest.raises(CommandUnavailable, match="alice cannot use /setup: it needs manage_guild"):
        await world.alice.slash("setup channels", help=world.help, role=world.helpers, who=world.carol)
    world.twin.command_permission(world.guild, world.app, "setup", world.alice, allow=True)
    reply = await world.alice.slash("setup channels", help=world.help, role=world.helpers, who=world.carol)
    assert reply.content.startswith("help=help")
    reply = await world.owner.slash("setup channels", help=world.help, role=world.helpers, who=world.carol, count=3)
    assert reply.content == "help=help role=helpers who=carol count=3"


async def test_autocomplete_returns_the_bots_choices(world: World) -> None:
    choices = await world.alice.autocomplete("tz", "timezone", "Ber")
    assert [c["value"] for c in choices] == ["Europe/Berlin", "Europe/Bern"]


async def test_deferred_then_edited_original(world: World) -> None:
    reply = await world.alice.slash("edit-later")
    assert reply.content == "edited original" and not reply.ephemeral
    world.twin.assert_only_visible_to("edited original", allowed=world.twin.everyone_in(world.guild))


async def test_select_with_deferred_update_returns_the_edited_message(world: World) -> None:
    menu = await world.alice.slash("picker")
    assert menu.selects[0]["placeholder"] == "Pick a time zone"
    reply = await world.alice.select(menu, "Pick a time zone", ["Lagos"])
    assert reply.id == menu.id and reply.content == "picked Africa/Lagos"
    with pytest.raises(AssertionError, match="cannot see"):
        await world.bob.select(menu, "demo:pick", ["Berlin"])


async def test_a_late_answer_is_refused_and_recorded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(twin_state, "RESPONSE_WINDOW_SECONDS", 0.05)
    world.twin.faults.delay("POST", "/interactions/*", seconds=0.1, times=1)
    with pytest.raises(AssertionError, match="did not answer /late"):
        await world.alice.slash("late", within=0.5)
    assert any("answered after" in v for v in world.twin.violations)
    world.twin.violations.clear()


async def test_guild_member_events_need_the_members_intent(world: World) -> None:
    world.twin.member(world.guild, "dana")
    frames = [f["t"] for s in world.twin.gateway.sessions_of(world.app) for f in s.frames]
    assert "GUILD_MEMBER_ADD" not in frames
    guild = world.bot.get_guild(world.guild.id)
    assert guild is not None and guild.get_member(world.alice.id) is None
    assert guild.me is not None
