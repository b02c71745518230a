"""Porchlight on Discord's shards (issue 13 §4): one bot on two shards answers in four servers spread over both; with
the shards split between two bots, DMs (which Discord sends to shard 0) and jobs work for a server on the other
bot's shard, by fetching that server over REST."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cogs.mentors._roster import EDIT_INTERVAL
from tests.e2e.sharded import ShardedWorld, sharded_world
from tests.e2e.test_anonymous import HELPER_WORDS, ask_anonymously, desk_dm, member_posts, reply_in_thread
from tests.e2e.test_checkins import checkin, labels, stored
from tests.e2e.test_help import cards, help_threads, settled
from tests.e2e.test_mentors import (
    approved_mentor,
    confirmation_dm,
    invite,
    request_call,
    request_dm,
    roster_cards,
)
from tests.e2e.test_metrics import sample
from twin.people import Modal
from twin.state import Application

HER_WORDS = "It is for the analyst role, second round"


def app_of(world: ShardedWorld) -> Application:
    return world.communities[0].app


def frames(world: ShardedWorld, shard_id: int, event: str) -> list[dict[str, Any]]:
    """What the application's session(s) on ``shard_id`` received of ``event``."""
    sessions = [s for s in world.twin.gateway.sessions_of(app_of(world)) if s.shard_id == shard_id]
    return [f["d"] for s in sessions for f in s.frames if f["t"] == event]


def guild_ids(frames_: list[dict[str, Any]]) -> set[int | None]:
    return {int(f["guild_id"]) if f.get("guild_id") else None for f in frames_}


async def test_one_bot_on_two_shards_answers_in_four_servers_each_event_on_its_servers_shard(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="porchlight")
    async with sharded_world(tmp_path / "porchlight.db", max_concurrency=2) as world:
        bot = await world.start_bot()  # both shards
        # Identify pacing follows GET /gateway/bot: with max_concurrency 2 each shard has its own bucket.
        identified = sorted(r.getMessage() for r in caplog.records if r.getMessage().startswith("identifying shard="))
        assert identified == [f"identifying shard={i} bucket={i} max_concurrency=2" for i in (0, 1)]
        sessions = world.twin.gateway.sessions_of(app_of(world))
        assert sorted((s.shard_id, s.num_shards) for s in sessions) == [(0, 2), (1, 2)]
        for shard_id in (0, 1):
            [ready] = frames(world, shard_id, "READY")
            assert ready["shard"] == [shard_id, 2]
            assert {int(g["id"]) for g in ready["guilds"]} == {c.guild.id for c in world.on_shard(shard_id)}
            assert len(world.on_shard(shard_id)) == 2
        assert {g.id for g in bot.guilds} == {c.guild.id for c in world.communities}
        assert {g.id: g.shard_id for g in bot.guilds} == {c.guild.id: (c.guild.id >> 22) % 2 for c in world.communities}

        for c in world.communities:
            await c.configure()
            answer = await checkin(c, c.alice, "Stuck", note=f"from {c.guild.name}")
            assert answer.ephemeral and "Nobody else sees this check-in" in answer.text, answer.text
            assert [r.note for r in await stored(c, c.alice)] == [f"from {c.guild.name}"]

        for shard_id in (0, 1):
            here = {c.guild.id for c in world.on_shard(shard_id)}
            assert guild_ids(frames(world, shard_id, "INTERACTION_CREATE")) == here  # only its own servers'


