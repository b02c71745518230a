"""Injected failures and hooks, matched against a request's route template or path.

A pattern is an ``fnmatch`` pattern over the route template (``/channels/{channel_id}/messages``) or the concrete
path (``/channels/123/messages``); the method may be ``"*"``. Each registration returns its :class:`Fault`, whose
``fired`` counts how often it applied. ``times=None`` means every matching request; ``probability`` (with ``seed``,
so a fault run over a workload is repeatable) makes a fault apply to a random share of the matching requests.

Before the work (the handler never runs, nothing changes):

- ``rate_limit(method, pattern, times=1, retry_after=0.05, *, is_global=False, ...)``: a 429 as Discord sends it:
  per-route (``X-RateLimit-Scope: user`` and the bucket headers) or global (``"global": true``,
  ``X-RateLimit-Global: true``, ``X-RateLimit-Scope: global``); discord.py waits ``retry_after`` and retries.
- ``server_error(method, pattern, status=502, times=1, ...)``: a 5xx; discord.py retries 500, 502 and 504.
- ``delay(method, pattern, seconds, times=None)``: hold the request before handling it.

After the work, before the response is written (only for requests the handler answered with 2xx):

- ``server_error_after(method, pattern, status=502, times=1, ...)``: the handler did everything (stored the message
  or thread, dispatched the gateway events) and the client gets a 5xx instead: the case where a client's retry
  of a POST creates a duplicate (discord.py retries 500/502/504; 503 is raised as ``DiscordServerError``).
- ``on_done(method, pattern, callback, times=1)``: awaits ``callback(handled)`` with the :class:`Handled` request
  (its status and response JSON) before the response goes out, e.g. to SIGKILL the bot process exactly between
  "Discord did it" and "the bot learned of it".
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

BEFORE: Literal["before"] = "before"
AFTER: Literal["after"] = "after"
SERVER_ERRORS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass(frozen=True)
class Handled:
    """A request the twin has handled, as an ``on_done`` callback sees it (before the client does)."""

    method: str
    route: str
    path: str
    status: int
    data: Any


Callback = Callable[[Handled], Awaitable[None]]


@dataclass
class Fault:
    method: str
    pattern: str
    kind: str  # "429", "5xx", "delay" (before the work); "5xx-after", "hook" (after it)
    times: int | None
    status: int = 0
    retry_after: float = 0.0
    seconds: float = 0.0
    is_global: bool = False
    probability: float = 1.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    callback: Callback | None = None
    fired: int = 0

    @property
    def phase(self) -> str:
        return AFTER if self.kind in ("5xx-after", "hook") else BEFORE

    def matches(self, method: str, template: str, path: str) -> bool:
        if self.method not in ("*", method.upper()):
            return False
        return fnmatch.fnmatchcase(template, self.pattern) or fnmatch.fnmatchcase(path, self.pattern)


class Faults:
    """The twin's injected failures; see the module docstring for each kind."""

    def __init__(self) -> None:
        self.active: list[Fault] = []

    def rate_limit(
        self,
        method: str,
        route_pattern: str,
        times: int | None = 1,
        retry_after: float = 0.05,
        *,
        is_global: bool = False,
        probability: float = 1.0,
        seed: int = 0,
    ) -> Fault:
        """Answer matching requests with a 429 (per-route, or the bot's global limit) that discord.py retries."""
        return self._add(
            Fault(method.upper(), route_pattern, "429", times, retry_after=retry_after, is_global=is_global),
            probability,
            seed,
        )

    def server_error(
        self,
        method: str,
        route_pattern: str,
        status: int = 502,
        times: int | None = 1,
        *,
        probability: float = 1.0,
        seed: int = 0,
    ) -> Fault:
        """Answer matching requests with a 5xx before doing anything."""
        fault = Fault(method.upper(), route_pattern, "5xx", times, status=_server_status(status))
        return self._add(fault, probability, seed)

    def server_error_after(
        self,
        method: str,
        route_pattern: str,
        status: int = 502,
        times: int | None = 1,
        *,
        probability: float = 1.0,
        seed: int = 0,
    ) -> Fault:
        """Do the work of matching requests (store, dispatch events), then answer a 5xx instead of the result."""
        fault = Fault(method.upper(), route_pattern, "5xx-after", times, status=_server_status(status))
        return self._add(fault, probability, seed)

    def delay(self, method: str, route_pattern: str, seconds: float, times: int | None = None) -> Fault:
        """Delay matching requests (all of them unless ``times``) by ``seconds`` before handling."""
        return self._add(Fault(method.upper(), route_pattern, "delay", times, seconds=seconds), 1.0, 0)

    def on_done(self, method: str, route_pattern: str, callback: Callback, times: int | None = 1) -> Fault:
        """Await ``callback(handled)`` after a matching request's work succeeded and before its response is sent."""
        return self._add(Fault(method.upper(), route_pattern, "hook", times, callback=callback), 1.0, 0)

    def _add(self, fault: Fault, probability: float, seed: int) -> Fault:
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be within 0..1, not {probability}")
        fault.probability, fault.rng = probability, random.Random(seed)
        self.active.append(fault)
        return fault

    def take(self, method: str, template: str, path: str, phase: str = BEFORE) -> list[Fault]:
        """The faults that apply to this request in ``phase``, counting them against their ``times``."""
        taken = []
        for fault in list(self.active):
            if fault.phase != phase or not fault.matches(method, template, path):
                continue
            if fault.probability < 1.0 and fault.rng.random() >= fault.probability:
                continue
            taken.append(fault)
            fault.fired += 1
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.active.remove(fault)
        return taken

    def clear(self) -> None:
        self.active.clear()


def _server_status(status: int) -> int:
    if status not in SERVER_ERRORS:
        raise ValueError(f"status must be one of {sorted(SERVER_ERRORS)}, not {status}")
    return status
