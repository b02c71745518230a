"""Porchlight paces its REST requests under Discord's global limit instead of running into it.

The pacer is pure arithmetic over a clock (tested without sleeping); the end-to-end test sends a burst of reminder
DMs through a twin that enforces Discord's limits and counts the global 429s it had to answer (a count, not a time).
"""

from __future__ import annotations

import discord.http
import pytest

from bench import fanout
from cogs._pacing import GlobalPacer, is_exempt


def test_requests_start_one_interval_apart_in_the_order_they_were_made() -> None:
    pacer = GlobalPacer(50)
    waits = [pacer.reserve(now=10.0) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.02, 0.04, 0.06, 0.08])


def test_idle_time_is_not_saved_up_for_a_later_burst() -> None:
    pacer = GlobalPacer(50)
    pacer.reserve(now=0.0)
    assert pacer.reserve(now=5.0) == 0.0  # after a quiet spell the next request goes at once ...
    assert pacer.reserve(now=5.0) == pytest.approx(0.02)  # ... and the one after it still waits its turn


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        GlobalPacer(0)


def test_interaction_answers_and_webhooks_are_exempt_and_bot_routes_are_paced() -> None:
    callback = discord.http.Route(
        "POST", "/interactions/{interaction_id}/{interaction_token}/callback", interaction_id=1, interaction_token="t"
    )
    followup = discord.http.Route("POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=1, webhook_token="t")
    message = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=1)
    dm = discord.http.Route("POST", "/users/@me/channels")
    assert is_exempt(callback) and is_exempt(followup)
    assert not is_exempt(message) and not is_exempt(dm)


async def test_a_burst_of_reminder_dms_is_delivered_whole_without_running_into_the_global_limit() -> None:
    """100 reminders due at once, a pool of 32 and no round trip: unpaced, discord.py would fire them as fast as the
    twin answers and collect global 429s by the dozen in the first second; paced, it stays under the limit."""
    result = await fanout.run(100, concurrency=32, round_trip=0.0)
    assert (result.first.dms, result.known.dms) == (100, 100)
    assert result.first.refused + result.known.refused <= 5
