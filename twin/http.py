"""What the twin's REST handlers share: Discord's error shape and JSON responses, the per-request keys the middleware
fills, and reading a request's path (the channel, guild or message it names, checked as Discord checks them)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from twin.server import Twin
from twin.state import Application, Attachment, Channel, Guild, Message

API = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
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


# ---------------------------------------------------------------------- reading a request


def twin_of(request: web.Request) -> Twin:
    twin: Twin = request.app[TWIN]
    return twin


def app_of(request: web.Request) -> Application:
    app: Application = request[APP]
    return app


def body_of(request: web.Request) -> dict[str, Any]:
    body = request[BODY]
    return body if isinstance(body, dict) else {}


def snowflake(request: web.Request, key: str) -> int:
    raw = request.match_info[key]
    if not raw.isdigit():
        raise ApiError(404, 0, "404: Not Found")
    return int(raw)


def channel_of(request: web.Request, key: str = "channel_id") -> Channel:
    """The channel in the path, which the bot must be able to see."""
    twin = twin_of(request)
    channel = twin.state.channel(snowflake(request, key))
    if channel is None:
        raise unknown_channel()
    if not twin.state.can_view(app_of(request).bot.id, channel):
        raise missing_access()
    return channel


def perms_in(request: web.Request, channel: Channel) -> int:
    return twin_of(request).state.permissions(app_of(request).bot.id, channel)


def require(perms: int, needed: int) -> None:
    if perms & needed != needed:
        raise missing_permissions()


def guild_of(request: web.Request) -> Guild:
    twin = twin_of(request)
    guild = twin.state.guilds.get(snowflake(request, "guild_id"))
    if guild is None:
        raise ApiError(404, 10004, "Unknown Guild")
    if app_of(request).bot.id not in guild.members:
        raise missing_access()
    return guild


def message_in(twin: Twin, channel: Channel, message_id: int) -> Message:
    message = twin.state.messages.get(message_id)
    if message is None or message.deleted or message.channel_id != channel.id or message.ephemeral_for:
        raise unknown_message()
    return message


def thread_payload(thread: Channel, bot_id: int) -> dict[str, Any]:
    data = thread.payload()
    if bot_id in thread.members:
        data["member"] = thread.members[bot_id].payload(thread.id)
    return data
