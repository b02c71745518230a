"""`make demo` runs the real bot on the twin, prints its transcript, finds no leak, and exits 0."""

from __future__ import annotations

import pytest

from demo.run import run_demo


async def test_demo_runs_the_scenario_and_shows_no_leak(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_demo() == 0
    out = capsys.readouterr().out
    assert "[ephemeral · only admin sees this] Saved." in out
    assert "[DM to alice]" in out
    assert "LEAK" not in out
    checkin_sweep = out.split("What everyone else can see of alice's check-ins")[1].split("\n── ")[0]
    assert checkin_sweep.count(": nothing") == 7  # every other member sees nothing of her note
    help_sweep = out.split("What everyone else can see of alice's request")[1]
    for bystander in ("bob", "carol", "dave", "hugo"):
        assert f"{bystander}: nothing" in help_sweep
    who = out.split("Who can tell it was bob")[1].split("\n── ")[0]
    assert who.count(": nothing") == 7  # seven members see neither his mention nor his id
    his_words = out.split("Where bob's own words reached")[1].split("\n── ")[0]
    for bystander in ("alice", "carol", "dave", "hana"):
        assert f"{bystander}: nothing" in his_words
    assert "hugo: sees it in private thread #help-2-interviews" in his_words
    assert "[DM to alice] **Your call with @carol is confirmed**" in out
    assert "METHOD:REQUEST, UID booking-1@porchlight" in out
    assert "carol's number is visible to: alice (DM)" in out
    assert "`reopen_days` must be 0 to 30 days; 90 is out of range." in out
    assert "`reopen_days` is now: **7 days → 14 days**" in out
    assert "📎 porchlight-stats.png" in out and "[ephemeral · only maya sees this]" in out
    assert "Done in" in out
