"""Start-up and shutdown of the real bot, and how unexpected errors reach members and logs."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from demo.community import Community
from services.jobs import JobKind, RunReport
from storage.jobs import Job
from twin.state import Interaction
from twin.testing import wait_for_gateway

ROOT = Path(__file__).resolve().parents[2]


async def test_sigterm_drains_and_exits_cleanly_with_the_invite_url_logged(
    community: Community, tmp_path: Path
) -> None:
    c = community
    app = c.twin.create_application("Porchlight Process")
    c.twin.add_bot(c.guild, app, 0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORCHLIGHT_")}
    env.update(
        PORCHLIGHT_TOKEN=app.token,
        PORCHLIGHT_DATABASE_PATH=str(tmp_path / "process.db"),
        PORCHLIGHT_DISCORD_API_BASE=c.twin.api_base,
        PORCHLIGHT_DISCORD_GATEWAY_URL=c.twin.gateway_url,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await wait_for_gateway(c.twin, app, within=30)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "invite url: https://discord.com/oauth2/authorize" in log
    assert "permissions=361045773328" in log
    assert "no privileged intents" in log
    assert "shut down cleanly" in log
    assert app.token not in log


async def test_close_lets_an_in_flight_command_finish_and_refuses_new_ones(community: Community) -> None:
    c = community
    assert c.bot is not None
    bot = c.bot
    # Another writer holds SQLite's write lock, so alice's /checkin defers and then waits inside its transaction.
    blocker = sqlite3.connect(c.database_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        deferred = asyncio.create_task(_deferred(c, c.alice.id))
        answer = asyncio.create_task(c.alice.slash("checkin", channel=c.general, status="stuck"))
        await deferred
        closing = asyncio.create_task(bot.close())
        await asyncio.sleep(0)  # let the shutdown begin draining
        assert bot.draining
        refused = await c.bob.slash("checkin-history", channel=c.general)
        assert "restarting" in refused.text.lower()
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    stuck = await answer
    await closing
    assert "asking for help" in stuck.text.lower()  # the in-flight check-in finished and answered normally
    assert bot.is_closed()
    with pytest.raises(ValueError):  # and only then was the database closed
        await bot.db.conn.execute("SELECT 1")
    stored = sqlite3.connect(c.database_path).execute("SELECT status FROM checkins").fetchall()
    assert stored == [("stuck",)]


async def test_close_lets_a_running_job_finish_and_starts_no_new_one(community: Community) -> None:
    """A scheduled job in the middle of its work when shutdown begins (as SIGTERM does): it finishes before the
    loop stops and the database closes; a job that becomes due meanwhile does not start."""
    c = community
    assert c.bot is not None
    bot, jobs = c.bot, c.bot.services.jobs
    started, release = asyncio.Event(), asyncio.Event()
    ran: list[int] = []

    async def two_step(job: Job) -> None:  # e.g. re-post a queue card, then store the new card's id
        ran.append(job.id)
        started.set()
        await release.wait()
        async with bot.db.transaction() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES (?, 'second step')", (f"job-{job.id}",))

    jobs.register(JobKind("test.two_step", two_step))
    running = await jobs.schedule(kind="test.two_step", due_at=c.clock.now(), user_id=c.alice.id)
    bot.start_jobs()
    await asyncio.wait_for(started.wait(), 10)

    closing = asyncio.create_task(bot.close())
    await asyncio.sleep(0)  # let the shutdown begin
    assert bot.draining and jobs.stopping
    late = await jobs.schedule(kind="test.two_step", due_at=c.clock.now(), user_id=c.bob.id)
    assert await jobs.run_due() == RunReport()  # nothing starts once shutdown has begun
    release.set()
    await asyncio.wait_for(closing, 30)

    assert ran == [running.id]
    stored = sqlite3.connect(c.database_path)
    try:
        statuses = dict(stored.execute("SELECT id, status FROM jobs WHERE kind = 'test.two_step'").fetchall())
        steps = stored.execute("SELECT key FROM meta WHERE value = 'second step'").fetchall()
    finally:
        stored.close()
    assert statuses == {running.id: "done", late.id: "pending"}
    assert steps == [(f"job-{running.id}",)]


async def _deferred(c: Community, user_id: int) -> None:
    """Wait until the bot has acknowledged (deferred) the user's newest interaction."""
    before = set(c.twin.state.interactions)

    def newest() -> list[Interaction]:
        return [i for i in c.twin.state.interactions.values() if i.id not in before and i.user_id == user_id]

    async with asyncio.timeout(5):
        # The twin has no "interaction created" event; yield to the loop until the slash task has created it.
        while not newest():  # noqa: ASYNC110
            await asyncio.sleep(0)
        await asyncio.shield(newest()[0].responded)


async def test_unexpected_error_gets_a_neutral_reply_and_logs_ids_not_member_text(
    community: Community, caplog: pytest.LogCaptureFixture
) -> None:
    c = community
    assert c.bot is not None
    secret = "I have been unemployed for 14 months"
    await c.bot.db.conn.execute("DROP TABLE checkins")  # a fault in our own storage, mid-flight
    with caplog.at_level(logging.INFO):
        reply = await c.alice.slash("checkin", channel=c.general, status="stuck", note=secret)
    assert reply.ephemeral
    assert "Something went wrong on Porchlight's side" in reply.text
    failures = [r for r in caplog.records if r.getMessage().startswith("interaction failed")]
    assert failures, "the failure must be logged"
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert secret not in (record.exc_text or "")
    c.twin.assert_only_visible_to(secret, allowed=[])
