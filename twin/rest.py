"""The twin's REST API under /api/v10, with Discord's permission checks, limits and error codes.

Every request passes one middleware that logs it, applies injected faults, parses JSON or multipart bodies,
checks it against Discord's OpenAPI description and rejects routes the twin does not model (recording a
violation), and authenticates the bot token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from twin import limits
from twin import state as s
from twin.faults import AFTER, BEFORE, SERVER_ERRORS, Handled
from twin.server import Twin
from twin.state import Application, Attachment, Channel, Command, Guild, Message, Overwrite

log = logging.getLogger(__name__)

API = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_NO_AUTH = ("/interactions/", "/webhooks/")
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
TWIN: web.AppKey[Twin] = web.AppKey("twin", Twin)
# Per-request storage: the decoded body, its file parts, and the authenticated application.
BODY: web.RequestKey[Any] = web.RequestKey("body", object)
FILES: web.RequestKey[list[Attachment]] = web.RequestKey("files", list)
APP: web.RequestKey[Application] = web.RequestKey("app", Application)
SPEC_CHECK: web.AppKey[Callable[[str, str, object | None, dict[str, str]], list[str]]] = web.AppKey("spec_check")


class ApiError(Exception):
    """An error answered in Discord's shape ``{"code": ..., "message": ...}``."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors


def unknown_channel() -> ApiError:
    return ApiError(404, 10003, "Unknown Channel")


def unknown_message() -> ApiError:
    return ApiError(404, 10008, "Unknown Message")


def missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def thread_archived() -> ApiError:
    return ApiError(400, 50083, "Thread is archived")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json`` (discord.py compares it whole)."""
    response = web.Response(status=status, body=json.dumps(data).encode(), headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response


def error_response(error: ApiError) -> web.Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.errors is not None:
        body["errors"] = error.errors
    return json_response(body, error.status)


def no_content() -> web.Response:
    return web.Response(status=204)


# ---------------------------------------------------------------------- middleware


def _spec_checker() -> Callable[[str, str, object | None, dict[str, str]], list[str]]:
    from twin import openapi

    spec = openapi.default_spec() if hasattr(openapi, "default_spec") else openapi.ApiSpec.load()

    def check(method: str, path: str, body: object | None, query: dict[str, str]) -> list[str]:
        return spec.check(method, path, body, query)

    return check


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    twin: Twin = request.app[TWIN]
    if not request.path.startswith(API + "/"):
        return await handler(request)
    started = time.monotonic()
    path = request.path[len(API) :]
    resource = request.match_info.route.resource
    modelled = request.match_info.http_exception is None and resource is not None
    template = resource.canonical[len(API) :] if modelled and resource is not None else path
    response: web.StreamResponse | None = None
    try:
        if twin.latency:
            await asyncio.sleep(twin.latency / 2)  # the request's way there ...
        response = await _process(request, handler, twin, path, template, modelled)
        if twin.latency:
            await asyncio.sleep(twin.latency / 2)  # ... and the response's way back
        return response
    finally:
        status = response.status if response is not None else 500
        twin.record(_record(request.method, template, status, path, time.monotonic() - started))


def _record(method: str, template: str, status: int, path: str, seconds: float) -> Any:
    from twin.server import RequestRecord

    return RequestRecord(method, template, status, path, seconds)


async def _process(
    request: web.Request, handler: Handler, twin: Twin, path: str, template: str, modelled: bool
) -> web.StreamResponse:
    injected = await _apply_faults(request, twin, template, path)
    if injected is not None:
        return injected
    try:
        body, files = await _read_body(request)
    except ApiError as error:
        twin.violation(f"{request.method} {template}: {error.message}")
        return error_response(error)
    request[BODY], request[FILES] = body, files
    problems = request.app[SPEC_CHECK](request.method, path, body, dict(request.query))
    if not modelled:
        twin.violation(f"{request.method} {path}: route not modelled by the twin ({'; '.join(problems)})")
        return json_response({"message": "404: Not Found", "code": 0}, 404)
    if problems:
        twin.violation(f"{request.method} {template}: rejected by Discord's OpenAPI spec: {'; '.join(problems)}")
        return error_response(ApiError(400, 50035, "Invalid Form Body", {"_spec": problems}))
    token = None
    if not path.startswith(_NO_AUTH):
        app = _authenticate(request, twin)
        if app is None:
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        request[APP], token = app, app.token
    if twin.limiter is None:
        return await _handle(request, handler, twin, template, path)
    decision = twin.limiter.decide(request.method, template, path, request.match_info, token)
    if not decision.allowed:
        log.info("%s %s -> 429 (global=%s)", request.method, template, decision.is_global)
        return rate_limited(decision.retry_after, is_global=decision.is_global, bucket_headers=decision.headers)
    response = await _handle(request, handler, twin, template, path)
    response.headers.update(decision.headers)
    return response


async def _handle(request: web.Request, handler: Handler, twin: Twin, template: str, path: str) -> web.StreamResponse:
    try:
        response = await handler(request)
    except ApiError as error:
        log.info("%s %s -> %s %s", request.method, template, error.status, error.code)
        return error_response(error)
    if 200 <= response.status < 300:
        return await _apply_after_faults(request, twin, template, path, response)
    return response


async def _apply_faults(request: web.Request, twin: Twin, template: str, path: str) -> web.Response | None:
    for fault in twin.faults.take(request.method, template, path, BEFORE):
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        elif fault.kind == "429":
            log.info("%s %s -> injected 429 (global=%s)", request.method, template, fault.is_global)
            return rate_limited(fault.retry_after, is_global=fault.is_global)
        elif fault.kind == "5xx":
            log.info("%s %s -> injected %s before the work", request.method, template, fault.status)
            return server_error(fault.status)
    return None


async def _apply_after_faults(
    request: web.Request, twin: Twin, template: str, path: str, response: web.StreamResponse
) -> web.StreamResponse:
    """The work is done: run ``on_done`` hooks, then answer an injected 5xx instead of the result if one applies."""
    faults = twin.faults.take(request.method, template, path, AFTER)
    if not faults:
        return response
    data: Any = None
    if isinstance(response, web.Response) and isinstance(response.body, bytes) and response.body:
        data = json.loads(response.body)
    handled = Handled(request.method, template, path, response.status, data)
    for fault in faults:
        if fault.callback is not None:
            await fault.callback(handled)
    failing = next((f for f in faults if f.kind == "5xx-after"), None)
    if failing is None:
        return response
    log.info("%s %s -> injected %s after the work", request.method, template, failing.status)
    return server_error(failing.status)


def server_error(status: int) -> web.Response:
    """A 5xx in Discord's error shape."""
    return json_response({"message": f"{status}: {SERVER_ERRORS[status]}", "code": 0}, status)


