"""What a person sees of the bot's answers: live views of messages, a modal the bot opened, and one message
someone can see with where it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twin import state as s
from twin.state import Channel, Interaction, Message, User

if TYPE_CHECKING:
    from twin.people._person import Person
    from twin.server import Twin

_SELECT_TYPES = (3, 5, 6, 7, 8)


class MessageView:
    """A live view of one message in the twin."""

    def __init__(self, twin: Twin, message_id: int) -> None:
        self._twin = twin
        self.id = message_id

    @property
    def message(self) -> Message:
        return self._twin.state.messages[self.id]

    @property
    def content(self) -> str:
        return self.message.content

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.message.embeds

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.message.components

    @property
    def flags(self) -> int:
        return self.message.flags

    @property
    def ephemeral(self) -> bool:
        return self.message.ephemeral_for is not None

    @property
    def deleted(self) -> bool:
        return self.message.deleted

    @property
    def channel(self) -> Channel:
        channel = self._twin.state.channel(self.message.channel_id)
        assert channel is not None, f"the channel of message {self.id} is gone"
        return channel

    @property
    def author(self) -> User:
        return self.message.author

    @property
    def attachments(self) -> list[s.Attachment]:
        return self.message.attachments

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [c for c in _walk(self.components) if c.get("type") == 2]

    @property
    def selects(self) -> list[dict[str, Any]]:
        return [c for c in _walk(self.components) if c.get("type") in _SELECT_TYPES]

    @property
    def text(self) -> str:
        """All human-readable text: content, embeds, component labels and text attachments."""
        return message_text(self.message)

    @property
    def followups(self) -> list[MessageView]:
        interaction = self._twin.state.interactions.get(self.message.interaction_id or 0)
        if interaction is None:
            return []
        return [MessageView(self._twin, m) for m in interaction.followup_ids if m != self.id]

    def __repr__(self) -> str:
        return f"<MessageView {self.id} {self.text[:80]!r}>"


@dataclass
class Modal:
    """A modal the bot opened for a person; submit it with ``person.submit_modal``."""

    twin: Twin
    person: Person
    interaction: Interaction

    @property
    def data(self) -> dict[str, Any]:
        assert self.interaction.modal is not None
        return self.interaction.modal

    @property
    def title(self) -> str:
        return str(self.data.get("title", ""))

    @property
    def custom_id(self) -> str:
        return str(self.data["custom_id"])

    @property
    def inputs(self) -> list[tuple[str, dict[str, Any]]]:
        """(label, component) for each input in the modal."""
        found = []
        for top in self.data.get("components", []):
            if top.get("type") == 18:
                found.append((str(top.get("label", "")), top["component"]))
            elif top.get("type") == 1:
                for inner in top.get("components", []):
                    found.append((str(inner.get("label", "")), inner))
        return found


@dataclass(frozen=True)
class Visible:
    """One message someone can see: its text and where it is."""

    text: str
    where: str
    message: MessageView

    @classmethod
    def of(cls, twin: Twin, message: Message) -> Visible:
        return cls(message_text(message), where_is(twin, message), MessageView(twin, message.id))


def where_is(twin: Twin, message: Message) -> str:
    if message.ephemeral_for is not None:
        return "ephemeral"
    channel = twin.state.channel(message.channel_id)
    if channel is None:
        return "deleted channel"
    if channel.type == s.DM:
        return "DM"
    if channel.type == s.PRIVATE_THREAD:
        return f"private thread #{channel.name}"
    if channel.type == s.PUBLIC_THREAD:
        return f"public thread #{channel.name}"
    return f"public #{channel.name}"


def message_text(message: Message) -> str:
    parts = [message.content]
    for embed in message.embeds:
        parts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
        parts.append(str((embed.get("author") or {}).get("name") or ""))
        for field in embed.get("fields") or []:
            parts += [str(field.get("name") or ""), str(field.get("value") or "")]
        parts.append(str((embed.get("footer") or {}).get("text") or ""))
    for component in _walk(message.components):
        for key in ("label", "placeholder", "content"):
            if component.get(key):
                parts.append(str(component[key]))
        for option in component.get("options") or []:
            parts += [str(option.get("label") or ""), str(option.get("description") or "")]
    for attachment in message.attachments:
        try:
            parts.append(attachment.data.decode("utf-8"))
        except UnicodeDecodeError:
            parts.append(attachment.filename)
    return "\n".join(p for p in parts if p)


def _walk(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for component in components:
        found.append(component)
        found += _walk(component.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(component.get(key), dict):
                found += _walk([component[key]])
    return found
