"""What a person enters, encoded as the Discord client sends it: a command option's choice, a select's option
values and a modal's filled-in inputs, with the checks the client makes first."""

from __future__ import annotations

from typing import Any

from twin.people._views import _SELECT_TYPES


def _choice(command: str, definition: dict[str, Any], value: Any) -> Any:
    choices = definition.get("choices") or []
    if not choices:
        return value
    for choice in choices:
        if value in (choice["value"], choice["name"]):
            return choice["value"]
    names = [c["name"] for c in choices]
    raise AssertionError(f"/{command} {definition['name']}: {value!r} is not one of {names}")


def _option_value(select: dict[str, Any], value: Any) -> str:
    for option in select.get("options") or []:
        if value in (option.get("value"), option.get("label")):
            return str(option["value"])
    raise AssertionError(f"select {select.get('custom_id')!r} has no option {value!r}")


def _filled(component: dict[str, Any], label: str, remaining: dict[str, Any]) -> dict[str, Any]:
    custom_id = component.get("custom_id")
    key = next((k for k in (label, custom_id) if k in remaining), None)
    kind = component.get("type")
    if kind == 4:
        value = str(remaining.pop(key)) if key is not None else str(component.get("value") or "")
        if component.get("required", True) and not value:
            raise AssertionError(f"the modal input {label or custom_id!r} is required")
        low, high = int(component.get("min_length") or 0), int(component.get("max_length") or 4000)
        if value and not low <= len(value) <= high:
            raise AssertionError(f"the modal input {label or custom_id!r} takes {low}-{high} characters")
        return {"type": 4, "id": component.get("id"), "custom_id": custom_id, "value": value}
    if kind in _SELECT_TYPES:
        raw = remaining.pop(key) if key is not None else []
        values = [_option_value(component, v) if kind == 3 else str(getattr(v, "id", v)) for v in raw]
        return {"type": kind, "id": component.get("id"), "custom_id": custom_id, "values": values}
    return {"type": kind, "id": component.get("id")}