def rate_limited(
    retry_after: float, *, is_global: bool = False, bucket_headers: dict[str, str] | None = None
) -> web.Response:
    """A 429 as Discord sends it: ``Via`` (without it discord.py assumes a Cloudflare ban), ``retry_after`` and
    ``global`` in the body; a per-route one with the whole bucket header set and scope ``user``, a global one with
    ``X-RateLimit-Global: true`` and scope ``global`` and no bucket headers (a partial set would break discord.py).
    """
    headers = {"Via": "1.1 google", "Retry-After": str(max(1, math.ceil(retry_after)))}
    if is_global:
        headers.update({"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"})
    else:
        headers.update(bucket_headers or _injected_bucket(retry_after))
        headers["X-RateLimit-Scope"] = "user"
    # Rounded up: a client that sleeps exactly retry_after must not come back a moment early.
    body = {"message": "You are being rate limited.", "retry_after": _up(retry_after), "global": is_global}
    return json_response(body, 429, headers)


def _up(seconds: float) -> float:
    return math.ceil(round(seconds * 1000, 6)) / 1000


def _injected_bucket(retry_after: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Bucket": "twin-injected",
    }


async def _read_body(request: web.Request) -> tuple[Any, list[Attachment]]:
    if not request.can_read_body:
        return None, []
    if request.content_type.startswith("multipart/"):
        return await _read_multipart(request)
    raw = await request.read()
    if not raw:
        return None, []
    try:
        return json.loads(raw), []
    except ValueError as exc:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from exc


