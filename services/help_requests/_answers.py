"""What the help-request commands answer: a refusal (carrying back what the member typed) or an outcome that says
what changed. Both are plain values; ``_rules.py`` holds the rules that decide them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.errors import NotConfigured, PorchlightError
from storage.help_requests import Claim, HelpRequest

__all__ = [
    "AnonymousOff",
    "BodyTooLong",
    "ClaimOutcome",
    "CloseOutcome",
    "CloseRefused",
    "Cooldown",
    "Draft",
    "EmptyBody",
    "Escalation",
    "FeedbackOutcome",
    "FeedbackRefused",
    "HelpNotConfigured",
    "HelpRequestRefused",
    "HelperAtCapacity",
    "HelpersFull",
    "IdleAction",
    "IdleOutcome",
    "NotAHelper",
    "OpenOutcome",
    "OwnRequest",
    "RelayRefused",
    "ReleaseOutcome",
    "ReopenOutcome",
    "ReopenRefused",
    "RequestClosed",
    "RequestNotFound",
    "RequestNotReady",
    "RevealRefused",
    "TextTooLong",
    "TooManyOpen",
    "UnknownTopic",
    "WantsTooLong",
    "WhichRequest",
]


# -- errors ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """What the member typed, handed back with a refusal so they never have to retype it."""

    topic: str
    body: str
    wants: str | None


class HelpRequestRefused(PorchlightError):
    """A refusal of the help-request feature. ``draft`` is the member's text when the refusal came at submit."""

    def __init__(self, message: str, draft: Draft | None = None) -> None:
        super().__init__(message)
        self.draft = draft


class HelpNotConfigured(HelpRequestRefused, NotConfigured):
    pass


class UnknownTopic(HelpRequestRefused):
    pass


class EmptyBody(HelpRequestRefused):
    pass


class BodyTooLong(HelpRequestRefused):
    pass


class WantsTooLong(HelpRequestRefused):
    pass


class TooManyOpen(HelpRequestRefused):
    pass


class Cooldown(HelpRequestRefused):
    def __init__(self, message: str, until: datetime, draft: Draft | None = None) -> None:
        super().__init__(message, draft)
        self.until = until


class RequestNotFound(HelpRequestRefused):
    pass


class NotAHelper(HelpRequestRefused):
    pass


class OwnRequest(HelpRequestRefused):
    pass


class RequestClosed(HelpRequestRefused):
    pass


class RequestNotReady(HelpRequestRefused):
    pass


class HelperAtCapacity(HelpRequestRefused):
    pass


class HelpersFull(HelpRequestRefused):
    pass


class CloseRefused(HelpRequestRefused):
    pass


class ReopenRefused(HelpRequestRefused):
    pass


class FeedbackRefused(HelpRequestRefused):
    pass


class AnonymousOff(HelpRequestRefused):
    pass


class RelayRefused(HelpRequestRefused):
    pass


class WhichRequest(RelayRefused):
    """The asker has several open anonymous requests and did not reply to a message about one."""


class RevealRefused(HelpRequestRefused):
    pass


class TextTooLong(HelpRequestRefused):
    pass


def _not_found() -> RequestNotFound:
    return RequestNotFound(
        "I can't find that help request any more — it may have been deleted. Use /help-queue to see open requests, "
        "or /ask to start a new one."
    )


# -- outcomes --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenOutcome:
    request: HelpRequest
    created: bool  # False: the same submission was already stored (retry or double submit)


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    request: HelpRequest
    claim: Claim
    already: bool  # the helper already held it (double click): nothing changed
    first_claim: bool  # the request had no helper before this claim
    helper_ids: tuple[int, ...]  # everyone holding it now, first claim first


@dataclass(frozen=True, slots=True)
class ReleaseOutcome:
    request: HelpRequest
    released: bool  # False: the helper held no claim
    helper_ids: tuple[int, ...]  # who still holds it
    unclaimed: bool  # nobody holds it now, so it is waiting (and escalation is armed again)


@dataclass(frozen=True, slots=True)
class CloseOutcome:
    request: HelpRequest
    already_closed: bool
    helper_ids: tuple[int, ...]  # helpers holding it when it closed
    note: str | None  # for the closing message in the thread; not stored


@dataclass(frozen=True, slots=True)
class ReopenOutcome:
    request: HelpRequest
    already_open: bool


@dataclass(frozen=True, slots=True)
class FeedbackOutcome:
    request: HelpRequest
    forward_to: tuple[int, ...]  # helpers to DM the thank-you to (empty without a thank-you)
    thanks: str | None


class IdleAction(StrEnum):
    NONE = "none"  # nothing to do now (active, unclaimed, closed, or not yet due)
    ASK = "ask"  # post "Is this sorted?" with Resolved / Still need help in the thread
    CLOSE = "close"  # it was closed as idle: archive and lock, update the card, DM the asker


@dataclass(frozen=True, slots=True)
class IdleOutcome:
    action: IdleAction
    request: HelpRequest | None
    closed: CloseOutcome | None = None
    next_check_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Escalation:
    """Re-post the queue card (delete the old one), mention these roles in the queue channel, DM the asker."""

    request: HelpRequest
    level: int  # 1: helpers asked again; 2: moderators asked too
    previous_level: int
    mention_role_ids: tuple[int, ...]
    notify_asker: bool
