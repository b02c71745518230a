"""The Twin: an in-memory Discord served over HTTP and websocket on 127.0.0.1.

A test builds the world (applications, guilds, roles, channels, members), starts the twin, points discord.py at
``twin.api_base`` / ``twin.gateway_url`` and drives the bot through people (see ``twin.people``).

Options: ``Twin(rate_limits=True)`` enforces Discord's rate limits with their headers (``twin.ratelimit``);
``Twin(latency=0.1)`` adds a 100 ms round trip to every REST call; ``Twin(max_concurrency=2)`` lets two shards
IDENTIFY at once (``GET /gateway/bot``). Guilds are routed to shards by their id (``twin.gateway``);
``create_guild(name, shard=(1, 2))`` makes a guild whose events go to shard 1 of 2. ``twin.faults`` injects
failures before or after a request's work and runs hooks between the work and the response (``twin.faults``);
``twin.requests`` records every request, and ``twin.requests_handled(method, pattern, count)`` is a future for the
n-th matching one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from twin import state as s
from twin.faults import Fault, Faults
from twin.gateway import DIRECT_MESSAGES, GUILD_MEMBERS, GUILD_MESSAGES, GUILDS, Gateway
from twin.ratelimit import RateLimiter, RateLimits
from twin.state import (
    Application,
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    Scope,
    State,
    ThreadMember,
    User,
)

if TYPE_CHECKING:
    from twin.people import Person, Visible

log = logging.getLogger(__name__)

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


@dataclass(frozen=True)
class RequestRecord:
    method: str
    route: str
    status: int
    path: str
    seconds: float


@dataclass(eq=False)
class _RequestWatcher:
    match: Fault
    count: int
    status: int | None
    seen: list[RequestRecord] = field(default_factory=list)
    future: asyncio.Future[list[RequestRecord]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def offer(self, record: RequestRecord) -> bool:
        """Count ``record`` if it matches; True once the future is done (resolved or cancelled)."""
        if self.future.done():
            return True
        if self.status is not None and record.status != self.status:
            return False
        if not self.match.matches(record.method, record.route, record.path):
            return False
        self.seen.append(record)
        if len(self.seen) >= self.count:
            self.future.set_result(list(self.seen))
            return True
        return False


@dataclass
class Twin:
    """A local Discord. Build the world with the ``create_*`` methods, then ``await start()``."""

    host: str = "127.0.0.1"
    state: State = field(default_factory=State)
    faults: Faults = field(default_factory=Faults)
    requests: list[RequestRecord] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    port: int = 0
    rate_limits: bool | RateLimits = False  # True: Discord's limits (twin.ratelimit); off by default
    latency: float = 0.0  # seconds added to every REST call's round trip, half each way
    max_concurrency: int = 1  # GET /gateway/bot's session_start_limit.max_concurrency (shards identifying at once)

    def __post_init__(self) -> None:
        self.gateway = Gateway(self)
        limits = RateLimits() if self.rate_limits is True else self.rate_limits
        self.limiter = RateLimiter(limits) if isinstance(limits, RateLimits) else None
        self._runner: web.AppRunner | None = None
        self._watchers: list[_RequestWatcher] = []

    # ------------------------------------------------------------------ requests

    def record(self, record: RequestRecord) -> None:
        """Keep a handled request and wake whoever waits for it (``requests_handled``)."""
        self.requests.append(record)
        for watcher in list(self._watchers):
            if watcher.offer(record):
                self._watchers.remove(watcher)

    def requests_handled(
        self, method: str, route_pattern: str, count: int = 1, *, status: int | None = None
    ) -> asyncio.Future[list[RequestRecord]]:
        """A future resolved with the first ``count`` matching requests handled from now on.

        Create it before the action, then await it (``asyncio.wait_for(future, within)``). ``route_pattern`` is
        an fnmatch pattern over the route template or the path, as for faults; ``status`` narrows to one status.
        """
        watcher = _RequestWatcher(Fault(method.upper(), route_pattern, "watch", None), count, status)
        self._watchers.append(watcher)
        return watcher.future

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    async def start(self) -> None:
        """Serve REST and the gateway on a free loopback port."""
        from twin.rest import build_app

        self._runner = web.AppRunner(build_app(self), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # noqa: SLF001 - aiohttp exposes the bound port only here
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        log.info("twin listening on %s", self.base_url)

    async def close(self) -> None:
        """Close every gateway socket and stop serving."""
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def drop_gateway(self, app: Application) -> None:
        """Abruptly cut the application's gateway connection; discord.py must resume."""
        await self.gateway.drop(app)

    async def invalidate_session(self, app: Application) -> None:
        """Forget the application's sessions and cut the socket: its RESUME gets op 9, so it re-identifies."""
        await self.gateway.drop(app)
        for session in self.gateway.sessions_of(app):
            del self.gateway.sessions[session.id]

    async def request_reconnect(self, app: Application) -> None:
        """Send op 7 RECONNECT to the application's gateway connection."""
        await self.gateway.request_reconnect(app)

    def violation(self, text: str) -> None:
        log.warning("violation: %s", text)
        self.violations.append(text)

    # ------------------------------------------------------------------ world building

    def create_application(
        self, name: str = "Porchlight", token: str | None = None, *, privileged_intents: int = 0
    ) -> Application:
        """A bot application with its bot user; ``privileged_intents`` are those enabled in the portal."""
        app = self.state.create_application(name, token)
        app.privileged_intents = privileged_intents
        return app

    def create_user(self, username: str) -> User:
        return self.state.create_user(username)

    def create_guild(
        self, name: str, owner: User | Person | None = None, *, shard: tuple[int, int] | None = None
    ) -> Guild:
        """A guild with an @everyone role carrying Discord's default permissions.

        ``shard=(shard_id, num_shards)`` picks an id that Discord's rule ``(guild_id >> 22) % num_shards`` routes to
        that shard; without it the id is the next snowflake (its shard is whatever that gives).
        """
        owner_user = _user_of(owner) if owner is not None else self.state.create_user(f"{name.lower()}-owner")
        return self.state.create_guild(name, owner_user, shard)

    def add_bot(self, guild: Guild, app: Application, permissions: int | s.P = 0) -> Member:
        """Invite the app's bot with a managed role holding ``permissions``; dispatches GUILD_CREATE."""
        value = permissions.value if isinstance(permissions, s.P) else int(permissions)
        role = self.state.create_role(guild, app.name, value)
        role.managed, role.bot_id = True, app.bot.id
        member = Member(guild_id=guild.id, user=app.bot, roles=[role.id])
        guild.members[app.bot.id] = member
        for session in self.gateway.sessions_holding(app, guild.id):
            session.push("GUILD_CREATE", self.gateway.guild_create(guild, session, joined=True))
        self._emit_member_add(guild, member)
        return member

    def remove_bot(self, guild: Guild, app: Application) -> None:
        """Kick the bot: it receives GUILD_DELETE."""
        guild.members.pop(app.bot.id, None)
        for session in self.gateway.sessions_holding(app, guild.id):
            session.push("GUILD_DELETE", {"id": str(guild.id)})

    def create_role(
        self,
        guild: Guild,
        name: str,
        permissions: int | s.P = 0,
        *,
        position: int | None = None,
        mentionable: bool = False,
    ) -> Role:
        value = permissions.value if isinstance(permissions, s.P) else int(permissions)
        role = self.state.create_role(guild, name, value, position=position)
        role.mentionable = mentionable
        self.state.emit(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.payload()}, Scope(GUILDS, guild.id)
        )
        return role

    def create_text_channel(
        self,
        guild: Guild,
        name: str,
        overwrites: dict[Role | Member | User | Person, s.P | tuple[int, int]] | None = None,
        parent: Channel | None = None,
        topic: str | None = None,
    ) -> Channel:
        """A text channel. ``overwrites`` maps a role or member to (allow, deny) ints or a Permissions pair."""
        return self._create_channel(guild, name, s.GUILD_TEXT, overwrites, parent, topic)

    def create_voice_channel(self, guild: Guild, name: str, overwrites: Any = None, parent: Any = None) -> Channel:
        return self._create_channel(guild, name, s.GUILD_VOICE, overwrites, parent, None)

    def create_category(self, guild: Guild, name: str, overwrites: Any = None) -> Channel:
        return self._create_channel(guild, name, s.GUILD_CATEGORY, overwrites, None, None)

    def _create_channel(
        self,
        guild: Guild,
        name: str,
        type: int,
        overwrites: dict[Any, Any] | None,
        parent: Channel | None,
        topic: str | None,
    ) -> Channel:
        ows = [_overwrite(target, value) for target, value in (overwrites or {}).items()]
        channel = self.state.create_channel(
            guild, name, type, parent_id=parent.id if parent else None, overwrites=ows, topic=topic
        )
        self.state.emit("CHANNEL_CREATE", channel.payload(), Scope(GUILDS, guild.id, channel.id))
        return channel

    # ------------------------------------------------------------------ members

    def member(self, guild: Guild, name: str, roles: list[Role] | None = None) -> Person:
        """The person ``name`` in ``guild``, joining (GUILD_MEMBER_ADD) on first use; ``roles`` are added."""
        from twin.people import Person

        user = next((u for u in self.state.users.values() if u.username == name and not u.bot), None)
        if user is None:
            user = self.state.create_user(name)
        if user.id not in guild.members:
            self.join(guild, user)
        for role in roles or []:
            if role.id not in guild.members[user.id].roles:
                self.add_role(guild, user, role)
        return Person(self, guild, user)

    def join(self, guild: Guild, user: User | Person) -> Member:
        u = _user_of(user)
        member = Member(guild_id=guild.id, user=u)
        guild.members[u.id] = member
        self._emit_member_add(guild, member)
        return member

    def leave(self, guild: Guild, user: User | Person) -> None:
        u = _user_of(user)
        guild.members.pop(u.id, None)
        for thread in guild.threads():
            if thread.members.pop(u.id, None) is not None:
                self._emit_thread_members(thread, removed=[u.id])
        self.state.emit(
            "GUILD_MEMBER_REMOVE",
            {"guild_id": str(guild.id), "user": u.payload()},
            Scope(GUILD_MEMBERS, guild.id),
        )

    def add_role(self, guild: Guild, user: User | Person, role: Role) -> None:
        member = guild.members[_user_of(user).id]
        if role.id not in member.roles:
            member.roles.append(role.id)
        self.emit_member_update(guild, member)

    def remove_role(self, guild: Guild, user: User | Person, role: Role) -> None:
        member = guild.members[_user_of(user).id]
        if role.id in member.roles:
            member.roles.remove(role.id)
        self.emit_member_update(guild, member)

    def close_dms(self, user: User | Person, guild: Guild | None = None) -> None:
        """The person turns off DMs from server members (in ``guild``, or every guild): bot DMs fail with 50007."""
        self._set_dms(_user_of(user), guild, False)

    def open_dms(self, user: User | Person, guild: Guild | None = None) -> None:
        self._set_dms(_user_of(user), guild, True)

    def _set_dms(self, user: User, guild: Guild | None, value: bool) -> None:
        for candidate in [guild] if guild else list(self.state.guilds.values()):
            member = candidate.members.get(user.id)
            if member is not None:
                member.dms_open = value

    @property
    def role_mention_adds(self) -> list[tuple[int, int, int]]:
        """(thread id, role id, user id) for every member a role mention added to a private thread."""
        return self.state.role_mention_adds

    def command_permission(
        self, guild: Guild, app: Application, command: str, target: Role | Guild | User | Person, allow: bool
    ) -> None:
        """A server admin's override (Server Settings > Integrations) of who may use ``/command``.

        ``target`` is a role, the guild (for @everyone) or a member; it replaces default_member_permissions.
        """
        name = command.split()[0].lstrip("/")
        cmd = next((c for c in app.commands.values() if c.name == name and c.guild_id in (None, guild.id)), None)
        if cmd is None:
            raise LookupError(f"/{name} is not registered by {app.name}")
        target_id = target.id if isinstance(target, Role | Guild) else _user_of(target).id
        self.state.command_overrides.setdefault((guild.id, cmd.id), {})[target_id] = allow

    def everyone_in(self, guild: Guild) -> list[Person]:
        """Every human member of the guild, as people."""
        from twin.people import Person

        return [Person(self, guild, m.user) for m in guild.members.values() if not m.user.bot]

    def _emit_member_add(self, guild: Guild, member: Member) -> None:
        self.state.emit(
            "GUILD_MEMBER_ADD", {**member.payload(), "guild_id": str(guild.id)}, Scope(GUILD_MEMBERS, guild.id)
        )

    def emit_member_update(self, guild: Guild, member: Member) -> None:
        payload = {**member.payload(), "guild_id": str(guild.id)}
        for app in self.state.apps.values():
            # Discord sends a bot its own member updates even without the members intent.
            intent = 0 if app.bot.id == member.id else GUILD_MEMBERS
            self.state.emit("GUILD_MEMBER_UPDATE", payload, Scope(intent, guild.id, application_id=app.id))

    # ------------------------------------------------------------------ visibility

    def visible_to(self, person: Person) -> list[Visible]:
        """Every message the person can see, with all of its human-readable text."""
        from twin.people import Visible

        records = []
        for message in sorted(self.state.messages.values(), key=lambda m: m.id):
            if self.state.can_see_message(person.user.id, message):
                records.append(Visible.of(self, message))
        return records

    def assert_only_visible_to(self, text: str, allowed: list[Person | User]) -> None:
        """Fail naming everyone (outside ``allowed``) who can see ``text``, and where."""
        from twin.people import Person

        allowed_ids = {_user_of(p).id for p in allowed}
        seen_by: list[str] = []
        for user in self.state.users.values():
            if user.bot or user.id in allowed_ids:
                continue
            guild = next((g for g in self.state.guilds.values() if user.id in g.members), None)
            person = Person(self, guild, user)
            for record in self.visible_to(person):
                if text in record.text:
                    seen_by.append(f"{user.username} saw it in {record.where}")
        if seen_by:
            names = sorted(self.state.users[i].username for i in allowed_ids if i in self.state.users)
            raise AssertionError(f"{text!r} is visible beyond {names}: " + "; ".join(seen_by))

    # ------------------------------------------------------------------ messages

    def post_message(
        self,
        channel: Channel,
        author: User,
        body: dict[str, Any],
        files: list[Attachment] | None = None,
        *,
        ephemeral_for: int | None = None,
        webhook_id: int | None = None,
        application_id: int | None = None,
        interaction: s.Interaction | None = None,
        keep_embeds: bool = True,
    ) -> Message:
        """Store a message (already validated and permission-checked) and dispatch what Discord would."""
        guild = self.state.guilds.get(channel.guild_id or 0)
        message = Message(
            id=self.state.ids.next(),
            channel_id=channel.id,
            author=author,
            content=str(body.get("content") or ""),
            embeds=_embeds(body.get("embeds")) if keep_embeds else [],
            components=list(body.get("components") or []),
            attachments=list(files or []),
            flags=int(body.get("flags") or 0) & ~s.EPHEMERAL | (s.EPHEMERAL if ephemeral_for else 0),
            guild_id=guild.id if guild else None,
            ephemeral_for=ephemeral_for,
            webhook_id=webhook_id,
            application_id=application_id,
            tts=bool(body.get("tts")),
            member=guild.members.get(author.id) if guild and webhook_id is None else None,
            message_reference=_reference(body.get("message_reference"), channel, guild),
            nonce=body.get("nonce"),
        )
        if interaction is not None:
            message.interaction_id = interaction.id
            message.type = 20 if interaction.type == 2 else 0
            message.interaction_meta = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": self.state.users[interaction.user_id].payload(),
                "authorizing_integration_owners": {"0": str(guild.id)} if guild else {},
            }
        if message.message_reference is not None:
            message.type = 19
        self._resolve_mentions(message, channel, guild, body.get("allowed_mentions"))
        if message.content:
            message.allowed_mentions_sent.append(body.get("allowed_mentions"))
        self.state.add_message(message)
        if ephemeral_for is None:
            self.state.emit("MESSAGE_CREATE", self.created_message_payload(message), _message_scope(channel))
            self._apply_role_mentions(message, channel, guild)
        return message

    def message_event(self, message: Message) -> dict[str, Any]:
        return message.payload(self.base_url)

    def created_message_payload(self, message: Message) -> dict[str, Any]:
        """The message as its create response and MESSAGE_CREATE carry it: with the sender's ``nonce``."""
        data = message.payload(self.base_url)
        if message.nonce is not None:
            data["nonce"] = message.nonce
        if message.type == 19 and message.message_reference is not None:
            # A reply carries the message it replies to (null when that was deleted), as Discord sends it.
            referenced = self.state.messages.get(int(message.message_reference["message_id"]))
            alive = referenced is not None and not referenced.deleted
            data["referenced_message"] = referenced.payload(self.base_url) if alive and referenced else None
        return data

    def edit_message(self, message: Message, body: dict[str, Any], files: list[Attachment] | None = None) -> None:
        """Apply a PATCH body to a message and dispatch MESSAGE_UPDATE."""
        if "content" in body:
            message.content = str(body["content"] or "")
            if message.content:
                message.allowed_mentions_sent.append(body.get("allowed_mentions"))
        if "embeds" in body:
            message.embeds = _embeds(body["embeds"])
        if "components" in body:
            message.components = list(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            message.flags = (message.flags & (s.EPHEMERAL | s.LOADING)) | int(body["flags"]) & ~s.EPHEMERAL
        if "attachments" in body and body["attachments"] is not None:
            keep = {int(a["id"]) for a in body["attachments"] if str(a.get("id", "")).isdigit()}
            message.attachments = [a for a in message.attachments if a.id in keep]
        message.attachments.extend(files or [])
        message.flags &= ~s.LOADING
        message.edited_at = s.now()
        channel = self.state.channel(message.channel_id)
        if message.ephemeral_for is None and channel is not None:
            self.state.emit("MESSAGE_UPDATE", self.message_event(message), _message_scope(channel))

    def delete_message(self, message: Message) -> None:
        message.deleted = True
        channel = self.state.channel(message.channel_id)
        if message.ephemeral_for is None and channel is not None:
            data = {"id": str(message.id), "channel_id": str(channel.id)}
            if channel.guild_id:
                data["guild_id"] = str(channel.guild_id)
            self.state.emit("MESSAGE_DELETE", data, _message_scope(channel))

    def _resolve_mentions(
        self, message: Message, channel: Channel, guild: Guild | None, allowed: dict[str, Any] | None
    ) -> None:
        parse = set(allowed.get("parse", [])) if allowed is not None else {"users", "roles", "everyone"}
        users_ok = {int(u) for u in (allowed or {}).get("users", [])}
        roles_ok = {int(r) for r in (allowed or {}).get("roles", [])}
        for raw in _USER_MENTION.findall(message.content):
            user = self.state.users.get(int(raw))
            if user is not None and ("users" in parse or user.id in users_ok) and user not in message.mentions:
                message.mentions.append(user)
        if guild is None:
            return
        perms = self.state.permissions(message.author.id, channel)
        for raw in _ROLE_MENTION.findall(message.content):
            role = guild.roles.get(int(raw))
            if role is None or not ("roles" in parse or role.id in roles_ok):
                continue
            if (role.mentionable or perms & s.MENTION_EVERYONE) and role.id not in message.mention_roles:
                message.mention_roles.append(role.id)
        if "everyone" in parse and perms & s.MENTION_EVERYONE:
            message.mention_everyone = "@everyone" in message.content or "@here" in message.content

    def _apply_role_mentions(self, message: Message, channel: Channel, guild: Guild | None) -> None:
        """A role pinged in a private thread adds each member of the role who can see the parent."""
        if guild is None or channel.type != s.PRIVATE_THREAD or not message.mention_roles:
            return
        parent = guild.channels.get(channel.parent_id or 0)
        added = []
        for member in list(guild.members.values()):
            if member.id in channel.members or not set(message.mention_roles) & set(member.roles):
                continue
            if parent is not None and self.state.can_view(member.id, parent):
                channel.members[member.id] = ThreadMember(member.id)
                role_id = next(r for r in message.mention_roles if r in member.roles)
                self.state.role_mention_adds.append((channel.id, role_id, member.id))
                log.info("role %s mention added user %s to private thread %s", role_id, member.id, channel.id)
                added.append(member.id)
        if added:
            self.emit_thread_members(channel, added=added)

    # ------------------------------------------------------------------ threads

    def emit_thread_create(self, thread: Channel) -> None:
        self.state.emit(
            "THREAD_CREATE", {**thread.payload(), "newly_created": True}, Scope(GUILDS, thread.guild_id, thread.id)
        )
        self.emit_thread_members(thread, added=list(thread.members))

    def emit_thread_update(self, thread: Channel) -> None:
        self.state.emit("THREAD_UPDATE", thread.payload(), Scope(GUILDS, thread.guild_id, thread.id))

    def emit_thread_members(
        self, thread: Channel, added: list[int] | None = None, removed: list[int] | None = None
    ) -> None:
        """THREAD_MEMBERS_UPDATE (and THREAD_MEMBER_UPDATE to a bot that was added)."""
        added, removed = added or [], removed or []
        payload = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "member_count": min(len(thread.members), 50),
            "added_members": [thread.members[u].payload(thread.id) for u in added if u in thread.members],
            "removed_member_ids": [str(u) for u in removed],
        }
        self.state.emit("THREAD_MEMBERS_UPDATE", payload, Scope(GUILDS, thread.guild_id, thread.id))
        for app in self.state.apps.values():
            if app.bot.id in added and app.bot.id in thread.members:
                data = {**thread.members[app.bot.id].payload(thread.id), "guild_id": str(thread.guild_id)}
                self.state.emit("THREAD_MEMBER_UPDATE", data, Scope(GUILDS, thread.guild_id, application_id=app.id))

    _emit_thread_members = emit_thread_members