async def _read_multipart(request: web.Request) -> tuple[Any, list[Attachment]]:
    twin: Twin = request.app[TWIN]
    reader = await request.multipart()
    payload: Any = None
    files: list[tuple[int, Attachment]] = []
    while True:
        part = await reader.next()
        if part is None:
            break
        name = getattr(part, "name", None) or ""
        data = await part.read()  # type: ignore[union-attr]
        if name == "payload_json":
            payload = json.loads(data)
        elif name.startswith("files["):
            index = int(name[len("files[") : -1])
            content_type = part.headers.get("Content-Type")  # type: ignore[union-attr]
            filename = getattr(part, "filename", None) or f"file{index}"
            attachment = Attachment(twin.state.ids.next(), filename, bytes(data), content_type)
            files.append((index, attachment))
    described = {int(a["id"]): a for a in (payload or {}).get("attachments", []) if isinstance(a, dict)}
    for index, attachment in files:
        meta = described.get(index, {})
        attachment.description = meta.get("description")
        attachment.filename = meta.get("filename") or attachment.filename
    return payload, [a for _, a in sorted(files, key=lambda f: f[0])]


def _authenticate(request: web.Request, twin: Twin) -> Application | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bot "):
        return None
    return twin.state.app_by_token(header[len("Bot ") :])


# ---------------------------------------------------------------------- helpers


def _twin(request: web.Request) -> Twin:
    twin: Twin = request.app[TWIN]
    return twin


def _app(request: web.Request) -> Application:
    app: Application = request[APP]
    return app


def _body(request: web.Request) -> dict[str, Any]:
    body = request[BODY]
    return body if isinstance(body, dict) else {}


def _snowflake(request: web.Request, key: str) -> int:
    raw = request.match_info[key]
    if not raw.isdigit():
        raise ApiError(404, 0, "404: Not Found")
    return int(raw)


def _channel(request: web.Request, key: str = "channel_id") -> Channel:
    """The channel in the path, which the bot must be able to see."""
    twin = _twin(request)
    channel = twin.state.channel(_snowflake(request, key))
    if channel is None:
        raise unknown_channel()
    if not twin.state.can_view(_app(request).bot.id, channel):
        raise missing_access()
    return channel


def _perms(request: web.Request, channel: Channel) -> int:
    return _twin(request).state.permissions(_app(request).bot.id, channel)


def _require(perms: int, needed: int) -> None:
    if perms & needed != needed:
        raise missing_permissions()


def _guild(request: web.Request) -> Guild:
    twin = _twin(request)
    guild = twin.state.guilds.get(_snowflake(request, "guild_id"))
    if guild is None:
        raise ApiError(404, 10004, "Unknown Guild")
    if _app(request).bot.id not in guild.members:
        raise missing_access()
    return guild


def _message(twin: Twin, channel: Channel, message_id: int) -> Message:
    message = twin.state.messages.get(message_id)
    if message is None or message.deleted or message.channel_id != channel.id or message.ephemeral_for:
        raise unknown_message()
    return message


def _thread_payload(thread: Channel, bot_id: int) -> dict[str, Any]:
    data = thread.payload()
    if bot_id in thread.members:
        data["member"] = thread.members[bot_id].payload(thread.id)
    return data


# ---------------------------------------------------------------------- users, gateway, application


async def get_me(request: web.Request) -> web.Response:
    app = _app(request)
    return json_response({**app.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0})


async def get_user(request: web.Request) -> web.Response:
    user = _twin(request).state.users.get(_snowflake(request, "user_id"))
    if user is None:
        raise ApiError(404, 10013, "Unknown User")
    return json_response(user.payload())


async def get_application(request: web.Request) -> web.Response:
    return json_response(_app(request).payload())


async def get_gateway(request: web.Request) -> web.Response:
    return json_response({"url": _twin(request).gateway_url})


async def get_gateway_bot(request: web.Request) -> web.Response:
    """The gateway URL, the recommended shard count and the session start limit, as Discord answers it."""
    twin, app = _twin(request), _app(request)
    return json_response(
        {
            "url": twin.gateway_url,
            "shards": twin.gateway.recommended_shards(app),
            "session_start_limit": twin.gateway.session_start_limit(app),
        }
    )


async def create_dm(request: web.Request) -> web.Response:
    twin, app = _twin(request), _app(request)
    raw = str(_body(request).get("recipient_id", ""))
    user = twin.state.users.get(int(raw)) if raw.isdigit() else None
    if user is None:
        raise ApiError(400, 50035, "Invalid Form Body", {"recipient_id": "unknown user"})
    channel = twin.state.dm_channel(app.bot, user)
    return json_response(channel.payload())


