"""The one middleware every REST request passes: it logs the request, applies injected faults and the modelled
round trip, parses JSON or multipart bodies, checks the request against Discord's OpenAPI description (recording a
violation for a route the twin does not model), and authenticates the bot token."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from twin.faults import AFTER, BEFORE, SERVER_ERRORS, Handled
from twin.http import API, APP, BODY, FILES, SPEC_CHECK, TWIN, ApiError, Handler, error_response, json_response
from twin.server import Twin
from twin.state import Application, Attachment

log = logging.getLogger(__name__)

_NO_AUTH = ("/interactions/", "/webhooks/")


def spec_checker() -> Callable[[str, str, object | None, dict[str, str]], list[str]]:
    from twin import openapi

    spec = openapi.default_spec() if hasattr(openapi, "default_spec") else openapi.ApiSpec.load()

    def check(method: str, path: str, body: object | None, query: dict[str, str]) -> list[str]:
        return spec.check(method, path, body, query)

    return check


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    twin: Twin = request.app[TWIN]
    if not request.path.startswith(API + "/"):
        return await handler(request)
    started = time.monotonic()
    path = request.path[len(API) :]
    resource = request.match_info.route.resource
    modelled = request.match_info.http_exception is None and resource is not None
    template = resource.canonical[len(API) :] if modelled and resource is not None else path
    response: web.StreamResponse | None = None
    try:
        if twin.latency:
            await asyncio.sleep(twin.latency / 2)  # the request's way there ...
        response = await _process(request, handler, twin, path, template, modelled)
        if twin.latency:
            await asyncio.sleep(twin.latency / 2)  # ... and the response's way back
        return response
    finally:
        status = response.status if response is not None else 500
        twin.record(_record(request.method, template, status, path, time.monotonic() - started))


def _record(method: str, template: str, status: int, path: str, seconds: float) -> Any:
    from twin.server import RequestRecord

    return RequestRecord(method, template, status, path, seconds)


async def _process(
    request: web.Request, handler: Handler, twin: Twin, path: str, template: str, modelled: bool
) -> web.StreamResponse:
    injected = await _apply_faults(request, twin, template, path)
    if injected is not None:
        return injected
    try:
        body, files = await _read_body(request)
    except ApiError as error:
        twin.violation(f"{request.method} {template}: {error.message}")
        return error_response(error)
    request[BODY], request[FILES] = body, files
    problems = request.app[SPEC_CHECK](request.method, path, body, dict(request.query))
    if not modelled:
        twin.violation(f"{request.method} {path}: route not modelled by the twin ({'; '.join(problems)})")
        return json_response({"message": "404: Not Found", "code": 0}, 404)
    if problems:
        twin.violation(f"{request.method} {template}: rejected by Discord's OpenAPI spec: {'; '.join(problems)}")
        return error_response(ApiError(400, 50035, "Invalid Form Body", {"_spec": problems}))
    token = None
    if not path.startswith(_NO_AUTH):
        app = _authenticate(request, twin)
        if app is None:
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        request[APP], token = app, app.token
    if twin.limiter is None:
        return await _handle(request, handler, twin, template, path)
    decision = twin.limiter.decide(request.method, template, path, request.match_info, token)
    if not decision.allowed:
        log.info("%s %s -> 429 (global=%s)", request.method, template, decision.is_global)
        return rate_limited(decision.retry_after, is_global=decision.is_global, bucket_headers=decision.headers)
    response = await _handle(request, handler, twin, template, path)
    response.headers.update(decision.headers)
    return response


async def _handle(request: web.Request, handler: Handler, twin: Twin, template: str, path: str) -> web.StreamResponse:
    try:
        response = await handler(request)
    except ApiError as error:
        log.info("%s %s -> %s %s", request.method, template, error.status, error.code)
        return error_response(error)
    if 200 <= response.status < 300:
        return await _apply_after_faults(request, twin, template, path, response)
    return response


async def _apply_faults(request: web.Request, twin: Twin, template: str, path: str) -> web.Response | None:
    for fault in twin.faults.take(request.method, template, path, BEFORE):
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        elif fault.kind == "429":
            log.info("%s %s -> injected 429 (global=%s)", request.method, template, fault.is_global)
            return rate_limited(fault.retry_after, is_global=fault.is_global)
        elif fault.kind == "5xx":
            log.info("%s %s -> injected %s before the work", request.method, template, fault.status)
            return server_error(fault.status)
    return None


async def _apply_after_faults(
    request: web.Request, twin: Twin, template: str, path: str, response: web.StreamResponse
) -> web.StreamResponse:
    """The work is done: run ``on_done`` hooks, then answer an injected 5xx instead of the result if one applies."""
    faults = twin.faults.take(request.method, template, path, AFTER)
    if not faults:
        return response
    data: Any = None
    if isinstance(response, web.Response) and isinstance(response.body, bytes) and response.body:
        data = json.loads(response.body)
    handled = Handled(request.method, template, path, response.status, data)
    for fault in faults:
        if fault.callback is not None:
            await fault.callback(handled)
    failing = next((f for f in faults if f.kind == "5xx-after"), None)
    if failing is None:
        return response
    log.info("%s %s -> injected %s after the work", request.method, template, failing.status)
    return server_error(failing.status)


def server_error(status: int) -> web.Response:
    """A 5xx in Discord's error shape."""
    return json_response({"message": f"{status}: {SERVER_ERRORS[status]}", "code": 0}, status)


