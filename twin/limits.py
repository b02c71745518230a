"""Discord's documented limits that the OpenAPI description does not enforce (or enforces more loosely).

Each function returns human-readable problems; an empty list means the payload is within limits.
"""

from __future__ import annotations

from typing import Any

CONTENT = 2000
EMBEDS = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR_NAME = 256
EMBED_TOTAL = 6000
ACTION_ROWS = 5
ROW_BUTTONS = 5
SELECT_OPTIONS = 25
TEXT_INPUT_MAX = 4000
CUSTOM_ID = 100
BUTTON_LABEL = 80
THREAD_NAME = 100
CHOICES = 25
MODAL_TITLE = 45
COMMAND_DESCRIPTION = 100
COMMAND_OPTIONS = 25

_SELECT_TYPES = (3, 5, 6, 7, 8)


def message_problems(body: dict[str, Any]) -> list[str]:
    """Limits on content, embeds and components of a message create/edit body."""
    problems: list[str] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > CONTENT:
        problems.append(f"content: must be {CONTENT} or fewer in length ({len(content)})")
    problems += embeds_problems(body.get("embeds") or [])
    flags = int(body.get("flags") or 0)
    if not flags & (1 << 15):
        problems += components_problems(body.get("components") or [])
    return problems


def embeds_problems(embeds: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if len(embeds) > EMBEDS:
        problems.append(f"embeds: must be {EMBEDS} or fewer ({len(embeds)})")
    total = 0
    for i, embed in enumerate(embeds):
        title = str(embed.get("title") or "")
        description = str(embed.get("description") or "")
        footer = str((embed.get("footer") or {}).get("text") or "")
        author = str((embed.get("author") or {}).get("name") or "")
        fields = embed.get("fields") or []
        _max(problems, f"embeds.{i}.title", title, EMBED_TITLE)
        _max(problems, f"embeds.{i}.description", description, EMBED_DESCRIPTION)
        _max(problems, f"embeds.{i}.footer.text", footer, FOOTER)
        _max(problems, f"embeds.{i}.author.name", author, AUTHOR_NAME)
        if len(fields) > EMBED_FIELDS:
            problems.append(f"embeds.{i}.fields: must be {EMBED_FIELDS} or fewer ({len(fields)})")
        total += len(title) + len(description) + len(footer) + len(author)
        for j, field in enumerate(fields):
            name, value = str(field.get("name") or ""), str(field.get("value") or "")
            _max(problems, f"embeds.{i}.fields.{j}.name", name, FIELD_NAME)
            _max(problems, f"embeds.{i}.fields.{j}.value", value, FIELD_VALUE)
            total += len(name) + len(value)
    if total > EMBED_TOTAL:
        problems.append(f"embeds: total text must be {EMBED_TOTAL} or fewer characters ({total})")
    return problems


def components_problems(rows: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if len(rows) > ACTION_ROWS:
        problems.append(f"components: must be {ACTION_ROWS} or fewer action rows ({len(rows)})")
    for i, row in enumerate(rows):
        if row.get("type") != 1:
            problems.append(f"components.{i}: top-level components must be action rows (type 1)")
            continue
        children = row.get("components") or []
        selects = [c for c in children if c.get("type") in _SELECT_TYPES]
        if selects and len(children) > 1:
            problems.append(f"components.{i}: a select menu must be alone in its action row")
        if len(children) > ROW_BUTTONS:
            problems.append(f"components.{i}.components: must be {ROW_BUTTONS} or fewer ({len(children)})")
        if not children:
            problems.append(f"components.{i}.components: must not be empty")
        for j, child in enumerate(children):
            problems += _component_problems(f"components.{i}.components.{j}", child)
    return problems


def _component_problems(where: str, component: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    custom_id = component.get("custom_id")
    if custom_id is not None:
        _max(problems, f"{where}.custom_id", str(custom_id), CUSTOM_ID)
    kind = component.get("type")
    if kind == 2:
        _max(problems, f"{where}.label", str(component.get("label") or ""), BUTTON_LABEL)
        if component.get("style") == 5 and not component.get("url"):
            problems.append(f"{where}: link buttons need a url")
        if component.get("style") not in (5, 6) and not custom_id:
            problems.append(f"{where}: buttons need a custom_id")
    if kind == 3:
        options = component.get("options") or []
        if not 1 <= len(options) <= SELECT_OPTIONS:
            problems.append(f"{where}.options: must have 1 to {SELECT_OPTIONS} options ({len(options)})")
    if kind == 4:
        problems += _text_input_problems(where, component)
    return problems


def _text_input_problems(where: str, component: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    max_length = component.get("max_length")
    if max_length is not None and not 1 <= int(max_length) <= TEXT_INPUT_MAX:
        problems.append(f"{where}.max_length: must be 1 to {TEXT_INPUT_MAX} ({max_length})")
    min_length = component.get("min_length")
    if min_length is not None and not 0 <= int(min_length) <= TEXT_INPUT_MAX:
        problems.append(f"{where}.min_length: must be 0 to {TEXT_INPUT_MAX} ({min_length})")
    value = component.get("value")
    if value is not None:
        _max(problems, f"{where}.value", str(value), TEXT_INPUT_MAX)
    _max(problems, f"{where}.custom_id", str(component.get("custom_id") or ""), CUSTOM_ID)
    return problems


def modal_problems(data: dict[str, Any]) -> list[str]:
    """Limits on a modal (interaction response type 9)."""
    problems: list[str] = []
    _max(problems, "custom_id", str(data.get("custom_id") or ""), CUSTOM_ID)
    _max(problems, "title", str(data.get("title") or ""), MODAL_TITLE)
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        problems.append(f"components: a modal has 1 to 5 components ({len(components)})")
    for i, top in enumerate(components):
        if top.get("type") == 18:
            inner = [top.get("component") or {}]
        elif top.get("type") == 1:
            inner = top.get("components") or []
        else:
            inner = [top]
        for j, component in enumerate(inner):
            problems += _component_problems(f"components.{i}.{j}", component)
    return problems


def choices_problems(choices: list[dict[str, Any]]) -> list[str]:
    if len(choices) > CHOICES:
        return [f"choices: must be {CHOICES} or fewer ({len(choices)})"]
    return []


def command_problems(data: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if int(data.get("type", 1)) == 1:
        description = str(data.get("description") or "")
        if not 1 <= len(description) <= COMMAND_DESCRIPTION:
            problems.append(f"description: must be 1 to {COMMAND_DESCRIPTION} characters")
    problems += _options_problems("options", data.get("options") or [])
    return problems


def _options_problems(where: str, options: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if len(options) > COMMAND_OPTIONS:
        problems.append(f"{where}: must be {COMMAND_OPTIONS} or fewer ({len(options)})")
    for i, option in enumerate(options):
        choices = option.get("choices") or []
        if len(choices) > CHOICES:
            problems.append(f"{where}.{i}.choices: must be {CHOICES} or fewer")
        problems += _options_problems(f"{where}.{i}.options", option.get("options") or [])
    return problems


def _max(problems: list[str], where: str, value: str, limit: int) -> None:
    if len(value) > limit:
        problems.append(f"{where}: must be {limit} or fewer in length ({len(value)})")
