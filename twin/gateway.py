"""The twin's gateway: HELLO, IDENTIFY/READY, GUILD_CREATE, heartbeats, RESUME, shards and intent-filtered dispatch.

Each IDENTIFY opens a session that keeps every dispatched frame, so RESUME replays exactly what the client missed.
Frames are written by one writer task per connection, in sequence order.

Sharding, as Discord documents it: IDENTIFY may carry ``shard: [shard_id, num_shards]`` (absent: ``[0, 1]``); a
guild's events go only to the session whose shard is ``(guild_id >> 22) % num_shards``, READY lists only that
shard's guilds, and events outside any guild (DMs, DM interactions) go to shard 0 only. A shard id outside
``0 .. num_shards - 1`` is closed with 4010 (Invalid shard), a shard holding more than 2,500 guilds with 4011
(Sharding required).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from twin.state import DM, Application, Channel, Guild, Scope

if TYPE_CHECKING:
    from twin.server import Twin

log = logging.getLogger(__name__)

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
GUILD_PRESENCES = 1 << 8
PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

HEARTBEAT_INTERVAL_MS = 41250
MAX_GUILDS_PER_SHARD = 2500
# GET /gateway/bot: Discord recommends about one shard per 1,000 guilds; 1,000 session starts a day.
GUILDS_PER_RECOMMENDED_SHARD = 1000
SESSION_START_TOTAL = 1000
SESSION_START_WINDOW_S = 24 * 3600


def shard_of(guild_id: int, num_shards: int) -> int:
    """The shard that receives a guild's events: ``(guild_id >> 22) % num_shards``."""
    return (guild_id >> 22) % num_shards


# IDENTIFY's large_threshold: Discord's default and allowed range.
LARGE_THRESHOLD_DEFAULT, LARGE_THRESHOLD_MIN, LARGE_THRESHOLD_MAX = 50, 50, 250


@dataclass
class Session:
    """One gateway session of one application; outlives its websocket until it is invalidated."""

    id: str
    app: Application
    intents: int
    large_threshold: int = LARGE_THRESHOLD_DEFAULT
    shard_id: int = 0
    num_shards: int = 1
    frames: list[dict[str, Any]] = field(default_factory=list)
    sent_seq: int = 0
    ws: web.WebSocketResponse | None = None
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def seq(self) -> int:
        return len(self.frames)

    def holds(self, guild_id: int | None) -> bool:
        """Whether this session's shard receives events of ``guild_id`` (None: outside any guild, e.g. a DM)."""
        if guild_id is None:
            return self.shard_id == 0
        return shard_of(guild_id, self.num_shards) == self.shard_id

    def push(self, event: str, data: dict[str, Any]) -> None:
        self.frames.append({"op": 0, "t": event, "s": self.seq + 1, "d": data})
        self.wakeup.set()


