"""Input hygiene and the pure permission check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.permissions import (
    BOARD_NEEDS,
    CREATE_PRIVATE_THREADS,
    HELP_NEEDS,
    ChannelState,
    RoleState,
    ServerSnapshot,
    check_setup,
)
from services.safety import TextTooLong, bounded_text, neutralise_mentions
from storage.guilds import GuildConfig

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def test_mass_mentions_become_plain_text() -> None:
    text = neutralise_mentions("@everyone @here <@&123> <@456> <@!789> mail@example.com")
    assert "@everyone" not in text and "@here" not in text
    assert "<@&123>" not in text and "<@456>" not in text and "<@!789>" not in text
    assert "mail@example.com" in text


def test_bounded_text_trims_limits_and_empties() -> None:
    assert bounded_text("  hi  ", limit=5, field="note") == "hi"
    assert bounded_text("   ", limit=5, field="note") is None
    with pytest.raises(TextTooLong, match="to 5 characters \\(it's 6\\)"):
        bounded_text("toolong"[:6], limit=5, field="note")


def _config() -> GuildConfig:
    return GuildConfig(1, 10, 11, 12, 20, 21, None, {}, NOW, NOW)


def _all(bits: tuple[int, ...]) -> int:
    value = 0
    for bit in bits:
        value |= bit
    return value


def test_check_lists_each_missing_permission_with_its_channel() -> None:
    snapshot = ServerSnapshot(
        bot_name="Porchlight",
        bot_guild_permissions=0,
        bot_top_position=5,
        channels={
            10: ChannelState("help", _all(HELP_NEEDS) & ~CREATE_PRIVATE_THREADS, False),
            11: ChannelState("queue", _all(BOARD_NEEDS), True),
            12: ChannelState("roster", _all(BOARD_NEEDS), False),
        },
        roles={20: RoleState("Helpers", 1), 21: RoleState("Mentors", 9)},
    )
    texts = [f.text for f in check_setup(_config(), snapshot).findings]
    assert "Give Porchlight Create Private Threads in #help." in texts
    assert any(t.startswith("Everyone can see #queue") for t in texts)
    assert any(t.startswith("Move Porchlight's role above @Mentors") for t in texts)
