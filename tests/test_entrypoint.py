"""The entry point: start-up refusals, the invite URL, intents and settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import discord
import pytest

from bot import PERMISSIONS, invite_url, porchlight_intents
from settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_without_a_token_the_bot_exits_2_and_says_how_to_get_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORCHLIGHT_")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "PORCHLIGHT_TOKEN" in result.stderr
    assert "make demo" in result.stderr
    assert "developers/applications" in result.stderr


def test_invite_url_asks_for_exactly_the_documented_permissions_and_scopes() -> None:
    query = parse_qs(urlparse(invite_url(1234)).query)
    assert query["client_id"] == ["1234"]
    assert sorted(query["scope"][0].split()) == ["applications.commands", "bot"]
    granted = discord.Permissions(int(query["permissions"][0]))
    expected = {
        "view_channel",
        "send_messages",
        "send_messages_in_threads",
        "create_private_threads",
        "manage_threads",
        "read_message_history",
        "embed_links",
        "manage_roles",
        "manage_channels",
    }
    assert all(getattr(granted, name) for name in expected)
    assert bin(granted.value).count("1") == len(expected)  # nothing beyond the documented set
    assert granted == PERMISSIONS


def test_intents_include_nothing_privileged() -> None:
    intents = porchlight_intents()
    assert not intents.members
    assert not intents.presences
    assert not intents.message_content
    assert intents.guilds and intents.guild_messages
    assert intents.dm_messages  # anonymous askers answer helpers by DM; not privileged


def test_settings_read_prefixed_environment_and_keep_the_token_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORCHLIGHT_TOKEN", "not-a-real-token")
    monkeypatch.setenv("PORCHLIGHT_DEV_GUILD_ID", "42")
    monkeypatch.setenv("PORCHLIGHT_DATABASE_PATH", "/tmp/x.db")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.dev_guild_id == 42
    assert settings.database_path == Path("/tmp/x.db")
    assert settings.token is not None and settings.token.get_secret_value() == "not-a-real-token"
    assert "not-a-real-token" not in repr(settings)


def test_empty_optional_settings_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORCHLIGHT_DEV_GUILD_ID", "")
    monkeypatch.setenv("PORCHLIGHT_TOKEN", "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.dev_guild_id is None
    assert settings.token is None


def test_env_example_lists_every_setting() -> None:
    example = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"PORCHLIGHT_{name.upper()}=" in example, name


def test_encryption_key_is_created_once_beside_the_database_and_private(tmp_path: Path) -> None:
    from services.contact import PhoneVault
    from services.wiring import encryption_key

    settings = Settings(_env_file=None, database_path=tmp_path / "p.db")  # type: ignore[call-arg]
    first = encryption_key(settings)
    assert encryption_key(settings) == first  # reused on the next start
    key_file = tmp_path / "p.db.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    vault = PhoneVault(first)
    assert vault.decrypt(vault.encrypt("+14155550123")) == "+14155550123"


def test_encryption_key_from_settings_wins_over_the_key_file(tmp_path: Path) -> None:
    from services.contact import PhoneVault
    from services.wiring import encryption_key

    key = PhoneVault.generate_key()
    settings = Settings(_env_file=None, database_path=tmp_path / "p.db", encryption_key=key.decode())  # type: ignore[call-arg]
    assert encryption_key(settings) == key
    assert not (tmp_path / "p.db.key").exists()


def test_a_worker_name_with_a_colon_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Claims are recorded as "name:incarnation"; a colon in the name would let one process take another's jobs."""
    from pydantic import ValidationError

    monkeypatch.setenv("PORCHLIGHT_WORKER_NAME", "bot:eu")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]
