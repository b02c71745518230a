"""The twin's REST API under /api/v10, with Discord's permission checks, limits and error codes: the route
handlers and the application that serves them. Every request first passes ``twin.middleware``; what handlers share
is in ``twin.http``.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from twin import limits
from twin import state as s
from twin.http import (
    API,
    FILES,
    SPEC_CHECK,
    TWIN,
    ApiError,
    Handler,
    app_of,
    body_of,
    channel_of,
    guild_of,
    json_response,
    message_in,
    missing_permissions,
    no_content,
    perms_in,
    require,
    snowflake,
    thread_archived,
    thread_payload,
    twin_of,
    unknown_message,
)
from twin.middleware import api_middleware, spec_checker
from twin.server import Twin
from twin.state import Application, Attachment, Channel, Message, Overwrite

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- users, gateway, application


async def get_me(request: web.Request) -> web.Response:
    app = app_of(request)
    return json_response({**app.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0})


async def get_user(request: web.Request) -> web.Response:
    user = twin_of(request).state.users.get(snowflake(request, "user_id"))
    if user is None:
        raise ApiError(404, 10013, "Unknown User")
    return json_response(user.payload())


async def get_application(request: web.Request) -> web.Response:
    return json_response(app_of(request).payload())


async def get_gateway(request: web.Request) -> web.Response:
    return json_response({"url": twin_of(request).gateway_url})


async def get_gateway_bot(request: web.Request) -> web.Response:
    """The gateway URL, the recommended shard count and the session start limit, as Discord answers it."""
    twin, app = twin_of(request), app_of(request)
    return json_response(
        {
            "url": twin.gateway_url,
            "shards": twin.gateway.recommended_shards(app),
            "session_start_limit": twin.gateway.session_start_limit(app),
        }
    )


async def create_dm(request: web.Request) -> web.Response:
    twin, app = twin_of(request), app_of(request)
    raw = str(body_of(request).get("recipient_id", ""))
    user = twin.state.users.get(int(raw)) if raw.isdigit() else None
    if user is None:
        raise ApiError(400, 50035, "Invalid Form Body", {"recipient_id": "unknown user"})
    channel = twin.state.dm_channel(app.bot, user)
    return json_response(channel.payload())


# ---------------------------------------------------------------------- guilds


async def get_guild(request: web.Request) -> web.Response:
    guild = guild_of(request)
    data = guild.payload()
    if request.query.get("with_counts") in ("true", "1", "True"):
        data.update(approximate_member_count=len(guild.members), approximate_presence_count=0)
    return json_response(data)


async def get_guild_member(request: web.Request) -> web.Response:
    guild = guild_of(request)
    member = guild.members.get(snowflake(request, "user_id"))
    if member is None:
        raise ApiError(404, 10007, "Unknown Member")
    return json_response(member.payload())


async def get_guild_roles(request: web.Request) -> web.Response:
    return json_response([r.payload() for r in guild_of(request).roles.values()])


async def get_guild_channels(request: web.Request) -> web.Response:
    return json_response([c.payload() for c in guild_of(request).text_channels()])


async def create_guild_channel(request: web.Request) -> web.Response:
    twin, app, guild = twin_of(request), app_of(request), guild_of(request)
    require(twin.state.guild_permissions(guild, app.bot.id), s.MANAGE_CHANNELS)
    body = body_of(request)
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
    twin, app, guild = twin_of(request), app_of(request), guild_of(request)
    member = guild.members.get(snowflake(request, "user_id"))
    if member is None:
        raise ApiError(404, 10007, "Unknown Member")
    role = guild.roles.get(snowflake(request, "role_id"))
    if role is None:
        raise ApiError(404, 10011, "Unknown Role")
    require(twin.state.guild_permissions(guild, app.bot.id), s.MANAGE_ROLES)
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
    channel = channel_of(request)
    return json_response(thread_payload(channel, app_of(request).bot.id) if channel.is_thread else channel.payload())


async def patch_channel(request: web.Request) -> web.Response:
    twin, app = twin_of(request), app_of(request)
    channel = channel_of(request)
    body = body_of(request)
    if channel.is_thread:
        _patch_thread(twin, app, channel, body)
        twin.emit_thread_update(channel)
        return json_response(thread_payload(channel, app.bot.id))
    if channel.type == s.DM:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    require(perms_in(request, channel), s.MANAGE_CHANNELS)
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
        require(perms_in(request, channel), s.MANAGE_ROLES)
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
    twin = twin_of(request)
    channel = channel_of(request)
    if channel.type == s.DM:
        return json_response(channel.payload())
    guild = twin.state.guilds[channel.guild_id or 0]
    perms = perms_in(request, channel)
    require(perms, s.MANAGE_THREADS if channel.is_thread else s.MANAGE_CHANNELS)
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
    twin, app = twin_of(request), app_of(request)
    channel = channel_of(request)
    body, files = body_of(request), request[FILES]
    perms = perms_in(request, channel)
    if channel.type == s.DM:
        other = next((u for u in channel.recipients if u.id != app.bot.id), None)
        if other is None or not twin.state.can_dm(app.bot, other):
            raise ApiError(403, 50007, "Cannot send messages to this user")
    elif channel.is_thread:
        require(perms, s.SEND_MESSAGES_IN_THREADS)
    else:
        require(perms, s.SEND_MESSAGES)
    if files:
        require(perms, s.ATTACH_FILES)
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
    twin = twin_of(request)
    channel = channel_of(request)
    if not perms_in(request, channel) & s.READ_MESSAGE_HISTORY:
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
    twin = twin_of(request)
    channel = channel_of(request)
    require(perms_in(request, channel), s.READ_MESSAGE_HISTORY)
    message = message_in(twin, channel, snowflake(request, "message_id"))
    return json_response(message.payload(twin.base_url))


async def patch_message(request: web.Request) -> web.Response:
    twin, app = twin_of(request), app_of(request)
    channel = channel_of(request)
    message = message_in(twin, channel, snowflake(request, "message_id"))
    body = body_of(request)
    if message.author.id != app.bot.id:
        if set(body) - {"flags"}:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        require(perms_in(request, channel), s.MANAGE_MESSAGES)
    _check_message(body, request[FILES], require_content=False)
    if "embeds" in body and not perms_in(request, channel) & s.EMBED_LINKS:
        body = {**body, "embeds": []}
    twin.edit_message(message, body, request[FILES])
    return json_response(message.payload(twin.base_url))


async def delete_message(request: web.Request) -> web.Response:
    twin, app = twin_of(request), app_of(request)
    channel = channel_of(request)
    message = message_in(twin, channel, snowflake(request, "message_id"))
    if message.author.id != app.bot.id:
        require(perms_in(request, channel), s.MANAGE_MESSAGES)
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
    twin, app = twin_of(request), app_of(request)
    parent = channel_of(request)
    if parent.type != s.GUILD_TEXT:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    body = body_of(request)
    kind = int(body.get("type") or s.PRIVATE_THREAD)
    if kind not in s.THREAD_TYPES:
        raise ApiError(400, 50035, "Invalid Form Body", {"type": "must be 11 or 12"})
    needed = s.CREATE_PRIVATE_THREADS if kind == s.PRIVATE_THREAD else s.CREATE_PUBLIC_THREADS
    require(perms_in(request, parent), needed)
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
    return json_response(thread_payload(thread, app.bot.id), 201)


async def create_thread_from_message(request: web.Request) -> web.Response:
    twin, app = twin_of(request), app_of(request)
    parent = channel_of(request)
    if parent.type != s.GUILD_TEXT:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    message = message_in(twin, parent, snowflake(request, "message_id"))
    require(perms_in(request, parent), s.CREATE_PUBLIC_THREADS | s.READ_MESSAGE_HISTORY)
    if twin.state.channel(message.id) is not None:
        raise ApiError(400, 160004, "A thread has already been created for this message")
    body = body_of(request)
    thread = twin.state.create_thread(
        parent,
        _thread_name(body),
        type=s.PUBLIC_THREAD,
        owner_id=app.bot.id,
        auto_archive_duration=_archive_duration(body),
        thread_id=message.id,
    )
    twin.emit_thread_create(thread)
    return json_response(thread_payload(thread, app.bot.id), 201)


def _thread(request: web.Request) -> Channel:
    thread = channel_of(request)
    if not thread.is_thread:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    return thread


def _target_user(request: web.Request) -> int:
    raw = request.match_info["user_id"]
    return app_of(request).bot.id if raw == "@me" else snowflake(request, "user_id")


async def add_thread_member(request: web.Request) -> web.Response:
    twin, app = twin_of(request), app_of(request)
    thread = _thread(request)
    user_id = _target_user(request)
    perms = perms_in(request, thread)
    if thread.archived:
        raise thread_archived()
    guild = twin.state.guilds[thread.guild_id or 0]
    if user_id not in guild.members:
        raise ApiError(404, 10007, "Unknown Member")
    if user_id != app.bot.id:
        require(perms, s.SEND_MESSAGES_IN_THREADS)
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
    twin, app = twin_of(request), app_of(request)
    thread = _thread(request)
    user_id = _target_user(request)
    if thread.archived:
        raise thread_archived()
    if user_id != app.bot.id:
        manage = bool(perms_in(request, thread) & s.MANAGE_THREADS)
        if not manage and not (thread.type == s.PRIVATE_THREAD and thread.owner_id == app.bot.id):
            raise missing_permissions()
    if thread.members.pop(user_id, None) is not None:
        twin.emit_thread_members(thread, removed=[user_id])
    return no_content()


async def get_thread_member(request: web.Request) -> web.Response:
    twin = twin_of(request)
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
    twin = twin_of(request)
    wanted = int(request.match_info["attachment_id"])
    for message in twin.state.messages.values():
        for attachment in message.attachments:
            if attachment.id == wanted:
                return web.Response(body=attachment.data, content_type=attachment.content_type or "text/plain")
    raise web.HTTPNotFound()


def build_app(twin: Twin) -> web.Application:
    """The aiohttp application serving REST, the gateway and attachment downloads."""
    from twin import commands, interactions, threads

    app = web.Application(middlewares=[api_middleware], client_max_size=64 * 1024 * 1024)
    app[TWIN] = twin
    app[SPEC_CHECK] = spec_checker()
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
        *commands.ROUTES,
        *threads.ROUTES,
        *interactions.ROUTES,
    ]
    for method, path, handler in routes:
        r.add_route(method, API + path, handler)
    return app
