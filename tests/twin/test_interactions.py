from __future__ import annotations

import pytest

from tests.twin.bare_bot import PRIVATE_THREAD_TEXT
from tests.twin.conftest import World
from twin import BotDidNotAnswer, Modal


async def test_ephemeral_answer_is_visible_only_to_the_user(world: World) -> None:
    reply = await world.alice.slash("ping")
    assert reply.content == "pong secret-123"
    assert reply.ephemeral
    assert any("secret-123" in r.text and r.where == "ephemeral" for r in world.twin.visible_to(world.alice))
    assert not any("secret-123" in r.text for r in world.twin.visible_to(world.bob))
    world.twin.assert_only_visible_to("secret-123", allowed=[world.alice])
    assert world.owner.sees() == [] or not any("secret-123" in r.text for r in world.owner.sees())
    with pytest.raises(AssertionError, match="alice saw it in ephemeral"):
        world.twin.assert_only_visible_to("secret-123", allowed=[world.bob])


async def test_deferred_command_returns_the_followup(world: World) -> None:
    reply = await world.alice.slash("slow")
    assert reply.content == "slow done"
    assert reply.ephemeral


async def test_button_click_updates_the_message_for_everyone(world: World) -> None:
    board = await world.alice.slash("board")
    assert not board.ephemeral and board.buttons[0]["label"] == "Claim"
    updated = await world.bob.click(board, "Claim")
    assert updated.content == "claimed by bob"
    assert board.content == "claimed by bob" and board.buttons == []
    with pytest.raises(AssertionError, match="no button"):
        await world.bob.click(board, "Claim")


async def test_modal_is_opened_and_submitted(world: World) -> None:
    modal = await world.alice.slash("form")
    assert isinstance(modal, Modal) and modal.title == "Ask for help"
    assert [label for label, _ in modal.inputs] == ["Topic", "What would help"]
    reply = await world.alice.submit_modal(modal, {"Topic": "resume", "What would help": "a review"})
    assert reply.content == "topic=resume details=a review" and reply.ephemeral
    with pytest.raises(AssertionError, match="takes 0-100"):
        await world.alice.submit_modal(await world.alice.slash("form"), {"Topic": "x" * 101})


async def test_unregistered_command_fails_loudly(world: World) -> None:
    with pytest.raises(LookupError, match="/nope is not registered"):
        await world.alice.slash("nope")


async def test_a_second_acknowledgement_is_refused_with_40060(world: World) -> None:
    import discord

    reply = await world.alice.slash("ping")
    interaction = world.twin.state.interactions[reply.message.interaction_id or 0]
    route = discord.http.Route(
        "POST",
        "/interactions/{interaction_id}/{token}/callback",
        interaction_id=interaction.id,
        token=interaction.token,
    )
    with pytest.raises(discord.HTTPException) as caught:
        await world.bot.http.request(route, json={"type": 4, "data": {"content": "again"}})
    assert caught.value.code == 40060


async def test_unanswered_interaction_raises_a_clear_error(world: World) -> None:
    world.twin.faults.delay("POST", "/interactions/*", seconds=0.5)
    with pytest.raises(BotDidNotAnswer, match="did not answer /ping"):
        await world.alice.slash("ping", within=0.1)
    world.twin.faults.clear()
    late = list(world.twin.state.interactions.values())[-1]
    assert await late.responded == 4  # the delayed answer still lands inside Discord's 3 s window


async def test_private_thread_is_visible_to_members_and_moderators_only(world: World) -> None:
    reply = await world.alice.slash("helpme", channel=world.help, topic="resume")
    assert reply.content.startswith("thread ")
    thread = world.twin.state.channel(int(reply.content.split()[1]))
    assert thread is not None and thread.type == 12 and not thread.invitable
    assert any(r.where == "private thread #help resume" for r in world.alice.sees())
    assert not any(PRIVATE_THREAD_TEXT in r.text for r in world.bob.sees())
    world.twin.assert_only_visible_to(PRIVATE_THREAD_TEXT, allowed=[world.alice, world.mod, world.owner])
    with pytest.raises(AssertionError, match="mod saw it in private thread"):
        world.twin.assert_only_visible_to(PRIVATE_THREAD_TEXT, allowed=[world.alice, world.owner])


async def test_role_mention_in_private_thread_adds_the_role_members(world: World) -> None:
    await world.alice.slash("helpme", channel=world.help, topic="interviews")
    thread = world.bot.help_thread
    assert thread is not None
    assert not any(PRIVATE_THREAD_TEXT in r.text for r in world.carol.sees())
    await thread.send(f"paging <@&{world.helpers.id}>")
    assert world.twin.state.role_mention_adds == [(thread.id, world.helpers.id, world.carol.id)]
    assert any(PRIVATE_THREAD_TEXT in r.text for r in world.carol.sees())


async def test_role_mention_is_not_a_ping_when_allowed_mentions_forbid_it(world: World) -> None:
    import discord

    await world.alice.slash("helpme", channel=world.help, topic="offers")
    thread = world.bot.help_thread
    assert thread is not None
    await thread.send(f"<@&{world.helpers.id}>", allowed_mentions=discord.AllowedMentions.none())
    assert world.twin.state.role_mention_adds == []
