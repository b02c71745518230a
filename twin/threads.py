"""Thread listings, as Discord documents them and discord.py pages through them.

- ``GET /guilds/{guild_id}/threads/active`` (``Guild.active_threads()``): every unarchived thread the bot can see
  (a private thread only if the bot is a member or has Manage Threads on the parent), newest first.
- ``GET /channels/{channel_id}/threads/archived/public``: archived public threads; needs Read Message History.
- ``GET /channels/{channel_id}/threads/archived/private`` (``archived_threads(private=True)``): archived private
  threads; needs Read Message History and Manage Threads.
- ``GET /channels/{channel_id}/users/@me/threads/archived/private`` (``archived_threads(joined=True)``): archived
  private threads the bot has joined; needs Read Message History.

The archived lists are ordered by ``archive_timestamp`` (the joined list by id), newest first, and page with
``before`` (an ISO timestamp; a thread id for the joined list) and ``limit`` (2-100, default 50), answering
``has_more``. Every answer is ``{"threads": [...], "members": [...], "has_more": ...}`` where ``members`` holds the
bot's own thread member object for each listed thread it has joined.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from twin import state as s
from twin.http import ApiError, Handler, app_of, channel_of, guild_of, json_response, perms_in, require, twin_of
from twin.state import Channel

DEFAULT_LIMIT = 50


def _listing(threads: list[Channel], bot_id: int, has_more: bool) -> dict[str, Any]:
    members = [t.members[bot_id].payload(t.id) for t in threads if bot_id in t.members]
    return {"threads": [t.payload() for t in threads], "members": members, "has_more": has_more}


async def active_guild_threads(request: web.Request) -> web.Response:
    twin, bot_id = twin_of(request), app_of(request).bot.id
    guild = guild_of(request)
    threads = [t for t in guild.threads() if not t.archived and twin.state.can_view(bot_id, t)]
    threads.sort(key=lambda t: t.id, reverse=True)
    return json_response(_listing(threads, bot_id, has_more=False))


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 2 <= int(raw) <= 100:
        raise ApiError(400, 50035, "Invalid Form Body", {"limit": "must be 2-100"})
    return int(raw)


def _parent(request: web.Request, needed: int) -> Channel:
    parent = channel_of(request)
    if parent.type != s.GUILD_TEXT:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    require(perms_in(request, parent), needed)
    return parent


def _archived(request: web.Request, parent: Channel, keep: Callable[[Channel], bool], by_id: bool) -> web.Response:
    bot_id = app_of(request).bot.id
    guild = twin_of(request).state.guilds[parent.guild_id or 0]
    threads = [t for t in guild.threads() if t.parent_id == parent.id and t.archived and keep(t)]
    before = request.query.get("before")
    if by_id:
        threads.sort(key=lambda t: t.id, reverse=True)
        if before is not None:
            threads = [t for t in threads if t.id < snowflake(before)]
    else:
        threads.sort(key=lambda t: (t.archive_timestamp, t.id), reverse=True)
        if before is not None:
            moment = _timestamp(before)
            threads = [t for t in threads if t.archive_timestamp < moment]
    limit = _limit(request)
    return json_response(_listing(threads[:limit], bot_id, has_more=len(threads) > limit))


async def public_archived_threads(request: web.Request) -> web.Response:
    parent = _parent(request, s.READ_MESSAGE_HISTORY)
    return _archived(request, parent, lambda t: t.type == s.PUBLIC_THREAD, by_id=False)


async def private_archived_threads(request: web.Request) -> web.Response:
    parent = _parent(request, s.READ_MESSAGE_HISTORY | s.MANAGE_THREADS)
    return _archived(request, parent, lambda t: t.type == s.PRIVATE_THREAD, by_id=False)


async def joined_private_archived_threads(request: web.Request) -> web.Response:
    parent = _parent(request, s.READ_MESSAGE_HISTORY)
    bot_id = app_of(request).bot.id
    return _archived(request, parent, lambda t: t.type == s.PRIVATE_THREAD and bot_id in t.members, by_id=True)


def _timestamp(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ApiError(400, 50035, "Invalid Form Body", {"before": "not an ISO8601 timestamp"}) from exc
    if moment.tzinfo is None:
        raise ApiError(400, 50035, "Invalid Form Body", {"before": "timestamp needs a time zone"})
    return moment


def snowflake(raw: str) -> int:
    if not raw.isdigit():
        raise ApiError(400, 50035, "Invalid Form Body", {"before": "not a snowflake"})
    return int(raw)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/guilds/{guild_id}/threads/active", active_guild_threads),
    ("GET", "/channels/{channel_id}/threads/archived/public", public_archived_threads),
    ("GET", "/channels/{channel_id}/threads/archived/private", private_archived_threads),
    ("GET", "/channels/{channel_id}/users/@me/threads/archived/private", joined_private_archived_threads),
]
