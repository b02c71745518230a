"""The operator's endpoint through a scripted session: /metrics moves with what members do, carries no member data,
and /healthz reports the process, the database and the gateway."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator

import aiohttp
import pytest

from demo.community import Community
from demo.community import community as start_community
from twin.testing import assert_no_violations

NOTE = "Forty applications and not one reply"


@pytest.fixture
async def metered(tmp_path) -> AsyncIterator[Community]:  # type: ignore[no-untyped-def]
    async with start_community(tmp_path / "porchlight.db") as world:
        world.settings_overrides["metrics_port"] = 0  # any free port on 127.0.0.1
        await world.restart()
        yield world
    assert_no_violations(world.twin)


async def get(c: Community, path: str) -> tuple[int, str]:
    assert c.bot is not None and c.bot.ops is not None
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{c.bot.ops.port}{path}") as response:
        return response.status, await response.text()


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}(?:\{{{re.escape(wanted)}\}})? (\S+)$" if wanted else rf"^{re.escape(name)} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_metrics_move_during_a_session_and_carry_no_member_data(metered: Community) -> None:
    c = metered
    status, before = await get(c, "/metrics")
    assert status == 200

    c.twin.close_dms(c.alice, c.guild)
    await c.alice.slash("checkin", channel=c.general, status="Stuck", note=NOTE)
    await c.bob.slash("checkin", channel=c.general, status="On track")
    await c.alice.slash("checkin-history", channel=c.general)
    c.clock.advance(days=3, minutes=5)
    _, due = await get(c, "/metrics")
    assert sample(due, "porchlight_jobs_due") >= 1
    await c.run_jobs()  # alice's follow-up: her DMs are closed
    resumed = asyncio.create_task(c.bot.wait_for("resumed"))  # type: ignore[union-attr]
    await asyncio.sleep(0)
    await c.twin.request_reconnect(c.app)
    await asyncio.wait_for(resumed, 5)

    _, after = await get(c, "/metrics")
    count = "porchlight_interaction_seconds_count"
    assert sample(after, count, command="checkin") - sample(before, count, command="checkin") == 2
    assert sample(after, count, command="checkin-history") == 1
    assert sample(after, "porchlight_job_lag_seconds_count", kind="checkin.followup") == 1
    assert sample(after, "porchlight_job_lag_seconds_sum", kind="checkin.followup") == pytest.approx(300)
    assert sample(after, "porchlight_dms_refused_total") == 1
    assert sample(after, "porchlight_gateway_reconnects_total") == 1
    assert sample(after, "porchlight_database_bytes") > 0
    assert sample(after, "porchlight_jobs_due") == 0
    assert "# TYPE porchlight_interactions_failed_total counter" in after  # none failed: no sample yet
    assert "# TYPE porchlight_job_failures_total counter" in after

    forbidden = [str(p.id) for p in c.members] + [p.name for p in c.members]
    forbidden += [str(c.guild.id), str(c.general.id), str(c.app.bot.id), NOTE, "Forty"]
    for value in forbidden:
        assert value not in after, value
    labels = set(re.findall(r'(\w+)="([^"]*)"', after))
    names = {name for name, _ in labels}
    assert names <= {"command", "kind", "le", "generation", "version", "implementation", "major", "minor", "patchlevel"}
    for name, value in labels:
        if name in ("command", "kind"):  # fixed vocabularies: command names, component families, job kinds
            assert re.fullmatch(r"[a-z][a-z_ .:-]*", value), (name, value)
    assert {v for n, v in labels if n == "command"} == {"checkin", "checkin-history"}


async def test_healthz_reports_alive_writable_and_connected(metered: Community) -> None:
    status, body = await get(metered, "/healthz")
    assert status == 200
    assert body == '{"alive": true, "database_writable": true, "gateway_connected": true}'


async def test_the_endpoint_is_off_by_default(community: Community) -> None:
    assert community.bot is not None
    assert community.bot.settings.metrics_port is None
    assert community.bot.ops is None


async def test_healthz_is_503_when_the_database_cannot_be_written(metered: Community) -> None:
    c = metered
    assert c.bot is not None
    await c.bot.db.conn.execute("PRAGMA busy_timeout = 50")  # fail fast instead of waiting 5 s for the lock
    other = sqlite3.connect(c.database_path, isolation_level=None, timeout=5, check_same_thread=False)
    # Another process takes the write lock (off the event loop: the bot may be finishing a transaction of its own).
    await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
    try:
        status, body = await get(c, "/healthz")
        assert status == 503
        assert body == '{"alive": true, "database_writable": false, "gateway_connected": true}'
    finally:
        other.execute("ROLLBACK")
        other.close()
    status, _ = await get(c, "/healthz")
    assert status == 200
