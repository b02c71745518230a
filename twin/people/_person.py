"""A person scripted like someone using the Discord client: slash commands, autocomplete, buttons, selects, modals,
messages and DMs, each waiting, event-driven, for the bot's answer."""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from typing import TYPE_CHECKING, Any

from twin import state as s
from twin.interactions import APPLICATION_COMMAND, AUTOCOMPLETE, MESSAGE_COMPONENT, MODAL_SUBMIT, create_interaction
from twin.people._inputs import _choice, _filled, _option_value
from twin.people._views import MessageView, Modal, Visible
from twin.state import Application, Channel, Command, Guild, Interaction, Member, Message, Role, User

if TYPE_CHECKING:
    from twin.server import Twin

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0
UPDATE_SETTLE = 1.0

_OPTION_TYPES = {1: "subcommand", 2: "group", 3: "string", 4: "integer", 5: "boolean", 6: "user", 7: "channel",
                 8: "role", 9: "mentionable", 10: "number", 11: "attachment"}  # fmt: skip


class BotDidNotAnswer(AssertionError):
    """The bot did not acknowledge an interaction in time."""


class CommandUnavailable(AssertionError):
    """The Discord client would not let this person run the command (permissions, overrides, context)."""


class Person:
    """A member of a guild, scripted like someone using the Discord client."""

    def __init__(self, twin: Twin, guild: Guild | None, user: User) -> None:
        self.twin = twin
        self.guild = guild
        self.user = user

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.username

    @property
    def mention(self) -> str:
        return f"<@{self.user.id}>"

    @property
    def member(self) -> Member:
        assert self.guild is not None and self.user.id in self.guild.members, f"{self.name} is not in the guild"
        return self.guild.members[self.user.id]

    def __repr__(self) -> str:
        return f"<Person {self.name}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Person) and other.user.id == self.user.id

    def __hash__(self) -> int:
        return hash(self.user.id)

    # ------------------------------------------------------------------ slash commands

    async def slash(
        self,
        command: str,
        *,
        channel: Channel | None = None,
        app: Application | None = None,
        within: float = DEFAULT_TIMEOUT,
        **options: Any,
    ) -> Any:
        """Run ``/command [sub ...] option=value``; returns the answer message, a Modal, or the follow-up."""
        app, cmd, data = self._command_data(command, app, options, focused=None)
        where = channel or self._default_channel()
        self._check_may_use(cmd, where)
        interaction = create_interaction(self.twin, app, self.user, where, APPLICATION_COMMAND, data)
        return await self._answer(interaction, f"/{command}", within)

    async def autocomplete(
        self,
        command: str,
        option: str,
        typed: str,
        *,
        channel: Channel | None = None,
        app: Application | None = None,
        within: float = DEFAULT_TIMEOUT,
        **options: Any,
    ) -> list[dict[str, Any]]:
        """Type ``typed`` into ``option`` of ``/command``; returns the bot's choices."""
        app, cmd, data = self._command_data(command, app, {**options, option: typed}, focused=option)
        where = channel or self._default_channel()
        self._check_may_use(cmd, where)
        interaction = create_interaction(self.twin, app, self.user, where, AUTOCOMPLETE, data)
        await self._acknowledged(interaction, f"/{command} autocomplete", within)
        return list(interaction.choices or [])

    def _check_may_use(self, cmd: Command, channel: Channel) -> None:
        """What the Discord client enforces before a member can even run a command."""
        state = self.twin.state
        if channel.type == s.DM:
            contexts = cmd.data.get("contexts")
            if cmd.guild_id is not None or (contexts is not None and 1 not in contexts):
                raise CommandUnavailable(f"/{cmd.name} cannot be used in DMs")
            return
        if not state.can_view(self.user.id, channel):
            raise AssertionError(f"{self.name} cannot see #{channel.name}")
        perms = state.permissions(self.user.id, channel)
        if not perms & s.P(use_application_commands=True).value:
            raise CommandUnavailable(f"{self.name} lacks Use Application Commands in #{channel.name}")
        override = self._override(cmd)
        if override is False:
            raise CommandUnavailable(f"{self.name} cannot use /{cmd.name}: a server override denies it")
        required = cmd.data.get("default_member_permissions")
        if override is None and required is not None and not perms & s.ADMINISTRATOR:
            if int(required) & perms != int(required):
                needed = [name for name, on in s.P(int(required)) if on] or ["administrator"]
                raise CommandUnavailable(
                    f"{self.name} cannot use /{cmd.name}: it needs {', '.join(needed)} "
                    "(default_member_permissions; a server admin can override with twin.command_permission)"
                )

    def _override(self, cmd: Command) -> bool | None:
        """Server-side command permission overrides: the member's own, then their roles', then @everyone's."""
        if self.guild is None:
            return None
        table = self.twin.state.command_overrides.get((self.guild.id, cmd.id), {})
        if self.user.id in table:
            return table[self.user.id]
        roles = [table[r] for r in self.member.roles if r in table]
        if roles:
            return any(roles)
        return table.get(self.guild.id)

    def _default_channel(self) -> Channel:
        assert self.guild is not None, "pass channel= for a person outside a guild"
        for channel in self.guild.text_channels():
            if channel.type == s.GUILD_TEXT and self.twin.state.can_view(self.user.id, channel):
                return channel
        raise AssertionError(f"{self.name} cannot see any text channel in {self.guild.name}")

    def _command_data(
        self, command: str, app: Application | None, options: dict[str, Any], focused: str | None
    ) -> tuple[Application, Command, dict[str, Any]]:
        words = command.strip().lstrip("/").split()
        app, cmd = self._find_command(words[0], app)
        data: dict[str, Any] = {"id": str(cmd.id), "name": cmd.name, "type": cmd.type}
        if cmd.guild_id is not None:
            data["guild_id"] = str(cmd.guild_id)
        resolved: dict[str, dict[str, Any]] = {}
        definitions = cmd.data.get("options") or []
        container = data
        for word in words[1:]:
            sub = next((o for o in definitions if o["name"] == word and o.get("type") in (1, 2)), None)
            if sub is None:
                raise LookupError(f"/{command}: {word!r} is not a subcommand of {container['name']!r}")
            node: dict[str, Any] = {"name": word, "type": sub["type"], "options": []}
            container.setdefault("options", []).append(node)
            container, definitions = node, sub.get("options") or []
        container["options"] = self._options(command, definitions, options, resolved, focused)
        if resolved:
            data["resolved"] = resolved
        return app, cmd, data

    def _find_command(self, name: str, app: Application | None) -> tuple[Application, Command]:
        apps = [app] if app else [a for a in self.twin.state.apps.values() if self._has_bot(a)]
        found: list[tuple[Application, Command]] = []
        for candidate in apps:
            guild_id = self.guild.id if self.guild else None
            guild_cmds = [c for c in candidate.command_list(guild_id) if c.name == name and c.type == 1]
            global_cmds = [c for c in candidate.command_list(None) if c.name == name and c.type == 1]
            chosen = (guild_cmds if guild_id else []) + global_cmds
            if chosen:
                found.append((candidate, chosen[0]))
        if not found:
            known = sorted({c.name for a in apps for c in a.commands.values()})
            raise LookupError(f"/{name} is not registered by any bot here; registered: {known}")
        if len(found) > 1:
            raise LookupError(f"/{name} is registered by several bots; pass app=")
        return found[0]

    def _has_bot(self, app: Application) -> bool:
        return self.guild is None or app.bot.id in self.guild.members

    def _options(
        self,
        command: str,
        definitions: list[dict[str, Any]],
        given: dict[str, Any],
        resolved: dict[str, dict[str, Any]],
        focused: str | None,
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in definitions}
        unknown = set(given) - set(by_name)
        if unknown:
            raise LookupError(f"/{command} has no option {sorted(unknown)}; it has {sorted(by_name)}")
        result = []
        for definition in definitions:
            name = definition["name"]
            if name not in given:
                if definition.get("required") and focused is None:
                    raise AssertionError(f"/{command} needs the option {name!r}")
                continue
            kind = int(definition["type"])
            if name == focused:
                result.append({"name": name, "type": kind, "value": str(given[name]), "focused": True})
                continue
            value = self._option_value(command, definition, given[name], resolved)
            result.append({"name": name, "type": kind, "value": value})
        return result

    def _option_value(
        self, command: str, definition: dict[str, Any], raw: Any, resolved: dict[str, dict[str, Any]]
    ) -> Any:
        kind = int(definition["type"])
        if kind == 3:
            return _choice(command, definition, str(raw))
        if kind == 4:
            return _choice(command, definition, int(raw))
        if kind == 10:
            return _choice(command, definition, float(raw))
        if kind == 5:
            return bool(raw)
        if kind == 7:
            return self._resolve_channel(raw, resolved)
        if kind == 8 or (kind == 9 and isinstance(raw, Role)):
            return self._resolve_role(raw, resolved)
        if kind in (6, 9):
            return self._resolve_user(raw, resolved)
        raise NotImplementedError(f"option type {_OPTION_TYPES.get(kind, kind)} is not modelled")

    def _resolve_user(self, who: Any, resolved: dict[str, dict[str, Any]]) -> str:
        user = who.user if isinstance(who, Person | Member) else who
        assert isinstance(user, User), f"not a user: {who!r}"
        resolved.setdefault("users", {})[str(user.id)] = user.payload()
        member = self.twin.state.member(self.guild.id if self.guild else None, user.id)
        if member is not None:
            data = member.payload()
            data.pop("user")
            channel = self._default_channel()
            data["permissions"] = str(self.twin.state.permissions(user.id, channel))
            resolved.setdefault("members", {})[str(user.id)] = data
        return str(user.id)

    def _resolve_channel(self, channel: Any, resolved: dict[str, dict[str, Any]]) -> str:
        assert isinstance(channel, Channel), f"not a channel: {channel!r}"
        data: dict[str, Any] = {
            "id": str(channel.id),
            "name": channel.name,
            "type": channel.type,
            "permissions": str(self.twin.state.permissions(self.user.id, channel)),
        }
        if channel.parent_id:
            data["parent_id"] = str(channel.parent_id)
        if channel.is_thread:
            data["thread_metadata"] = channel.payload()["thread_metadata"]
        resolved.setdefault("channels", {})[str(channel.id)] = data
        return str(channel.id)

    def _resolve_role(self, role: Any, resolved: dict[str, dict[str, Any]]) -> str:
        assert isinstance(role, Role), f"not a role: {role!r}"
        resolved.setdefault("roles", {})[str(role.id)] = role.payload()
        return str(role.id)

    # ------------------------------------------------------------------ components

    async def click(self, message: MessageView | Message, button: str, *, within: float = DEFAULT_TIMEOUT) -> Any:
        """Click the enabled button with this label or custom_id; returns the bot's answer."""
        msg = self._visible_message(message)
        view = MessageView(self.twin, msg.id)
        matches = [b for b in view.buttons if button in (b.get("label"), b.get("custom_id"))]
        if not matches:
            labels = [b.get("label") or b.get("custom_id") for b in view.buttons]
            raise AssertionError(f"no button {button!r} on message {msg.id}; buttons: {labels}")
        target = matches[0]
        if target.get("disabled"):
            raise AssertionError(f"button {button!r} is disabled")
        if target.get("style") in (5, 6) or not target.get("custom_id"):
            raise AssertionError(f"button {button!r} is a link or premium button, not an interaction")
        data = {"custom_id": target["custom_id"], "component_type": 2}
        if "id" in target:
            data["id"] = target["id"]
        return await self._component(msg, data, f"button {button!r}", within)

    async def select(
        self,
        message: MessageView | Message,
        select: str,
        values: list[Any],
        *,
        within: float = DEFAULT_TIMEOUT,
    ) -> Any:
        """Pick ``values`` (option values or labels; users, roles or channels for those selects)."""
        msg = self._visible_message(message)
        view = MessageView(self.twin, msg.id)
        target = next((c for c in view.selects if select in (c.get("custom_id"), c.get("placeholder"))), None)
        if target is None:
            raise AssertionError(f"no select {select!r} on message {msg.id}")
        if target.get("disabled"):
            raise AssertionError(f"select {select!r} is disabled")
        low, high = int(target.get("min_values", 1)), int(target.get("max_values", 1))
        if not low <= len(values) <= high:
            raise AssertionError(f"select {select!r} takes {low} to {high} values, not {len(values)}")
        data: dict[str, Any] = {"custom_id": target["custom_id"], "component_type": target["type"]}
        if target["type"] == 3:
            data["values"] = [_option_value(target, v) for v in values]
        else:
            resolved: dict[str, dict[str, Any]] = {}
            ids = []
            for value in values:
                if isinstance(value, Channel):
                    ids.append(self._resolve_channel(value, resolved))
                elif isinstance(value, Role):
                    ids.append(self._resolve_role(value, resolved))
                else:
                    ids.append(self._resolve_user(value, resolved))
            data.update(values=ids, resolved=resolved)
        return await self._component(msg, data, f"select {select!r}", within)

    async def submit_modal(self, modal: Modal, values: dict[str, Any], *, within: float = DEFAULT_TIMEOUT) -> Any:
        """Fill in the modal (keys are input labels or custom_ids) and submit it."""
        assert modal.person == self, f"{self.name} cannot submit a modal shown to {modal.person.name}"
        remaining = dict(values)
        components = []
        for top in modal.data.get("components", []):
            if top.get("type") == 18:
                inner = _filled(top["component"], str(top.get("label", "")), remaining)
                components.append({"type": 18, "id": top.get("id"), "component": inner})
            elif top.get("type") == 1:
                row = [_filled(c, str(c.get("label", "")), remaining) for c in top.get("components", [])]
                components.append({"type": 1, "id": top.get("id"), "components": row})
            elif top.get("type") == 10:
                components.append({"type": 10, "id": top.get("id")})
        if remaining:
            raise AssertionError(f"the modal {modal.title!r} has no input {sorted(remaining)}")
        source = self.twin.state.messages.get(modal.interaction.source_message_id or 0)
        app = self.twin.state.apps[modal.interaction.application_id]
        channel = self.twin.state.channel(modal.interaction.channel_id)
        assert channel is not None
        data = {"custom_id": modal.custom_id, "components": components}
        interaction = create_interaction(self.twin, app, self.user, channel, MODAL_SUBMIT, data, source)
        return await self._answer(interaction, f"modal {modal.title!r}", within)

    async def _component(self, msg: Message, data: dict[str, Any], label: str, within: float) -> Any:
        app = self.twin.state.apps.get(msg.application_id or msg.author.id)
        if app is None:
            raise AssertionError(f"message {msg.id} was not sent by a bot application")
        channel = self.twin.state.channel(msg.channel_id)
        assert channel is not None
        interaction = create_interaction(self.twin, app, self.user, channel, MESSAGE_COMPONENT, data, msg)
        return await self._answer(interaction, label, within)

    def _visible_message(self, message: MessageView | Message) -> Message:
        msg = message.message if isinstance(message, MessageView) else message
        if not self.twin.state.can_see_message(self.user.id, msg):
            raise AssertionError(f"{self.name} cannot see message {msg.id}")
        return msg

    # ------------------------------------------------------------------ waiting for the bot

    async def _acknowledged(self, interaction: Interaction, label: str, within: float) -> int:
        try:
            return await asyncio.wait_for(asyncio.shield(interaction.responded), within)
        except TimeoutError:
            raise BotDidNotAnswer(
                f"the bot did not answer {label} within {s.RESPONSE_WINDOW_SECONDS:.0f} s (waited {within:.1f} s)"
            ) from None

    async def _answer(self, interaction: Interaction, label: str, within: float) -> Any:
        kind = await self._acknowledged(interaction, label, within)
        if kind == 9:
            return Modal(self.twin, self, interaction)
        if kind in (4, 7):
            return MessageView(self.twin, interaction.original_message_id or 0)
        if kind == 5:
            await self._until(interaction, lambda: _deferred_done(self.twin, interaction), label, within)
        elif kind == 6:
            await self._until(interaction, lambda: _updated(self.twin, interaction), label, UPDATE_SETTLE, True)
        if interaction.followup_ids and interaction.followup_ids[0] != interaction.original_message_id:
            return MessageView(self.twin, interaction.followup_ids[0])
        return MessageView(self.twin, interaction.original_message_id or 0)

    async def _until(self, interaction: Interaction, done: Any, label: str, within: float, quiet: bool = False) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not done():
            interaction.activity.clear()
            if done():
                return
            try:
                await asyncio.wait_for(interaction.activity.wait(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                if quiet:
                    return
                raise BotDidNotAnswer(f"the bot deferred {label} but never followed up") from None

    # ------------------------------------------------------------------ messages

    async def say(self, channel: Channel, text: str) -> MessageView:
        """Post a message as this person (dispatches MESSAGE_CREATE)."""
        state = self.twin.state
        if not state.can_view(self.user.id, channel):
            raise AssertionError(f"{self.name} cannot see #{channel.name}")
        perms = state.permissions(self.user.id, channel)
        needed = s.SEND_MESSAGES_IN_THREADS if channel.is_thread else s.SEND_MESSAGES
        if not perms & needed:
            raise AssertionError(f"{self.name} may not send messages in #{channel.name}")
        if channel.is_thread and channel.archived:
            if channel.locked and not perms & s.MANAGE_THREADS:
                raise AssertionError(f"#{channel.name} is archived and locked")
            channel.archived = False
            self.twin.emit_thread_update(channel)
        message = self.twin.post_message(channel, self.user, {"content": text})
        return MessageView(self.twin, message.id)

    async def dm(
        self,
        app: Application,
        text: str,
        *,
        reply_to: MessageView | Message | None = None,
        files: dict[str, bytes] | None = None,
    ) -> MessageView:
        """Send the app's bot a direct message (dispatched with the DIRECT_MESSAGES intent), as Discord's client
        does: ``reply_to`` makes it a reply (type 19, ``message_reference`` to a message of this DM channel);
        ``files`` (name -> bytes) are uploaded as its attachments."""
        state = self.twin.state
        channel = state.dm_channel(self.user, app.bot)
        body: dict[str, Any] = {"content": text}
        if reply_to is not None:
            target = reply_to.message if isinstance(reply_to, MessageView) else reply_to
            if target.channel_id != channel.id or target.deleted:
                raise AssertionError("a reply must refer to a message of the same channel (Discord: Unknown Message)")
            body["message_reference"] = {"message_id": str(target.id)}
        attachments = [
            s.Attachment(state.ids.next(), name, data, mimetypes.guess_type(name)[0])
            for name, data in (files or {}).items()
        ]
        if not text and not attachments:
            raise AssertionError("Discord refuses an empty message (50006)")
        message = self.twin.post_message(channel, self.user, body, attachments)
        return MessageView(self.twin, message.id)

    def dms(self) -> list[MessageView]:
        """Messages in this person's DMs with bots, oldest first."""
        state = self.twin.state
        views = []
        for channel in state.dms.values():
            ids = {u.id for u in channel.recipients}
            if self.user.id in ids and any(u.bot for u in channel.recipients):
                views += [MessageView(self.twin, m.id) for m in state.channel_messages(channel.id)]
        return sorted(views, key=lambda v: v.id)

    def sees(self) -> list[Visible]:
        """Everything this person can see."""
        return self.twin.visible_to(self)


def _deferred_done(twin: Twin, interaction: Interaction) -> bool:
    original = twin.state.messages.get(interaction.original_message_id or 0)
    edited = original is not None and not original.flags & s.LOADING
    return edited or bool(interaction.followup_ids)


def _updated(twin: Twin, interaction: Interaction) -> bool:
    original = twin.state.messages.get(interaction.original_message_id or 0)
    edited = original is not None and original.edited_at is not None and original.edited_at >= interaction.created_at
    return edited or bool(interaction.followup_ids)
