"""The twin's application commands: global and per-guild, listed, created, overwritten in bulk (what discord.py's
``tree.sync()`` does), edited and deleted, with Discord's name rule; and their permissions (none set)."""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web

from twin import limits
from twin.http import (
    BODY,
    ApiError,
    Handler,
    app_of,
    body_of,
    guild_of,
    json_response,
    missing_access,
    no_content,
    snowflake,
    twin_of,
)
from twin.server import Twin
from twin.state import Application, Command

log = logging.getLogger(__name__)

_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


def _commands_scope(request: web.Request) -> tuple[Application, int | None]:
    app = app_of(request)
    if snowflake(request, "application_id") != app.id:
        raise missing_access()
    guild_id = None
    if "guild_id" in request.match_info:
        guild_id = guild_of(request).id
    return app, guild_id


def _validate_command(data: dict[str, Any]) -> None:
    errors = limits.command_problems(data)
    if errors:
        raise ApiError(400, 50035, "Invalid Form Body", {"_errors": errors})
    if not _COMMAND_NAME.match(str(data.get("name", ""))):
        raise ApiError(400, 50035, "Invalid Form Body", {"name": "invalid command name"})


def _upsert_command(twin: Twin, app: Application, guild_id: int | None, data: dict[str, Any]) -> Command:
    _validate_command(data)
    kind = int(data.get("type", 1))
    for command in app.command_list(guild_id):
        if command.name == data["name"] and command.type == kind:
            command.data, command.version = dict(data), command.version + 1
            return command
    command = Command(twin.state.ids.next(), app.id, dict(data), guild_id)
    app.commands[command.id] = command
    return command


async def list_commands(request: web.Request) -> web.Response:
    app, guild_id = _commands_scope(request)
    return json_response([c.payload() for c in app.command_list(guild_id)])


async def put_commands(request: web.Request) -> web.Response:
    twin = twin_of(request)
    app, guild_id = _commands_scope(request)
    body = request[BODY] if isinstance(request[BODY], list) else []
    if len(body) > 100:
        raise ApiError(400, 50035, "Invalid Form Body", {"_errors": "at most 100 commands"})
    for item in body:
        _validate_command(item)
    for command in app.command_list(guild_id):
        del app.commands[command.id]
    created = [_upsert_command(twin, app, guild_id, item) for item in body]
    log.info("application %s registered %d commands (guild %s)", app.id, len(created), guild_id)
    return json_response([c.payload() for c in created])


async def post_command(request: web.Request) -> web.Response:
    app, guild_id = _commands_scope(request)
    command = _upsert_command(twin_of(request), app, guild_id, body_of(request))
    return json_response(command.payload(), 201)


def _command(request: web.Request) -> tuple[Application, Command]:
    app, guild_id = _commands_scope(request)
    command = app.commands.get(snowflake(request, "command_id"))
    if command is None or command.guild_id != guild_id:
        raise ApiError(404, 10063, "Unknown application command")
    return app, command


async def get_command(request: web.Request) -> web.Response:
    return json_response(_command(request)[1].payload())


async def patch_command(request: web.Request) -> web.Response:
    _, command = _command(request)
    data = {**command.data, **body_of(request)}
    _validate_command(data)
    command.data, command.version = data, command.version + 1
    return json_response(command.payload())


async def delete_command(request: web.Request) -> web.Response:
    app, command = _command(request)
    del app.commands[command.id]
    return no_content()


async def list_command_permissions(request: web.Request) -> web.Response:
    """The server admins' overrides of who may use the app's commands (Server Settings > Integrations), as
    guild application command permissions objects: type 1 a role (the guild id is @everyone), 2 a member."""
    twin = twin_of(request)
    app, guild_id = _commands_scope(request)
    assert guild_id is not None
    guild = twin.state.guilds[guild_id]
    entries = []
    for (where, command_id), table in twin.state.command_overrides.items():
        if where != guild_id or command_id not in app.commands or not table:
            continue
        permissions = [
            {"id": str(target), "type": 1 if target in guild.roles else 2, "permission": allowed}
            for target, allowed in table.items()
        ]
        ids = {"id": str(command_id), "application_id": str(app.id), "guild_id": str(guild_id)}
        entries.append({**ids, "permissions": permissions})
    return json_response(entries)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/applications/{application_id}/commands", list_commands),
    ("PUT", "/applications/{application_id}/commands", put_commands),
    ("POST", "/applications/{application_id}/commands", post_command),
    ("GET", "/applications/{application_id}/commands/{command_id}", get_command),
    ("PATCH", "/applications/{application_id}/commands/{command_id}", patch_command),
    ("DELETE", "/applications/{application_id}/commands/{command_id}", delete_command),
    ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", list_commands),
    ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", put_commands),
    ("POST", "/applications/{application_id}/guilds/{guild_id}/commands", post_command),
    # Before the {command_id} routes, which would otherwise take "permissions" for a command id.
    ("GET", "/applications/{application_id}/guilds/{guild_id}/commands/permissions", list_command_permissions),
    ("GET", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}", get_command),
    ("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}", patch_command),
    ("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}", delete_command),
]
