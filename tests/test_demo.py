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
    assert out.count(": nothing") == 7  # every member but alice sees nothing of her check-ins
    assert "Done in" in out