async def test_a_dm_reaches_shard_0_and_relays_into_a_server_held_by_the_other_bot(tmp_path: Path) -> None:
    """Anonymous ask in a server on shard 1 (bot B); her DM reply arrives on shard 0 (bot A), which does not have
    that server in its cache: A relays it into the thread, and her DM buttons work from A too."""
    async with sharded_world(tmp_path / "porchlight.db") as world:
        bot_a = await world.start_bot((0,))
        bot_b = await world.start_bot((1,))
        c = world.on_shard(1)[0]
        assert c.bot is bot_b and bot_a.get_guild(c.guild.id) is None and bot_b.get_guild(c.guild.id) is not None
        await c.configure()
        await ask_anonymously(c.alice, c)
        await c.helper.click(cards(c)[0], "Claim")
        [thread] = help_threads(c)
        await reply_in_thread(c, c.helper, thread, HELPER_WORDS)
        await settled(lambda: any(HELPER_WORDS in dm.text for dm in c.alice.dms()))

        dm_frames_before = len(frames(world, 0, "MESSAGE_CREATE"))
        await c.alice.dm(c.app, HER_WORDS)
        await settled(lambda: bool(member_posts(c, thread)))
        [posted] = member_posts(c, thread)
        assert HER_WORDS in posted.text
        # Her DM went to shard 0 only, and bot A (shard 0) posted her words into the thread on shard 1.
        assert any(f["content"] == HER_WORDS for f in frames(world, 0, "MESSAGE_CREATE")[dm_frames_before:])
        assert not any(f.get("content") == HER_WORDS for f in frames(world, 1, "MESSAGE_CREATE"))

        closed = await c.alice.click(desk_dm(c.alice), "Close")  # a DM interaction: shard 0, bot A
        assert closed.ephemeral and "Closed request #1" in closed.content, closed.content
        assert not any(f.get("guild_id") is None for f in frames(world, 1, "INTERACTION_CREATE"))
        await settled(lambda: thread.locked and "Closed by the member" in cards(c)[0].text)
        await settled(lambda: any("Did this help?" in dm.text for dm in c.alice.dms()))


async def test_a_job_for_a_server_on_the_other_bots_shard_runs_and_its_dm_buttons_answer(tmp_path: Path) -> None:
    """Jobs are taken by any process: bot A (shard 0) runs the follow-up of a check-in made in a server on shard 1,
    naming that server; the follow-up's DM buttons (shard 0 again) record the answer for that server, and "Ask for
    help privately" from the DM opens her private thread there, made by bot A over REST."""
    async with sharded_world(tmp_path / "porchlight.db") as world:
        bot_a = await world.start_bot((0,))
        await world.start_bot((1,))
        c = world.on_shard(1)[0]
        await c.configure()
        await checkin(c, c.alice, "In a rut")
        c.clock.advance(days=3)
        report = await bot_a.services.jobs.run_due()  # bot A, which does not hold that server, takes the job
        assert report.ran >= 1, report
        [dm] = c.alice.dms()
        assert "How is it going now?" in dm.text and c.guild.name in dm.text
        assert labels(dm) == ["On track", "Stuck", "In a rut", "Hired"]

        await c.alice.click(dm, "Stuck")
        records = await stored(c, c.alice)
        assert [(r.status, r.source) for r in records] == [("stuck", "followup"), ("rut", "command")]
        assert "Checked in" in dm.text and c.guild.name in dm.text
        dm_clicks = len(frames(world, 0, "INTERACTION_CREATE"))
        form = await c.alice.click(dm, "Ask for help privately")
        assert isinstance(form, Modal), form
        opened = await c.alice.submit_modal(
            form, {"Topic": ["networking"], "What's going on?": "No replies from anyone I message on LinkedIn."}
        )
        assert opened.ephemeral
        assert len(frames(world, 0, "INTERACTION_CREATE")) == dm_clicks + 2  # the button and the form: bot A's
        # The member is answered first; the thread, with her and the bot in it, follows.
        await settled(lambda: [set(t.members) for t in help_threads(c)] == [{c.alice.id, c.app.bot.id}])
        [thread] = help_threads(c)
        assert thread.guild_id == c.guild.id
        await settled(lambda: len(cards(c)) == 1)  # the queue card in that server's helper queue


async def test_only_the_bot_holding_shard_0_syncs_commands(tmp_path: Path) -> None:
    async with sharded_world(tmp_path / "porchlight.db") as world:
        synced = world.twin.requests_handled("PUT", "/applications/*/commands")
        await world.start_bot((1,))
        assert not synced.done() and not any(r.method == "PUT" and "/commands" in r.path for r in world.twin.requests)
        await world.start_bot((0,))
        assert synced.done()
        puts = [r for r in world.twin.requests if r.method == "PUT" and r.path.endswith("/commands")]
        assert len(puts) == 1
        for c in world.communities:  # the commands are global: every server has them, whichever bot answers
            answer = await checkin(c, c.bob, "On track")
            assert answer.ephemeral and "thanks for checking in" in answer.text, answer.text
            assert [r.status for r in await stored(c, c.bob)] == ["on_track"]


