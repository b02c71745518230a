"""Metric labels: fixed vocabularies only (a command's name, a component's ``feature:action``), never an id or text
anyone wrote. Apart from ``services.metrics`` so that labelling needs no prometheus-client import."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z][a-z_-]{0,30}")


def command_label(name: str | None, custom_id: str | None) -> str:
    """A label safe to publish: a slash command's name, or a component's ``feature:action`` (ids dropped)."""
    if name:
        words = name.split()
        return " ".join(words) if all(_WORD.fullmatch(w) for w in words) else "other"
    if custom_id:
        words = custom_id.split(":")[:2]
        return ":".join(words) if all(_WORD.fullmatch(w) for w in words) else "other"
    return "other"