# ---------------------------------------------------------------------- application commands


def _commands_scope(request: web.Request) -> tuple[Application, int | None]:
    app = _app(request)
    if _snowflake(request, "application_id") != app.id:
        raise missing_access()
    guild_id = None
    if "guild_id" in request.match_info:
        guild_id = _guild(request).id
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
    twin = _twin(request)
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
    command = _upsert_command(_twin(request), app, guild_id, _body(request))
    return json_response(command.payload(), 201)


def _command(request: web.Request) -> tuple[Application, Command]:
    app, guild_id = _commands_scope(request)
    command = app.commands.get(_snowflake(request, "command_id"))
    if command is None or command.guild_id != guild_id:
        raise ApiError(404, 10063, "Unknown application command")
    return app, command


async def get_command(request: web.Request) -> web.Response:
    return json_response(_command(request)[1].payload())


async def patch_command(request: web.Request) -> web.Response:
    _, command = _command(request)
    data = {**command.data, **_body(request)}
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
    twin = _twin(request)
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


# ---------------------------------------------------------------------- guilds


async def get_guild(request: web.Request) -> web.Response:
    guild = _guild(request)
    data = guild.payload()
    if request.query.get("with_counts") in ("true", "1", "True"):
        data.update(approximate_member_count=len(guild.members), approximate_presence_count=0)
    return json_response(data)


async def get_guild_member(request: web.Request) -> web.Response:
    guild = _guild(request)
    member = guild.members.get(_snowflake(request, "user_id"))
    if member is None:
        raise ApiError(404, 10007, "Unknown Member")
    return json_response(member.payload())


async def get_guild_roles(request: web.Request) -> web.Response:
    return json_response([r.payload() for r in _guild(request).roles.values()])


async def get_guild_channels(request: web.Request) -> web.Response:
    return json_response([c.payload() for c in _guild(request).text_channels()])


async def create_guild_channel(request: web.Request) -> web.Response:
    twin, app, guild = _twin(request), _app(request), _guild(request)
    _require(twin.state.guild_permissions(guild, app.bot.id), s.MANAGE_CHANNELS)
    body = _body(request)
    name = str(body.get("name", ""))
    if not 1 <= len(name) <= 100:
        raise ApiError(400, 50035, "Invalid Form Body", {"name": "must be 1-100 characters"})
    kind = int(body.get("type") or s.GUILD_TEXT)
    if kind not in (s.GUILD_TEXT, s.GUILD_VOICE, s.GUILD_CATEGORY):
        raise ApiError(400, 50035, "Invalid Form Body", {"type": "unsupported channel type"})
    parent_id = int(body["parent_id"]) if body.get("parent_id") else None
    overwrites = [_overwrite(o) for o in body.get("permission_overwrites") or []]
    channel = twin.state.create_channel(
        guild, name, kind, parent_id=parent_id, overwrites=overwrites, topic=body.get("topic")
    )
    twin.state.emit("CHANNEL_CREATE", channel.payload(), s.Scope(1, guild.id, channel.id))
    return json_response(channel.payload(), 201)


def _overwrite(raw: dict[str, Any]) -> Overwrite:
    return Overwrite(int(raw["id"]), int(raw["type"]), int(raw.get("allow") or 0), int(raw.get("deny") or 0))


async def _change_member_role(request: web.Request, add: bool) -> web.Response:
    twin, app, guild = _twin(request), _app(request), _guild(request)
    member = guild.members.get(_snowflake(request, "user_id"))
    if member is None:
        raise ApiError(404, 10007, "Unknown Member")
    role = guild.roles.get(_snowflake(request, "role_id"))
    if role is None:
        raise ApiError(404, 10011, "Unknown Role")
    _require(twin.state.guild_permissions(guild, app.bot.id), s.MANAGE_ROLES)
    is_owner = guild.owner_id == app.bot.id
    if role.managed or role.id == guild.id:
        raise missing_permissions()
    if not is_owner and role.position >= twin.state.top_role_position(guild, app.bot.id):
        raise missing_permissions()
    if add and role.id not in member.roles:
        member.roles.append(role.id)
    elif not add and role.id in member.roles:
        member.roles.remove(role.id)
    else:
        return no_content()
    twin.emit_member_update(guild, member)
    return no_content()


