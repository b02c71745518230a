"""A scripted week under a flaky Discord: 10% of Porchlight's writes are done by Discord and then answered 500/502
(discord.py retries them), and 20% of its requests get a 429 (per route, or global). Counted from what every member
can see: nothing appears twice, and every action a member was told about is there."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import timedelta

import pytest

from demo.community import Community
from tests.e2e.test_help import BODY, ask, cards, help_threads, settled, thread_messages
from twin.state import Message

WRITES = ("POST", "PUT", "PATCH")
CHANNEL_ROUTES = "/channels/*"


def _fingerprint(message: Message) -> str:
    return f"{message.content}|{message.embeds}|{message.components}"


def duplicates(c: Community) -> list[str]:
    """Bot messages that say the same thing twice in the same channel (threads, queue, DMs)."""
    found = []
    bot_id = c.app.bot.id
    for channel_id in {m.channel_id for m in c.twin.state.messages.values()}:
        said = Counter(
            _fingerprint(m)
            for m in c.twin.state.channel_messages(channel_id)
            if m.author.id == bot_id and not m.deleted and m.ephemeral_for is None
        )
        found += [f"{channel_id}: {text[:80]}" for text, count in said.items() if count > 1]
    return found


@pytest.mark.parametrize("seed", [11, 31, 53])
async def test_a_week_of_check_ins_and_requests_with_5xx_after_the_work_and_429s_loses_and_repeats_nothing(
    community: Community, seed: int
) -> None:
    c = community
    faults = c.twin.faults
    for offset, method in enumerate(WRITES):
        faults.server_error_after(method, CHANNEL_ROUTES, 502, times=None, probability=0.1, seed=seed + offset)
    faults.server_error_after("POST", CHANNEL_ROUTES, 500, times=None, probability=0.05, seed=seed + 3)
    faults.rate_limit("*", CHANNEL_ROUTES, times=None, probability=0.1, seed=seed + 4, retry_after=0.01)
    faults.rate_limit("*", CHANNEL_ROUTES, times=None, probability=0.1, seed=seed + 5, retry_after=0.01, is_global=True)

    answered_checkins = 0
    for person, status, share in ((c.alice, "Stuck", True), (c.bob, "In a rut", False), (c.carol, "On track", False)):
        answer = await person.slash(
            "checkin", channel=c.general, status=status, note="a note", share_with_helpers=share
        )
        answered_checkins += answer.ephemeral
    askers = [c.alice, c.bob, c.dave]
    for person in askers:
        await ask(person, c)
    await c.helper.click(cards(c)[0], "Claim")
    await c.helper2.click(cards(c)[1], "Claim")
    first = next(t for t in help_threads(c) if t.name.startswith("help-1-"))
    await c.alice.slash("close", channel=first)
    await settled(lambda: first.locked and any("Did this help?" in m.text for m in c.alice.dms()), within=20)
    c.clock.advance(timedelta(minutes=5))
    await c.run_jobs()  # whatever an inline run could not finish, the safety net does

    assert duplicates(c) == []
    assert len(help_threads(c)) == 3
    for thread in help_threads(c):
        openings = [m for m in thread_messages(c, thread) if BODY in m.text]
        assert len(openings) == 1, thread.name
    assert len(cards(c)) == 3
    assert sum("joined to help" in m.text for t in help_threads(c) for m in thread_messages(c, t)) == 2
    assert [m.text.count("Did this help?") for m in c.alice.dms() if "Did this help?" in m.text] == [1]
    with sqlite3.connect(c.database_path) as db:
        assert db.execute("SELECT count(*) FROM checkins").fetchone()[0] == answered_checkins == 3
        assert db.execute("SELECT count(*) FROM help_requests WHERE status <> 'pending_thread'").fetchone()[0] == 3
        assert db.execute("SELECT count(*) FROM effects WHERE status = 'pending'").fetchone()[0] == 0
    fired = sum(f.fired for f in faults.active)
    assert fired >= 3, (
        f"the run should have met Discord's faults: {[(f.kind, f.method, f.fired) for f in faults.active]}"
    )
