"""twin.openapi: requests discord.py 2.7.1 really sends pass; wrong ones fail naming the field."""

from __future__ import annotations

import json
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.http import handle_message_parameters

from twin.openapi import ApiSpec, default_spec


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    return default_spec()


class _ResumeView(discord.ui.View):
    @discord.ui.button(label="Resume", custom_id="resume", style=discord.ButtonStyle.primary)
    async def resume(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None: ...


def _payload(**kwargs: Any) -> Any:
    params = handle_message_parameters(**kwargs)
    if params.payload is not None:
        return params.payload
    return json.loads(params.multipart[0]["value"])  # payload_json part of a multipart request


def _message_body(**extra: Any) -> Any:
    embed = discord.Embed(title="t", description="d", color=0x123456).add_field(name="a", value="b")
    return _payload(content="hi", embed=embed, view=_ResumeView(timeout=None), **extra)


def test_discordpy_message_body_passes(spec: ApiSpec) -> None:
    assert spec.check("POST", "/channels/123/messages", _message_body()) == []


def test_discordpy_reply_with_file_and_int_snowflakes_passes(spec: ApiSpec) -> None:
    body = _message_body(
        allowed_mentions=discord.AllowedMentions(users=[discord.Object(5)]),
        message_reference=discord.MessageReference(message_id=7, channel_id=8).to_dict(),
        file=discord.File(__file__),
    )
    assert body["attachments"][0]["id"] == 0 and body["message_reference"]["message_id"] == 7
    assert spec.check("POST", "/channels/123/messages", body) == []


def test_snowflake_leniency_is_only_for_non_negative_integers(spec: ApiSpec) -> None:
    for bad in (-1, 1.5, "abc", True):
        problems = spec.check("POST", "/channels/1/messages", {"message_reference": {"message_id": bad}})
        assert problems and "body.message_reference.message_id" in problems[0], bad


def test_interaction_callback_ephemeral_with_components_passes(spec: ApiSpec) -> None:
    data = _payload(content="Saved.", view=_ResumeView(timeout=None), flags=discord.MessageFlags(ephemeral=True))
    assert data["flags"] == 64
    body = {"type": 4, "data": data}
    path = "/interactions/1/aW50ZXJhY3Rpb24tdG9rZW4/callback"
    assert spec.route_template("POST", path) == "/interactions/{interaction_id}/{interaction_token}/callback"
    assert spec.check("POST", path, body) == []


def test_private_thread_creation_passes_and_bad_type_names_field(spec: ApiSpec) -> None:
    body = {"name": "help-1-resume", "type": 12, "invitable": False, "auto_archive_duration": 10080}
    assert spec.check("POST", "/channels/9/threads", body) == []
    problems = spec.check("POST", "/channels/9/threads", dict(body, type="twelve"))
    assert len(problems) == 1
    assert problems[0].startswith("POST /channels/{channel_id}/threads: body.type: 'twelve'")


def _tree() -> app_commands.CommandTree[discord.Client]:
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(
        discord.Client(intents=discord.Intents.none())
    )

    @tree.command(name="remind", description="Set a reminder")
    @app_commands.describe(unit="Time unit", channel="Where to post")
    @app_commands.choices(
        unit=[app_commands.Choice(name="minutes", value="m"), app_commands.Choice(name="hours", value="h")]
    )
    async def remind(
        interaction: discord.Interaction,
        amount: app_commands.Range[int, 1, 1000],
        unit: str,
        channel: discord.TextChannel,
    ) -> None: ...

    admin = app_commands.Group(
        name="admin", description="Admin tools", default_permissions=discord.Permissions(manage_guild=True)
    )
    roles = app_commands.Group(name="roles", description="Role tools", parent=admin)

    @roles.command(name="grant", description="Grant a role")
    async def grant(
        interaction: discord.Interaction, role: discord.Role, member: discord.Member | None = None
    ) -> None: ...

    tree.add_command(admin)
    return tree


def test_bulk_overwrite_from_real_command_tree_passes(spec: ApiSpec) -> None:
    tree = _tree()
    body = [cmd.to_dict(tree) for cmd in tree.get_commands()]
    admin = next(c for c in body if c["name"] == "admin")
    assert admin["options"][0]["type"] == 2  # subcommand group
    assert spec.check("PUT", "/applications/1/commands", body) == []
    assert spec.check("PUT", "/applications/1/guilds/2/commands", body) == []


def test_long_embed_title_rejected_naming_field(spec: ApiSpec) -> None:
    body = _payload(content="hi", embed=discord.Embed(title="x" * 300))
    problems = spec.check("POST", "/channels/123/messages", body)
    assert len(problems) == 1
    assert problems[0].startswith("POST /channels/{channel_id}/messages: body.embeds[0].title: ")
    assert "too long" in problems[0] and "300" in problems[0]


def test_unknown_route_and_wrong_method(spec: ApiSpec) -> None:
    assert spec.check("POST", "/foo/bar", None) == ["no route POST /foo/bar in Discord's API spec"]
    assert spec.route_template("POST", "/foo/bar") is None
    problems = spec.check("PUT", "/channels/1/messages", {"content": "x"})
    assert len(problems) == 1 and "PUT" in problems[0] and "/channels/{channel_id}/messages" in problems[0]
    assert spec.route_template("PUT", "/channels/1/messages") is None


def test_body_presence_rules(spec: ApiSpec) -> None:
    assert spec.check("POST", "/channels/1/typing", None) == []
    assert "accepts none" in spec.check("POST", "/channels/1/typing", {})[0]
    assert "requires a body" in spec.check("POST", "/channels/1/messages", None)[0]


def test_literal_segment_beats_param(spec: ApiSpec) -> None:
    assert spec.route_template("POST", "/users/@me/channels") == "/users/@me/channels"
    assert spec.route_template("GET", "/users/@me") == "/users/@me"
    assert spec.route_template("GET", "/users/42") == "/users/{user_id}"
    assert spec.route_template("GET", "/users/@me/guilds") == "/users/@me/guilds"
    assert spec.route_template("GET", "/channels//messages") is None
    assert spec.check("POST", "/users/@me/channels", {"recipient_id": "42"}) == []


def test_original_message_route(spec: ApiSpec) -> None:
    original = "/webhooks/1/tok/messages/@original"
    want = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
    assert spec.route_template("PATCH", original) == want
    assert spec.route_template("DELETE", original) == want
    assert spec.route_template("PATCH", "/webhooks/1/tok/messages/55") == (
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
    )
    assert spec.check("PATCH", original, _payload(content="done", view=_ResumeView(timeout=None))) == []


def test_query_parameters(spec: ApiSpec) -> None:
    assert spec.check("GET", "/channels/1/messages", None, {"limit": "50", "before": "123", "x": "y"}) == []
    problems = spec.check("GET", "/channels/1/messages", None, {"limit": "500", "before": "abc"})
    assert any("limit" in p and "maximum" in p for p in problems)
    assert any("before" in p for p in problems)
    assert spec.check("GET", "/guilds/1", None, {"with_counts": "1"}) == []  # discord.py sends int(bool)
    assert spec.check("GET", "/guilds/1", None, {"with_counts": "maybe"}) != []


def test_error_names_method_template_and_nested_path(spec: ApiSpec) -> None:
    body = {"components": [{"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "x" * 101}]}]}
    problems = spec.check("POST", "/channels/1/messages", body)
    assert len(problems) == 1
    assert problems[0].startswith("POST /channels/{channel_id}/messages: body.components[0].components[0].custom_id: ")


def test_load_honours_env_override(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = {"openapi": "3.1.0", "paths": {"/ping": {"get": {}}}, "components": {"schemas": {}}}
    target = tmp_path / "spec.json"
    target.write_text(json.dumps(doc))
    monkeypatch.setenv("PORCHLIGHT_OPENAPI_SPEC", str(target))
    small = ApiSpec.load()
    assert small.route_template("GET", "/ping") == "/ping"
    assert default_spec() is default_spec()