def _message_scope(channel: Channel) -> Scope:
    if channel.type == s.DM:
        return Scope(DIRECT_MESSAGES, user_ids=tuple(u.id for u in channel.recipients))
    return Scope(GUILD_MESSAGES, channel.guild_id, channel.id)


def _embeds(raw: Any) -> list[dict[str, Any]]:
    embeds = []
    for embed in raw or []:
        embeds.append({"type": "rich", **embed})
    return embeds


def _reference(raw: Any, channel: Channel, guild: Guild | None) -> dict[str, Any] | None:
    if not raw or not raw.get("message_id"):
        return None
    ref = {"type": 0, "message_id": str(raw["message_id"]), "channel_id": str(channel.id)}
    if guild is not None:
        ref["guild_id"] = str(guild.id)
    return ref


def _user_of(who: Any) -> User:
    if isinstance(who, User):
        return who
    if isinstance(who, Member):
        return who.user
    user = getattr(who, "user", None)
    if isinstance(user, User):
        return user
    raise TypeError(f"not a person or user: {who!r}")


def _overwrite(target: Any, value: Any) -> Overwrite:
    if isinstance(value, tuple):
        allow, deny = value
    else:
        allow, deny = value, 0
    allow = allow.value if isinstance(allow, s.P) else int(allow)
    deny = deny.value if isinstance(deny, s.P) else int(deny)
    if isinstance(target, Role):
        return Overwrite(target.id, 0, allow, deny)
    if isinstance(target, Guild):
        return Overwrite(target.id, 0, allow, deny)
    return Overwrite(_user_of(target).id, 1, allow, deny)