async def add_member_role(request: web.Request) -> web.Response:
    return await _change_member_role(request, add=True)


async def remove_member_role(request: web.Request) -> web.Response:
    return await _change_member_role(request, add=False)


# ---------------------------------------------------------------------- channels


async def get_channel(request: web.Request) -> web.Response:
    channel = _channel(request)
    return json_response(_thread_payload(channel, _app(request).bot.id) if channel.is_thread else channel.payload())


async def patch_channel(request: web.Request) -> web.Response:
    twin, app = _twin(request), _app(request)
    channel = _channel(request)
    body = _body(request)
    if channel.is_thread:
        _patch_thread(twin, app, channel, body)
        twin.emit_thread_update(channel)
        return json_response(_thread_payload(channel, app.bot.id))
    if channel.type == s.DM:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    _require(_perms(request, channel), s.MANAGE_CHANNELS)
    if "name" in body:
        if not 1 <= len(str(body["name"])) <= 100:
            raise ApiError(400, 50035, "Invalid Form Body", {"name": "must be 1-100 characters"})
        channel.name = str(body["name"])
    if "topic" in body:
        channel.topic = body["topic"]
    if "position" in body and body["position"] is not None:
        channel.position = int(body["position"])
    if "parent_id" in body:
        channel.parent_id = int(body["parent_id"]) if body["parent_id"] else None
    if body.get("permission_overwrites") is not None:
        _require(_perms(request, channel), s.MANAGE_ROLES)
        channel.overwrites = [_overwrite(o) for o in body["permission_overwrites"]]
    twin.state.emit("CHANNEL_UPDATE", channel.payload(), s.Scope(1, channel.guild_id, channel.id))
    return json_response(channel.payload())


def _patch_thread(twin: Twin, app: Application, thread: Channel, body: dict[str, Any]) -> None:
    perms = twin.state.permissions(app.bot.id, thread)
    manage = bool(perms & s.MANAGE_THREADS)
    owner = thread.owner_id == app.bot.id
    if ("locked" in body and bool(body["locked"]) != thread.locked) and not manage:
        raise missing_permissions()
    if "invitable" in body and bool(body["invitable"]) != thread.invitable and not manage:
        raise missing_permissions()
    if thread.locked and thread.archived and not manage:
        raise thread_archived()
    if not (manage or owner):
        raise missing_permissions()
    if "name" in body:
        name = str(body["name"] or "")
        if not 1 <= len(name) <= 100:
            raise ApiError(400, 50035, "Invalid Form Body", {"name": "must be 1-100 characters"})
        thread.name = name
    if "auto_archive_duration" in body:
        duration = int(body["auto_archive_duration"])
        if duration not in (60, 1440, 4320, 10080):
            raise ApiError(400, 50035, "Invalid Form Body", {"auto_archive_duration": "invalid"})
        thread.auto_archive_duration = duration
    if "invitable" in body and thread.type == s.PRIVATE_THREAD:
        thread.invitable = bool(body["invitable"])
    if "locked" in body:
        thread.locked = bool(body["locked"])
    if "archived" in body and bool(body["archived"]) != thread.archived:
        thread.archived = bool(body["archived"])
        thread.archive_timestamp = s.now()


async def delete_channel(request: web.Request) -> web.Response:
    twin = _twin(request)
    channel = _channel(request)
    if channel.type == s.DM:
        return json_response(channel.payload())
    guild = twin.state.guilds[channel.guild_id or 0]
    perms = _perms(request, channel)
    _require(perms, s.MANAGE_THREADS if channel.is_thread else s.MANAGE_CHANNELS)
    removed = [channel] + [c for c in guild.threads() if c.parent_id == channel.id]
    for gone in removed:
        guild.channels.pop(gone.id, None)
        if gone.is_thread:
            data = {
                "id": str(gone.id),
                "guild_id": str(guild.id),
                "parent_id": str(gone.parent_id),
                "type": gone.type,
            }
            twin.state.emit("THREAD_DELETE", data, s.Scope(1, guild.id))
        else:
            twin.state.emit("CHANNEL_DELETE", gone.payload(), s.Scope(1, guild.id))
    return json_response(channel.payload())


