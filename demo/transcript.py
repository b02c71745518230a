"""A readable transcript of what the bot did, marked by who can see each message."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from twin.people import Person
from twin.server import Twin
from twin.state import DM, PRIVATE_THREAD, PUBLIC_THREAD, Message

Write = Callable[[str], None]

_MARKUP = re.compile(r"<(#|@&|@!?)(\d+)>|<t:(-?\d+)(?::([tTdDfFR]))?>")


class Transcript:
    """After each scripted step, ``flush()`` prints the messages the bot posted or edited since the last one."""

    def __init__(
        self,
        twin: Twin,
        people: list[Person],
        *,
        anyone: Person,
        now: Callable[[], datetime],
        write: Write = print,
    ) -> None:
        self._twin = twin
        self._now = now
        self._names = {person.id: person.name for person in people}
        self._anyone = anyone  # a member with no roles: a channel they cannot see is "restricted"
        self._write = write
        self._seen: dict[int, datetime | None] = {m.id: m.edited_at for m in twin.state.messages.values()}
        self.lines = 0

    def heading(self, text: str) -> None:
        self._write("")
        self._write(f"── {text} " + "─" * max(0, 74 - len(text)))

    def action(self, who: Person, what: str) -> None:
        self._write(f"▶ {who.name}: {what}")

    def note(self, text: str) -> None:
        self._write(f"  · {text}")

    def sweep(
        self, secret: str | tuple[str, ...], *, owner: Person, people: list[Person], allowed: dict[Person, str]
    ) -> None:
        """For every member but ``owner``, where they can see ``secret`` (any of them, given several): a reason if
        ``allowed``, else a LEAK."""
        secrets = (secret,) if isinstance(secret, str) else secret
        for person in people:
            if person == owner:
                continue
            seen = sorted({v.where for v in self._twin.visible_to(person) if any(s in v.text for s in secrets)})
            if not seen:
                self.note(f"{person.name}: nothing")
            elif person in allowed:
                self.note(f"{person.name}: sees it in {', '.join(seen)} ({allowed[person]})")
            else:
                self.note(f"{person.name}: LEAK in {', '.join(seen)}")

    def flush(self) -> None:
        for message in sorted(self._twin.state.messages.values(), key=lambda m: m.id):
            if message.author.id not in self._twin.state.apps or message.deleted:
                continue
            if message.id in self._seen and self._seen[message.id] == message.edited_at:
                continue
            edited = message.id in self._seen
            self._seen[message.id] = message.edited_at
            self._show(message, edited)

    def _show(self, message: Message, edited: bool) -> None:
        label = self._where(message) + (" · edited" if edited else "")
        body = self.render(_body(message)) or "(no text)"
        lines = body.splitlines()
        self._write(f"  [{label}] {lines[0]}")
        for line in lines[1:]:
            controls = line.startswith("[")  # a row of buttons is never broken inside a label
            for wrapped in ([line] if controls else textwrap.wrap(line, 100)) or [""]:
                self._write(f"      {wrapped}")
        self.lines += 1

    def render(self, text: str) -> str:
        """Show mentions and timestamps the way a Discord client does (timestamps in UTC here)."""
        state = self._twin.state

        def one(match: re.Match[str]) -> str:
            kind, snowflake, epoch, style = match.groups()
            if epoch is not None:
                moment = datetime.fromtimestamp(int(epoch), UTC)
                if style == "R":
                    return _relative(moment - self._now())
                return moment.strftime("%a %d %b %H:%M UTC" if style != "d" else "%d %b %Y")
            target = int(snowflake)
            if kind == "#":
                channel = state.channel(target)
                return f"#{channel.name}" if channel and channel.name else "#unknown"
            if kind == "@&":
                role = next((g.roles[target] for g in state.guilds.values() if target in g.roles), None)
                return f"@{role.name}" if role else "@deleted-role"
            user = state.users.get(target)
            return f"@{user.username}" if user else "@unknown"

        return _MARKUP.sub(one, text)

    def _where(self, message: Message) -> str:
        state = self._twin.state
        if message.ephemeral_for is not None:
            return f"ephemeral · only {self._names.get(message.ephemeral_for, message.ephemeral_for)} sees this"
        channel = state.channel(message.channel_id)
        if channel is None:
            return "deleted channel"
        if channel.type == DM:
            other = next((u for u in channel.recipients if u.id not in state.apps), None)
            return f"DM to {other.username if other else '?'}"
        if channel.type == PRIVATE_THREAD:
            return f"private thread #{channel.name}"
        kind = "public thread" if channel.type == PUBLIC_THREAD else "public"
        if not state.can_view(self._anyone.id, channel):
            kind = "restricted"
        return f"{kind} #{channel.name}"


def _relative(delta: timedelta) -> str:
    """Discord's relative timestamp wording: "in 3 hours", "2 days ago"."""
    seconds = abs(delta.total_seconds())
    unit, size = next(((u, n) for u, n in (("day", 86400), ("hour", 3600), ("minute", 60)) if seconds >= n), ("", 0))
    if not size:
        return "now"
    amount = round(seconds / size)
    text = f"{amount} {unit}{'s' if amount != 1 else ''}"
    return f"in {text}" if delta.total_seconds() > 0 else f"{text} ago"


def _body(message: Message) -> str:
    """What a member reads: content, embeds with their fields as "name: value", attachments, then the controls."""
    parts = [message.content] if message.content else []
    for embed in message.embeds:
        parts += [str(embed[key]) for key in ("title", "description") if embed.get(key)]
        for field in embed.get("fields") or []:
            name, value = field.get("name"), str(field.get("value"))
            parts.append(f"{name}: {value}" if "\n" not in value else f"{name}:\n  " + value.replace("\n", "\n  "))
        if (embed.get("footer") or {}).get("text"):
            parts.append(str(embed["footer"]["text"]))
    parts += [f"📎 {attachment.filename}" for attachment in message.attachments]
    controls = []
    for row in message.components:
        for item in row.get("components") or []:
            if item.get("type") == 2:
                controls.append(
                    f"[{item.get('label') or item.get('emoji', {}).get('name', '?')}]"
                    + ("(disabled)" if item.get("disabled") else "")
                )
            elif item.get("type") in (3, 5, 6, 7, 8):
                controls.append(f"[▾ {item.get('placeholder') or 'choose'}]")
    if controls:
        parts.append(" ".join(controls))
    return "\n".join(parts)