async def test_a_mentor_accepts_a_booking_from_the_dm_on_shard_0_for_a_server_on_shard_1(tmp_path: Path) -> None:
    """The request DM's Accept arrives at bot A (shard 0); the server is bot B's. Both confirmations (with invites)
    go out, and A brings the roster card of a server it does not hold up to date, over REST."""
    async with sharded_world(tmp_path / "porchlight.db") as world:
        bot_a = await world.start_bot((0,))
        await world.start_bot((1,))
        c = world.on_shard(1)[0]
        await c.configure()
        card = await approved_mentor(c, c.bob)
        asked = await request_call(c, c.alice, card, days_ahead=2)
        assert asked.ephemeral and "Request sent" in asked.text
        assert "Calls left this week\n3" in roster_cards(c)[0].text
        dm_interactions = len(frames(world, 0, "INTERACTION_CREATE"))

        accepted = await c.bob.click(request_dm(c.bob), "Accept")
        assert "You accepted" in accepted.text and accepted.buttons == []
        [click] = frames(world, 0, "INTERACTION_CREATE")[dm_interactions:]
        assert "guild_id" not in click and click["data"]["custom_id"].startswith("mentors:accept:")
        await settled(lambda: any("is confirmed" in dm.text for dm in c.alice.dms()))
        member_uid = str(next(iter(invite(confirmation_dm(c.alice)).walk("VEVENT")))["uid"])
        assert member_uid == str(next(iter(invite(confirmation_dm(c.bob)).walk("VEVENT")))["uid"])
        # Bot A flushed the booking's effects, the roster card of bot B's server among them (over REST). The card was
        # edited at the request a moment ago, so the refresh waits out the edit interval (kept in the database, so
        # it holds across processes) as a job, which any bot takes: here bot A.
        c.clock.advance(EDIT_INTERVAL)
        await bot_a.services.jobs.run_due()
        await settled(lambda: "Calls left this week\n2" in roster_cards(c)[0].text)


async def test_healthz_and_reconnect_metrics_count_every_shard(tmp_path: Path) -> None:
    async with sharded_world(tmp_path / "porchlight.db") as world:
        bot = await world.start_bot(metrics_port=0)
        assert bot.ops is not None

        async def get(path: str) -> tuple[int, str]:
            assert bot.ops is not None
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{bot.ops.port}{path}") as response:
                return response.status, await response.text()

        assert await get("/healthz") == (200, '{"alive": true, "database_writable": true, "gateway_connected": true}')
        resumed = [asyncio.create_task(bot.wait_for("shard_resumed", check=lambda s, i=i: s == i)) for i in (0, 1)]
        await asyncio.sleep(0)
        await world.twin.request_reconnect(app_of(world))  # op 7 to both shards: each resumes
        await asyncio.wait_for(asyncio.gather(*resumed), 5)
        _, metrics = await get("/metrics")
        assert sample(metrics, "porchlight_gateway_reconnects_total") == 2  # one per shard, not one per connect
        assert (await get("/healthz"))[0] == 200


async def test_the_daily_pass_asks_discord_only_about_the_bots_own_servers(tmp_path: Path) -> None:
    """Who left is asked per server Porchlight holds data in; each bot asks only about its shards' servers (the
    other bot covers the rest), while the database-wide purges run wherever the pass runs."""
    async with sharded_world(tmp_path / "porchlight.db") as world:
        bots = {0: await world.start_bot((0,)), 1: await world.start_bot((1,))}
        for c in world.communities:
            await c.configure()
            await checkin(c, c.alice, "Stuck")
        alice = world.communities[0].alice
        for shard_id, bot in bots.items():
            first = len(world.twin.requests)
            privacy: Any = bot.get_cog("PrivacyCog")
            await privacy.daily()
            asked = {
                int(r.path.split("/")[-3])
                for r in world.twin.requests[first:]
                if r.method == "GET" and r.path.endswith(f"/members/{alice.id}")
            }
            assert asked == {c.guild.id for c in world.on_shard(shard_id)}
