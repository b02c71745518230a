"""Porchlight paces its REST requests under Discord's global limit instead of running into it.

The pacer is pure arithmetic over given instants (tested without sleeping); the end-to-end test sends a burst of
reminder DMs through a twin that enforces Discord's limits and counts the global 429s it had to answer (a count, not
a time).
"""

from __future__ import annotations

import discord.http
import pytest

from bench import fanout
from cogs._pacing import GlobalPacer, is_exempt


def test_a_few_requests_start_at_once_then_the_rest_one_interval_apart_in_order() -> None:
    pacer = GlobalPacer(50, burst=3)  # sustained 47 a second
    waits = [pacer.reserve(now=10.0) for _ in range(6)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 1 / 47, 2 / 47, 3 / 47])


def test_no_one_second_span_holds_more_starts_than_the_limit() -> None:
    pacer = GlobalPacer(50, burst=3)
    starts = [10.0 + pacer.reserve(now=10.0) for _ in range(500)]  # a long burst, all made at once
    assert max(sum(1 for s in starts if a <= s <= a + 1.0) for a in starts) == 50


def test_requests_in_a_row_at_a_real_round_trip_never_wait() -> None:
    """An interaction's requests one after another (an /ask: thread, member, post, card) at Discord's ~25 ms or more
    round trip start at once; so do the first three of a quicker series."""
    pacer = GlobalPacer(50, burst=3)
    assert [pacer.reserve(now=0.025 * i) for i in range(8)] == [0.0] * 8
    quick = GlobalPacer(50, burst=3)
    assert [quick.reserve(now=0.002 * i) for i in range(3)] == [0.0] * 3


def test_idle_time_is_not_saved_up_beyond_the_burst() -> None:
    pacer = GlobalPacer(50, burst=3)
    pacer.reserve(now=0.0)
    later = [pacer.reserve(now=60.0) for _ in range(4)]  # a minute of quiet buys the burst again, no more
    assert later == pytest.approx([0.0, 0.0, 0.0, 1 / 47])


def test_the_limit_must_exceed_the_burst() -> None:
    with pytest.raises(ValueError):
        GlobalPacer(3, burst=3)


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
