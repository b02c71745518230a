"""The real bot process killed with SIGKILL at every side-effect boundary of a check-in shared with helpers and of a
reach-out ("I'll reach out"), then restarted on the same database: at every point exactly one notice, one thread,
one opening message and one confirmation per person; the member's or helper's action is either confirmed and
present, or was never confirmed (``tests/e2e/crash.py`` says what a boundary is).
"""

# ruff: noqa: F811 - the tests take the imported ``world`` fixture by name
from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from demo.community import Community
from tests.e2e.crash import World, crash_after, settle, world  # noqa: F401 - world is the fixture
from twin.people import MessageView
from twin.state import PRIVATE_THREAD, Channel

NOTE = "crash-note-interview-nerves"


def notices(c: Community) -> list[MessageView]:
    return [
        MessageView(c.twin, m.id)
        for m in c.twin.state.channel_messages(c.queue.id)
        if not m.deleted and "would welcome a reach-out" in m.content
    ]


def reach_threads(c: Community) -> list[Channel]:
    return [ch for ch in c.guild.threads() if ch.type == PRIVATE_THREAD and ch.name.startswith("reach-out-")]


def bot_messages(c: Community, thread: Channel) -> list[MessageView]:
    return [
        MessageView(c.twin, m.id)
        for m in c.twin.state.channel_messages(thread.id)
        if not m.deleted and m.author.id == c.app.bot.id
    ]


def stored_checkins(w: World) -> int:
    conn = sqlite3.connect(w.bot.database_path)
    try:
        return int(conn.execute("SELECT count(*) FROM checkins").fetchone()[0])
    finally:
        conn.close()


async def share(w: World) -> Any:
    return await w.c.alice.slash("checkin", channel=w.c.general, status="Stuck", note=NOTE, share_with_helpers=True)


SHARE_BOUNDARIES = [
    ("POST", "/channels/{queue}/messages"),  # the notice is posted
    ("PATCH", "/webhooks/*/messages/@original"),  # alice was answered
]


@pytest.mark.parametrize(("method", "pattern"), SHARE_BOUNDARIES)
async def test_a_shared_checkin_killed_after_each_effect_ends_with_one_notice(
    world: World, method: str, pattern: str
) -> None:
    w, c = world, world.c
    answer = await crash_after(w, method, pattern.format(queue=c.queue.id), lambda: share(w))
    await settle(lambda: len(notices(c)) == 1, "the notice", quiet=w)
    [notice] = notices(c)
    assert NOTE in notice.text and str(c.alice.id) not in notice.text
    assert stored_checkins(w) == 1
    if answer is not None:
        assert "without your name" in answer.text
    assert c.alice.dms() == []  # a check-in's answer has no fallback: it is confirmed once or not at all


async def test_a_shared_checkin_killed_after_the_deferral_was_never_confirmed_nor_stored(world: World) -> None:
    w, c = world, world.c
    answer = await crash_after(w, "POST", "/interactions/*/callback", lambda: share(w))
    assert answer is None
    await asyncio.sleep(1.0)  # nothing comes: there is nothing to wait for
    assert notices(c) == [] and stored_checkins(w) == 0


REACH_BOUNDARIES = [
    ("POST", "/interactions/*/callback", 1),  # the claim is recorded and the helper's click deferred
    ("POST", "/channels/*/threads", 1),  # the thread exists, the bot does not know its id
    ("PUT", "/channels/*/thread-members/*", 1),  # the member was added
    ("PUT", "/channels/*/thread-members/*", 2),  # the helper was added
    ("POST", "/channels/{channel_id}/messages", 1),  # the opening message is posted
    ("PATCH", "/channels/{channel_id}/messages/{message_id}", 1),  # the notice says taken
    ("PATCH", "/webhooks/*/messages/@original", 1),  # the helper was answered
]


@pytest.mark.parametrize(("method", "pattern", "nth"), REACH_BOUNDARIES)
async def test_a_reach_out_killed_after_each_effect_ends_with_one_thread_one_opening_one_confirmation(
    world: World, method: str, pattern: str, nth: int
) -> None:
    w, c = world, world.c
    await share(w)
    [notice] = notices(c)
    answer = await crash_after(w, method, pattern, lambda: c.helper.click(notice, "I'll reach out"), nth=nth)

    def in_place() -> bool:
        threads = reach_threads(c)
        return (
            len(threads) == 1
            and set(threads[0].members) == {c.app.bot.id, c.alice.id, c.helper.id}
            and len(bot_messages(c, threads[0])) == 1
            and "Taken by" in notice.text
            and (answer is not None or bool(c.helper.dms()))
        )

    await settle(in_place, "the reach-out", quiet=w)
    [thread] = reach_threads(c)
    [opening] = bot_messages(c, thread)
    assert NOTE in opening.text and "Who can see it" in opening.text
    assert f"Taken by <@{c.helper.id}>" in notice.text and NOTE not in notice.text
    assert len(notices(c)) == 1
    confirmations = [m for m in c.helper.dms() if f"<#{thread.id}>" in m.text]
    if answer is not None:
        assert f"<#{thread.id}>" in answer.text and confirmations == []
    else:
        assert len(confirmations) == 1  # never answered: told once, by DM
    assert c.alice.dms() == []


TAKEDOWN_BOUNDARIES = [
    ("DELETE", "/channels/{channel_id}/messages/{message_id}"),  # her notice is deleted
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"),  # the reach-out's opening is neutral
    ("PATCH", "/channels/{channel_id}"),  # her thread is archived and locked
]


@pytest.mark.parametrize(("method", "pattern"), TAKEDOWN_BOUNDARIES)
async def test_privacy_delete_killed_after_each_takedown_finishes_them_after_the_restart(
    world: World, method: str, pattern: str
) -> None:
    w, c = world, world.c
    await share(w)
    [notice] = notices(c)
    await c.helper.click(notice, "I'll reach out")
    [thread] = reach_threads(c)
    prompt = await c.alice.slash("privacy delete", channel=c.general)
    await crash_after(w, method, pattern, lambda: c.alice.click(prompt, "Delete everything"))

    def taken_down() -> bool:
        [opening] = bot_messages(c, thread)[:1]
        return notices(c) == [] and "Removed at the member's request" in opening.text and thread.locked

    await settle(taken_down, "the take-downs", quiet=w)
    assert [m.text for m in bot_messages(c, thread)].count("This thread is closed. Thanks to everyone who helped.") == 1
    for person in c.members:
        assert not any(NOTE in seen.text for seen in c.twin.visible_to(person) if seen.where != "ephemeral")