def rate_limited(
    retry_after: float, *, is_global: bool = False, bucket_headers: dict[str, str] | None = None
) -> web.Response:
    """A 429 as Discord sends it: ``Via`` (without it discord.py assumes a Cloudflare ban), ``retry_after`` and
    ``global`` in the body; a per-route one with the whole bucket header set and scope ``user``, a global one with
    ``X-RateLimit-Global: true`` and scope ``global`` and no bucket headers (a partial set would break discord.py).
    """
    headers = {"Via": "1.1 google", "Retry-After": str(max(1, math.ceil(retry_after)))}
    if is_global:
        headers.update({"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"})
    else:
        headers.update(bucket_headers or _injected_bucket(retry_after))
        headers["X-RateLimit-Scope"] = "user"
    # Rounded up: a client that sleeps exactly retry_after must not come back a moment early.
    body = {"message": "You are being rate limited.", "retry_after": _up(retry_after), "global": is_global}
    return json_response(body, 429, headers)


def _up(seconds: float) -> float:
    return math.ceil(round(seconds * 1000, 6)) / 1000


def _injected_bucket(retry_after: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Bucket": "twin-injected",
    }


async def _read_body(request: web.Request) -> tuple[Any, list[Attachment]]:
    if not request.can_read_body:
        return None, []
    if request.content_type.startswith("multipart/"):
        return await _read_multipart(request)
    raw = await request.read()
    if not raw:
        return None, []
    try:
        return json.loads(raw), []
    except ValueError as exc:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from exc


async def _read_multipart(request: web.Request) -> tuple[Any, list[Attachment]]:
    twin: Twin = request.app[TWIN]
    reader = await request.multipart()
    payload: Any = None
    files: list[tuple[int, Attachment]] = []
    while True:
        part = await reader.next()
        if part is None:
            break
        name = getattr(part, "name", None) or ""
        data = await part.read()  # type: ignore[union-attr]
        if name == "payload_json":
            payload = json.loads(data)
        elif name.startswith("files["):
            index = int(name[len("files[") : -1])
            content_type = part.headers.get("Content-Type")  # type: ignore[union-attr]
            filename = getattr(part, "filename", None) or f"file{index}"
            attachment = Attachment(twin.state.ids.next(), filename, bytes(data), content_type)
            files.append((index, attachment))
    described = {int(a["id"]): a for a in (payload or {}).get("attachments", []) if isinstance(a, dict)}
    for index, attachment in files:
        meta = described.get(index, {})
        attachment.description = meta.get("description")
        attachment.filename = meta.get("filename") or attachment.filename
    return payload, [a for _, a in sorted(files, key=lambda f: f[0])]


def _authenticate(request: web.Request, twin: Twin) -> Application | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bot "):
        return None
    return twin.state.app_by_token(header[len("Bot ") :])
