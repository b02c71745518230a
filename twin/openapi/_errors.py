"""How problems are worded: one line per problem, naming the field by its JSON path, with the most relevant
alternative of a union followed and long values shortened."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from jsonschema.exceptions import ValidationError, by_relevance

_MAX_PROBLEMS = 10
_relevance = by_relevance()


def _json_path(parts: Iterable[object], root: str) -> str:
    out = root
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, str):
        return repr(value[: limit - 10]) + f"... ({len(value)} chars)"
    return text[: limit - 3] + "..."


def _describe(error: ValidationError) -> str:
    """jsonschema's message, with length problems spelled out and huge instance reprs shortened."""
    inst = error.instance
    kind = error.validator
    if kind in ("maxLength", "minLength") and isinstance(inst, str):
        word = "long" if kind == "maxLength" else "short"
        return f"{_short(inst)} is too {word}: length {len(inst)}, {kind} {error.validator_value}"
    if kind in ("maxItems", "minItems") and isinstance(inst, list):
        word = "many" if kind == "maxItems" else "few"
        return f"too {word} items: {len(inst)}, {kind} {error.validator_value}"
    message = error.message
    if kind in ("oneOf", "anyOf") and error.context:
        here = [sub for sub in error.context if not sub.relative_path]
        plain = [sub for sub in here if not sub.context] or here
        reasons: list[str] = []
        for sub in plain:
            reason = _describe(sub)
            if reason not in reasons:
                reasons.append(reason)
        if reasons:
            shown = "; ".join(reasons[:4]) + ("; ..." if len(reasons) > 4 else "")
            message = f"{_short(inst)} is not valid under any of the given schemas ({shown})"
    full = repr(inst)
    if len(full) > 80 and full in message:
        message = message.replace(full, _short(inst))
    return message


def _leaves(error: ValidationError) -> ValidationError:
    """The error to report for ``error``: under a union (oneOf/anyOf/allOf/$ref) follow the alternative
    that got deepest into the instance; stop at a union whose alternatives all fail at its own location
    (:func:`_describe` then lists their reasons)."""
    while error.context:
        deepest = max(len(e.relative_path) for e in error.context)
        if deepest == 0:
            break
        error = max((e for e in error.context if len(e.relative_path) == deepest), key=_relevance)
    return error


def _format_errors(where: str, errors: Iterator[ValidationError]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for error in errors:
        leaf = _leaves(error)
        line = f"{where}: {_json_path(leaf.absolute_path, 'body')}: {_describe(leaf)}"
        if line not in seen:
            seen.add(line)
            out.append(line)
        if len(out) >= _MAX_PROBLEMS:
            out.append(f"{where}: (further problems not shown)")
            break
    return out