# ---------------------------------------------------------------------- messages


def _check_message(body: dict[str, Any], files: list[Attachment], *, require_content: bool = True) -> None:
    errors = limits.message_problems(body)
    if errors:
        raise ApiError(400, 50035, "Invalid Form Body", {"_errors": errors})
    empty = not (body.get("content") or body.get("embeds") or body.get("components") or files)
    if require_content and empty and not body.get("sticker_ids") and not body.get("poll"):
        raise ApiError(400, 50006, "Cannot send an empty message")


async def post_message(request: web.Request) -> web.Response:
    twin, app = _twin(request), _app(request)
    channel = _channel(request)
    body, files = _body(request), request[FILES]
    perms = _perms(request, channel)
    if channel.type == s.DM:
        other = next((u for u in channel.recipients if u.id != app.bot.id), None)
        if other is None or not twin.state.can_dm(app.bot, other):
            raise ApiError(403, 50007, "Cannot send messages to this user")
    elif channel.is_thread:
        _require(perms, s.SEND_MESSAGES_IN_THREADS)
    else:
        _require(perms, s.SEND_MESSAGES)
    if files:
        _require(perms, s.ATTACH_FILES)
    _check_message(body, files)
    repeated = _repeated_nonce(twin, app, body)
    if repeated is not None:
        return json_response(twin.created_message_payload(repeated))
    if channel.is_thread and channel.archived:
        if channel.locked and not perms & s.MANAGE_THREADS:
            raise thread_archived()
        channel.archived = False
        channel.archive_timestamp = s.now()
        twin.emit_thread_update(channel)
    keep_embeds = bool(perms & s.EMBED_LINKS)
    message = twin.post_message(channel, app.bot, body, files, keep_embeds=keep_embeds)
    return json_response(twin.created_message_payload(message))


def _repeated_nonce(twin: Twin, app: Application, body: dict[str, Any]) -> Message | None:
    """With ``enforce_nonce``, the bot's message already created with this nonce in the window (Discord's docs:
    "that message will be returned and no new message will be created"); a deleted one answers 404."""
    nonce = body.get("nonce")
    if nonce is None or not body.get("enforce_nonce"):
        return None
    earlier = twin.state.message_for_nonce(app.bot.id, nonce)
    if earlier is None:
        return None
    if earlier.deleted:
        raise unknown_message()
    log.info("message %s returned again for a repeated nonce", earlier.id)
    return earlier