class Gateway:
    """Serves /gateway and fans state events out to sessions according to intents and visibility."""

    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        self.sessions: dict[str, Session] = {}
        self.connected: dict[int, asyncio.Event] = {}
        self._identify_waiters: list[tuple[int, asyncio.Future[Session]]] = []
        # (application id, how many sessions, the sessions so far, the future of them all)
        self._identify_counters: list[tuple[int, int, list[Session], asyncio.Future[list[Session]]]] = []
        self._transports: dict[int, asyncio.BaseTransport | None] = {}
        self.identifies: dict[int, list[float]] = {}  # application id -> loop times of its IDENTIFYs
        twin.state.listeners.append(self.on_event)

    # ------------------------------------------------------------------ websocket

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self._transports[id(ws)] = request.transport
        await self._send(ws, {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}, "s": None, "t": None})
        session: Session | None = None
        writer: asyncio.Task[None] | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op = frame.get("op")
                if op == 1:
                    await self._send(ws, {"op": 11, "d": None, "s": None, "t": None})
                elif op == 2:
                    session = await self._identify(ws, frame["d"])
                elif op == 6:
                    session = await self._resume(ws, frame["d"])
                else:
                    continue
                if session is not None and writer is None:
                    writer = asyncio.create_task(self._writer(session, ws))
                if session is None and op in (2, 6):
                    break
        finally:
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
            self._transports.pop(id(ws), None)
            if session is not None and session.ws is ws:
                session.ws = None
                self.connected.setdefault(session.app.id, asyncio.Event()).clear()
        return ws

    async def _send(self, ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        await ws.send_str(json.dumps(frame))

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        app = self.twin.state.app_by_token(str(data.get("token", "")))
        if app is None:
            log.info("gateway identify with an unknown token")
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED & ~app.privileged_intents:
            log.info("application %s asked for privileged intents it has not enabled", app.id)
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        threshold = int(data.get("large_threshold") or LARGE_THRESHOLD_DEFAULT)
        threshold = min(max(threshold, LARGE_THRESHOLD_MIN), LARGE_THRESHOLD_MAX)
        shard = data.get("shard") or [0, 1]
        if not _valid_shard(shard):
            log.info("application %s identified with an invalid shard %r", app.id, shard)
            await ws.close(code=4010, message=b"Invalid shard.")
            return None
        shard_id, num_shards = int(shard[0]), int(shard[1])
        guilds = [
            g
            for g in self.twin.state.guilds.values()
            if app.bot.id in g.members and shard_of(g.id, num_shards) == shard_id
        ]
        if len(guilds) > MAX_GUILDS_PER_SHARD:
            log.info("application %s: shard %s holds %d guilds; sharding required", app.id, shard, len(guilds))
            await ws.close(code=4011, message=b"Sharding required.")
            return None
        session = Session(
            id=secrets.token_hex(16),
            app=app,
            intents=intents,
            large_threshold=threshold,
            shard_id=shard_id,
            num_shards=num_shards,
        )
        self.sessions[session.id] = session
        self.identifies.setdefault(app.id, []).append(asyncio.get_running_loop().time())
        session.ws = ws
        session.push(
            "READY",
            {
                "v": 10,
                "user": {**app.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0},
                "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                "session_id": session.id,
                "session_type": "normal",
                "resume_gateway_url": self.twin.gateway_url,
                "application": {"id": str(app.id), "flags": app.flags},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
                "user_settings": {},
                "shard": [shard_id, num_shards],
            },
        )
        for guild in guilds:
            session.push("GUILD_CREATE", self.guild_create(guild, session))
        self.connected.setdefault(app.id, asyncio.Event()).set()
        log.info("session %s identified for application %s shard %s/%s", session.id, app.id, shard_id, num_shards)
        for waiter in [w for w in self._identify_waiters if w[0] == app.id]:
            self._identify_waiters.remove(waiter)
            if not waiter[1].done():
                waiter[1].set_result(session)
        for counter in [c for c in self._identify_counters if c[0] == app.id]:
            counter[2].append(session)
            if len(counter[2]) >= counter[1] or counter[3].done():
                self._identify_counters.remove(counter)
                if not counter[3].done():
                    counter[3].set_result(list(counter[2]))
        return session

    def next_identify(self, app: Application) -> asyncio.Future[Session]:
        """A future resolved with the application's next new session (an IDENTIFY, not a RESUME)."""
        future: asyncio.Future[Session] = asyncio.get_running_loop().create_future()
        self._identify_waiters.append((app.id, future))
        return future

    def next_identifies(self, app: Application, count: int) -> asyncio.Future[list[Session]]:
        """A future resolved with the application's next ``count`` new sessions (e.g. all of one process's shards)."""
        future: asyncio.Future[list[Session]] = asyncio.get_running_loop().create_future()
        self._identify_counters.append((app.id, count, [], future))
        return future

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or session.app.token != data.get("token"):
            log.info("resume of unknown session; invalidating")
            await self._send(ws, {"op": 9, "d": False, "s": None, "t": None})
            return None
        if session.ws is not None and session.ws is not ws:
            with contextlib.suppress(Exception):
                await session.ws.close(code=4000)
        session.ws = ws
        session.sent_seq = start = int(data.get("seq") or 0)
        while session.sent_seq < session.seq:  # events pushed while replaying are sent too, in order
            frame = session.frames[session.sent_seq]
            await self._send(ws, frame)
            session.sent_seq = frame["s"]
        await self._send(ws, {"op": 0, "t": "RESUMED", "s": None, "d": {}})
        self.connected.setdefault(session.app.id, asyncio.Event()).set()
        log.info("session %s resumed, %d events replayed", session.id, session.sent_seq - start)
        return session

    async def _writer(self, session: Session, ws: web.WebSocketResponse) -> None:
        while not ws.closed:
            session.wakeup.clear()
            while session.sent_seq < session.seq and session.ws is ws:
                frame = session.frames[session.sent_seq]
                await self._send(ws, frame)
                session.sent_seq = frame["s"]
            await session.wakeup.wait()

    # ------------------------------------------------------------------ control

    def sessions_of(self, app: Application) -> list[Session]:
        return [s for s in self.sessions.values() if s.app.id == app.id]

    def recommended_shards(self, app: Application) -> int:
        """``GET /gateway/bot``'s ``shards``: one per started ``GUILDS_PER_RECOMMENDED_SHARD`` guilds, at least 1."""
        guilds = sum(1 for g in self.twin.state.guilds.values() if app.bot.id in g.members)
        return max(1, -(-guilds // GUILDS_PER_RECOMMENDED_SHARD))

    def session_start_limit(self, app: Application) -> dict[str, int]:
        """``GET /gateway/bot``'s ``session_start_limit``: IDENTIFYs left in the 24-hour window, when it resets (ms)
        and how many shards may IDENTIFY at once (``Twin(max_concurrency=…)``, 1 as for most bots)."""
        now = asyncio.get_running_loop().time()
        window = [t for t in self.identifies.get(app.id, []) if now - t < SESSION_START_WINDOW_S]
        reset_after = int((window[0] + SESSION_START_WINDOW_S - now) * 1000) if window else 0
        return {
            "total": SESSION_START_TOTAL,
            "remaining": max(0, SESSION_START_TOTAL - len(window)),
            "reset_after": reset_after,
            "max_concurrency": self.twin.max_concurrency,
        }

    def sessions_holding(self, app: Application, guild_id: int | None) -> list[Session]:
        """The application's sessions whose shard receives ``guild_id``'s events (None: DMs, shard 0)."""
        return [s for s in self.sessions_of(app) if s.holds(guild_id)]

    async def drop(self, app: Application) -> None:
        """Abruptly close the app's sockets (no close frame): the client must resume."""
        for session in self.sessions_of(app):
            ws, session.ws = session.ws, None
            if ws is not None:
                self.connected.setdefault(app.id, asyncio.Event()).clear()
                transport = self._transports.get(id(ws))
                if isinstance(transport, asyncio.Transport):
                    transport.abort()

    async def request_reconnect(self, app: Application) -> None:
        """Send op 7 RECONNECT; the client reconnects and resumes."""
        for session in self.sessions_of(app):
            if session.ws is not None:
                self.connected.setdefault(app.id, asyncio.Event()).clear()
                await self._send(session.ws, {"op": 7, "d": None, "s": None, "t": None})

    async def close(self) -> None:
        for session in self.sessions.values():
            if session.ws is not None:
                with contextlib.suppress(Exception):
                    await session.ws.close(code=1001)

    # ------------------------------------------------------------------ payloads

    def guild_create(self, guild: Guild, session: Session, *, joined: bool = False) -> dict[str, Any]:
        """GUILD_CREATE; a guild the bot just joined carries no ``unavailable`` key, as on Discord.

        ``large`` is true above the session's ``large_threshold``. Without the members intent the member list holds
        only the bot itself, however large the guild (``member_count`` still counts everyone).
        """
        state = self.twin.state
        bot_id = session.app.bot.id
        members = list(guild.members.values())
        if not session.intents & GUILD_MEMBERS:
            members = [m for m in members if m.id == bot_id]
        channels = [c for c in guild.channels.values() if not c.is_thread]
        threads = [c for c in guild.threads() if not c.archived and state.can_view(bot_id, c)]
        data = {
            **guild.payload(),
            "unavailable": False,
            "large": len(guild.members) > session.large_threshold,
            "joined_at": guild.members[bot_id].joined_at.isoformat(),
            "member_count": len(guild.members),
            "members": [m.payload() for m in members],
            "channels": [c.payload() for c in channels],
            "threads": [self._thread_for(c, bot_id) for c in threads],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }
        if joined:
            del data["unavailable"]
        return data

    def _thread_for(self, thread: Channel, bot_id: int) -> dict[str, Any]:
        data = thread.payload()
        if bot_id in thread.members:
            data["member"] = thread.members[bot_id].payload(thread.id)
        return data

    # ------------------------------------------------------------------ fan-out

    def on_event(self, event: str, data: dict[str, Any], scope: Scope) -> None:
        for session in list(self.sessions.values()):
            payload = self._for_session(session, event, data, scope)
            if payload is not None:
                session.push(event, payload)

    def _for_session(self, session: Session, event: str, data: dict[str, Any], scope: Scope) -> dict[str, Any] | None:
        state = self.twin.state
        bot_id = session.app.bot.id
        if scope.application_id is not None and scope.application_id != session.app.id:
            return None
        if scope.user_ids and bot_id not in scope.user_ids:
            return None
        if not session.holds(scope.guild_id):  # another shard's guild; outside a guild: shard 0 only
            return None
        if scope.guild_id is not None and event not in ("GUILD_DELETE",):
            guild = state.guilds.get(scope.guild_id)
            if guild is None or bot_id not in guild.members:
                return None
        if scope.intent and not session.intents & scope.intent:
            return None
        if scope.channel_id is not None:
            channel = state.channel(scope.channel_id)
            if channel is not None and not state.can_view(bot_id, channel):
                return None
        if event == "THREAD_MEMBERS_UPDATE" and not session.intents & GUILD_MEMBERS:
            return _thread_members_for_self(data, bot_id)
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not session.intents & MESSAGE_CONTENT:
            return _without_content(data, bot_id, state.channel(int(data["channel_id"])))
        return data


def _valid_shard(shard: Any) -> bool:
    """``[shard_id, num_shards]`` with ``0 <= shard_id < num_shards``."""
    if not isinstance(shard, list) or len(shard) != 2 or not all(type(n) is int for n in shard):
        return False
    shard_id, num_shards = shard
    return bool(num_shards >= 1 and 0 <= shard_id < num_shards)


def _thread_members_for_self(data: dict[str, Any], bot_id: int) -> dict[str, Any] | None:
    added = [m for m in data.get("added_members", []) if int(m["user_id"]) == bot_id]
    removed = [r for r in data.get("removed_member_ids", []) if int(r) == bot_id]
    if not added and not removed:
        return None
    return {**data, "added_members": added, "removed_member_ids": removed}


def _without_content(data: dict[str, Any], bot_id: int, channel: Channel | None) -> dict[str, Any]:
    """What a bot without the MESSAGE_CONTENT intent receives."""
    author = data.get("author", {})
    mentioned = any(int(u["id"]) == bot_id for u in data.get("mentions", []))
    if int(author.get("id", 0)) == bot_id or mentioned or (channel is not None and channel.type == DM):
        return data
    return {**data, "content": "", "embeds": [], "attachments": [], "components": []}
