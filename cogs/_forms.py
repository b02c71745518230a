"""Forms (Discord modals) answered by their custom id, never by a ``Modal`` object held in memory.

A feature cog lists its forms as ``forms: tuple[Form, ...]``; the forms cog (``cogs/forms.py``) receives every modal
submission, finds the form whose registered template (``cogs._ui.CUSTOM_IDS``) matches the custom id, and calls its
``submit`` with what the member typed. So a submission after a restart, or a second submit, still finds its handler.
The custom id carries ids only; options that are member text (``/mentor signup``'s windows) are saved as the form's
draft when it opens (``services.forms``).

When a submission is refused (or fails), what the member typed is kept as a draft and the error comes with an
"Edit my answers" button that re-opens the same form filled in (``Form.rebuild``)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord

from cogs._ui import CUSTOM_IDS
from services.forms import FormDraft

Interaction = discord.Interaction[Any]
Values = dict[str, Any]
Rebuild = Callable[[re.Match[str], FormDraft], discord.ui.Modal]
Submit = Callable[[Interaction, re.Match[str], dict[str, Any], Values], Awaitable[None]]


def _never(match: re.Match[str]) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Form:
    """One kind of form. ``key`` names its custom-id template in ``CUSTOM_IDS``.

    ``submit(interaction, match, context, values)`` does the work (``context``: the options saved when the form
    opened, else empty; ``values``: input custom id -> what was typed); a :class:`PorchlightError` it raises is a
    refusal, shown to the member with the form kept. ``rebuild(match, draft)`` makes the same form again, filled in
    with ``draft.values``. ``needs_context(match)`` says whether the submission is meaningless without the saved
    options; then ``expired`` is what the member is told when they are gone."""

    key: str
    submit: Submit
    rebuild: Rebuild
    needs_context: Callable[[re.Match[str]], bool] = _never
    expired: str = "This form is more than a day old. Please open it again."

    def match(self, custom_id: str) -> re.Match[str] | None:
        return re.fullmatch(CUSTOM_IDS[self.key], custom_id)


def prefill(values: Values | None, key: str, limit: int) -> str | None:
    """The default for a text input: what the member typed before (never longer than the input allows)."""
    value = (values or {}).get(key)
    if not isinstance(value, str) or not value:
        return None
    return value[:limit]


async def send_form(interaction: Interaction, modal: discord.ui.Modal) -> None:
    """Show the form without keeping the Modal object: its submission is handled by custom id."""
    await interaction.response.send_modal(modal)
    modal.stop()


def submitted_values(data: Any) -> Values:
    """custom_id -> value (text inputs) or values (selects), from a modal submission's raw components."""
    found: Values = {}
    for top in data.get("components") or []:
        inner = [top["component"]] if isinstance(top.get("component"), dict) else top.get("components") or []
        for component in inner:
            custom_id = component.get("custom_id")
            if custom_id:
                found[custom_id] = component["value"] if "value" in component else component.get("values") or []
    return found