async def list_messages(request: web.Request) -> web.Response:
    twin = _twin(request)
    channel = _channel(request)
    if not _perms(request, channel) & s.READ_MESSAGE_HISTORY:
        return json_response([])
    try:
        limit = int(request.query.get("limit", "50"))
    except ValueError as exc:
        raise ApiError(400, 50035, "Invalid Form Body", {"limit": "not an integer"}) from exc
    if not 1 <= limit <= 100:
        raise ApiError(400, 50035, "Invalid Form Body", {"limit": "must be 1-100"})
    messages = [m for m in twin.state.channel_messages(channel.id) if m.ephemeral_for is None]
    if "before" in request.query:
        before = int(request.query["before"])
        messages = [m for m in messages if m.id < before][-limit:]
    elif "after" in request.query:
        after = int(request.query["after"])
        messages = [m for m in messages if m.id > after][:limit]
    elif "around" in request.query:
        around = int(request.query["around"])
        index = next((i for i, m in enumerate(messages) if m.id >= around), len(messages))
        start = max(0, index - limit // 2)
        messages = messages[start : start + limit]
    else:
        messages = messages[-limit:]
    return json_response([m.payload(twin.base_url) for m in reversed(messages)])


async def get_message(request: web.Request) -> web.Response:
    twin = _twin(request)
    channel = _channel(request)
    _require(_perms(request, channel), s.READ_MESSAGE_HISTORY)
    message = _message(twin, channel, _snowflake(request, "message_id"))
    return json_response(message.payload(twin.base_url))


async def patch_message(request: web.Request) -> web.Response:
    twin, app = _twin(request), _app(request)
    channel = _channel(request)
    message = _message(twin, channel, _snowflake(request, "message_id"))
    body = _body(request)
    if message.author.id != app.bot.id:
        if set(body) - {"flags"}:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        _require(_perms(request, channel), s.MANAGE_MESSAGES)
    _check_message(body, request[FILES], require_content=False)
    if "embeds" in body and not _perms(request, channel) & s.EMBED_LINKS:
        body = {**body, "embeds": []}
    twin.edit_message(message, body, request[FILES])
    return json_response(message.payload(twin.base_url))


async def delete_message(request: web.Request) -> web.Response:
    twin, app = _twin(request), _app(request)
    channel = _channel(request)
    message = _message(twin, channel, _snowflake(request, "message_id"))
    if message.author.id != app.bot.id:
        _require(_perms(request, channel), s.MANAGE_MESSAGES)
    twin.delete_message(message)
    return no_content()


# ---------------------------------------------------------------------- threads


def _thread_name(body: dict[str, Any]) -> str:
    name = str(body.get("name") or "")
    if not 1 <= len(name) <= 100:
        raise ApiError(400, 50035, "Invalid Form Body", {"name": "must be 1-100 characters"})
    return name


def _archive_duration(body: dict[str, Any]) -> int:
    duration = int(body.get("auto_archive_duration") or 4320)
    if duration not in (60, 1440, 4320, 10080):
        raise ApiError(400, 50035, "Invalid Form Body", {"auto_archive_duration": "invalid"})
    return duration


async def create_thread(request: web.Request) -> web.Response:
    twin, app = _twin(request), _app(request)
    parent = _channel(request)
    if parent.type != s.GUILD_TEXT:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    body = _body(request)
    kind = int(body.get("type") or s.PRIVATE_THREAD)
    if kind not in s.THREAD_TYPES:
        raise ApiError(400, 50035, "Invalid Form Body", {"type": "must be 11 or 12"})
    needed = s.CREATE_PRIVATE_THREADS if kind == s.PRIVATE_THREAD else s.CREATE_PUBLIC_THREADS
    _require(_perms(request, parent), needed)
    thread = twin.state.create_thread(
        parent,
        _thread_name(body),
        type=kind,
        owner_id=app.bot.id,
        invitable=bool(body.get("invitable", True)),
        auto_archive_duration=_archive_duration(body),
    )
    log.info("thread %s (type %s) created under %s", thread.id, kind, parent.id)
    twin.emit_thread_create(thread)
    return json_response(_thread_payload(thread, app.bot.id), 201)


async def create_thread_from_message(request: web.Request) -> web.Response:
    twin, app = _twin(request), _app(request)
    parent = _channel(request)
    if parent.type != s.GUILD_TEXT:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    message = _message(twin, parent, _snowflake(request, "message_id"))
    _require(_perms(request, parent), s.CREATE_PUBLIC_THREADS | s.READ_MESSAGE_HISTORY)
    if twin.state.channel(message.id) is not None:
        raise ApiError(400, 160004, "A thread has already been created for this message")
    body = _body(request)
    thread = twin.state.create_thread(
        parent,
        _thread_name(body),
        type=s.PUBLIC_THREAD,
        owner_id=app.bot.id,
        auto_archive_duration=_archive_duration(body),
        thread_id=message.id,
    )
    twin.emit_thread_create(thread)
    return json_response(_thread_payload(thread, app.bot.id), 201)


def _thread(request: web.Request) -> Channel:
    thread = _channel(request)
    if not thread.is_thread:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    return thread


def _target_user(request: web.Request) -> int:
    raw = request.match_info["user_id"]
    return _app(request).bot.id if raw == "@me" else _snowflake(request, "user_id")


async def add_thread_member(request: web.Request) -> web.Response:
    twin, app = _twin(request), _app(request)
    thread = _thread(request)
    user_id = _target_user(request)
    perms = _perms(request, thread)
    if thread.archived:
        raise thread_archived()
    guild = twin.state.guilds[thread.guild_id or 0]
    if user_id not in guild.members:
        raise ApiError(404, 10007, "Unknown Member")
    if user_id != app.bot.id:
        _require(perms, s.SEND_MESSAGES_IN_THREADS)
        manage = bool(perms & s.MANAGE_THREADS)
        if thread.type == s.PRIVATE_THREAD and not manage:
            if app.bot.id not in thread.members or not thread.invitable:
                raise missing_permissions()
    if user_id in thread.members:
        return no_content()
    thread.members[user_id] = s.ThreadMember(user_id)
    twin.emit_thread_members(thread, added=[user_id])
    return no_content()


async def remove_thread_member(request: web.Request) -> web.Response:
    twin, app = _twin(request), _app(request)
    thread = _thread(request)
    user_id = _target_user(request)
    if thread.archived:
        raise thread_archived()
    if user_id != app.bot.id:
        manage = bool(_perms(request, thread) & s.MANAGE_THREADS)
        if not manage and not (thread.type == s.PRIVATE_THREAD and thread.owner_id == app.bot.id):
            raise missing_permissions()
    if thread.members.pop(user_id, None) is not None:
        twin.emit_thread_members(thread, removed=[user_id])
    return no_content()


async def get_thread_member(request: web.Request) -> web.Response:
    twin = _twin(request)
    thread = _thread(request)
    user_id = _target_user(request)
    member = thread.members.get(user_id)
    if member is None:
        raise ApiError(404, 10007, "Unknown Member")
    data = member.payload(thread.id)
    guild_member = twin.state.member(thread.guild_id, user_id)
    if request.query.get("with_member") in ("true", "1", "True") and guild_member is not None:
        data["member"] = guild_member.payload()
    return json_response(data)


async def list_thread_members(request: web.Request) -> web.Response:
    thread = _thread(request)
    return json_response([m.payload(thread.id) for m in thread.members.values()])


# ---------------------------------------------------------------------- interactions and webhooks


async def attachment_file(request: web.Request) -> web.StreamResponse:
    twin = _twin(request)
    wanted = int(request.match_info["attachment_id"])
    for message in twin.state.messages.values():
        for attachment in message.attachments:
            if attachment.id == wanted:
                return web.Response(body=attachment.data, content_type=attachment.content_type or "text/plain")
    raise web.HTTPNotFound()


def build_app(twin: Twin) -> web.Application:
    """The aiohttp application serving REST, the gateway and attachment downloads."""
    from twin import interactions, threads

    app = web.Application(middlewares=[api_middleware], client_max_size=64 * 1024 * 1024)
    app[TWIN] = twin
    app[SPEC_CHECK] = _spec_checker()
    r = app.router
    r.add_get("/gateway", twin.gateway.handle)
    r.add_get("/attachments/{attachment_id}/{filename}", attachment_file)
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/users/@me", get_me),
        ("POST", "/users/@me/channels", create_dm),
        ("GET", "/users/{user_id}", get_user),
        ("GET", "/oauth2/applications/@me", get_application),
        ("GET", "/gateway", get_gateway),
        ("GET", "/gateway/bot", get_gateway_bot),
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
        ("GET", "/guilds/{guild_id}", get_guild),
        ("GET", "/guilds/{guild_id}/members/{user_id}", get_guild_member),
        ("GET", "/guilds/{guild_id}/roles", get_guild_roles),
        ("GET", "/guilds/{guild_id}/channels", get_guild_channels),
        ("POST", "/guilds/{guild_id}/channels", create_guild_channel),
        ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", add_member_role),
        ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", remove_member_role),
        ("GET", "/channels/{channel_id}", get_channel),
        ("PATCH", "/channels/{channel_id}", patch_channel),
        ("DELETE", "/channels/{channel_id}", delete_channel),
        ("GET", "/channels/{channel_id}/messages", list_messages),
        ("POST", "/channels/{channel_id}/messages", post_message),
        ("GET", "/channels/{channel_id}/messages/{message_id}", get_message),
        ("PATCH", "/channels/{channel_id}/messages/{message_id}", patch_message),
        ("DELETE", "/channels/{channel_id}/messages/{message_id}", delete_message),
        ("POST", "/channels/{channel_id}/threads", create_thread),
        ("POST", "/channels/{channel_id}/messages/{message_id}/threads", create_thread_from_message),
        ("GET", "/channels/{channel_id}/thread-members", list_thread_members),
        ("GET", "/channels/{channel_id}/thread-members/{user_id}", get_thread_member),
        ("PUT", "/channels/{channel_id}/thread-members/{user_id}", add_thread_member),
        ("DELETE", "/channels/{channel_id}/thread-members/{user_id}", remove_thread_member),
        *threads.ROUTES,
        *interactions.ROUTES,
    ]
    for method, path, handler in routes:
        r.add_route(method, API + path, handler)
    return app
