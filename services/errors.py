"""Domain errors: what went wrong in words a member can act on. The Discord layer shows them ephemerally."""

from __future__ import annotations


class PorchlightError(Exception):
    """An expected refusal. ``str(error)`` is shown to the member as is, so it must say what to do instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotConfigured(PorchlightError):
    """The server has not set up what this feature needs yet."""


class InvalidSetup(PorchlightError):
    """A /setup value that cannot work (e.g. @everyone as the helper role)."""
