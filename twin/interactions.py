"""Interactions: building INTERACTION_CREATE, the callback endpoint and the interaction webhooks.

Discord's rules modelled here: one callback per interaction (40060 after that), within 3 seconds (later answers
are recorded as violations and refused with 10062), tokens valid for 15 minutes, follow-ups only after the
callback, ``@original`` being the response message (or, for component updates, the component's message).
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from twin import limits
from twin import state as s
from twin.http import BODY, FILES, TWIN, ApiError, Handler, json_response, no_content, unknown_message
from twin.state import Application, Channel, Interaction, Message, Scope, User

if TYPE_CHECKING:
    from twin.server import Twin

log = logging.getLogger(__name__)

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def create_interaction(
    twin: Twin,
    app: Application,
    user: User,
    channel: Channel,
    kind: int,
    data: dict[str, Any],
    message: Message | None = None,
) -> Interaction:
    """Store an interaction and dispatch INTERACTION_CREATE to the application only."""
    state = twin.state
    guild = state.guilds.get(channel.guild_id or 0)
    interaction_id = state.ids.next()
    token = f"aW50ZXJhY3Rpb24{interaction_id}:{secrets.token_urlsafe(48)}"
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(app.id),
        "type": kind,
        "data": data,
        "channel": _interaction_channel(twin, channel, user),
        "channel_id": str(channel.id),
        "token": token,
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        "app_permissions": str(state.permissions(app.bot.id, channel) if guild else _dm_app_permissions()),
        "context": 0 if guild else 1,
    }
    if guild is not None:
        member = guild.members[user.id]
        payload.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": "en-US", "features": []},
            guild_locale="en-US",
            member={**member.payload(), "permissions": str(state.permissions(user.id, channel))},
            authorizing_integration_owners={"0": str(guild.id)},
        )
    else:
        payload.update(user=user.payload(), authorizing_integration_owners={"1": str(user.id)})
    if message is not None:
        payload["message"] = message.payload(twin.base_url)
    interaction = Interaction(
        id=interaction_id,
        token=token,
        application_id=app.id,
        type=kind,
        user_id=user.id,
        channel_id=channel.id,
        guild_id=guild.id if guild else None,
        payload=payload,
        source_message_id=message.id if message else None,
    )
    state.interactions[interaction.id] = interaction
    log.info("interaction %s (type %s) for application %s", interaction.id, kind, app.id)
    # To the shard of the interaction's guild; one from a DM goes to shard 0, as on Discord.
    state.emit("INTERACTION_CREATE", payload, Scope(guild_id=interaction.guild_id, application_id=app.id))
    return interaction


def _dm_app_permissions() -> int:
    return s.VIEW_CHANNEL | s.SEND_MESSAGES | s.EMBED_LINKS | s.ATTACH_FILES | s.READ_MESSAGE_HISTORY


def _interaction_channel(twin: Twin, channel: Channel, user: User) -> dict[str, Any]:
    data = channel.payload()
    if channel.guild_id:
        data["permissions"] = str(twin.state.permissions(user.id, channel))
    return data


# ---------------------------------------------------------------------- lookup


def _twin(request: web.Request) -> Twin:
    twin: Twin = request.app[TWIN]
    return twin


def _by_id(request: web.Request) -> Interaction:
    twin = _twin(request)
    raw = request.match_info["interaction_id"]
    interaction = twin.state.interactions.get(int(raw)) if raw.isdigit() else None
    if interaction is None or interaction.token != request.match_info["interaction_token"]:
        raise ApiError(404, 10062, "Unknown interaction")
    if interaction.age() > s.INTERACTION_TTL_SECONDS:
        raise ApiError(404, 10062, "Unknown interaction")
    return interaction


def _by_token(request: web.Request) -> Interaction:
    twin = _twin(request)
    token = request.match_info["webhook_token"]
    app_id = request.match_info["webhook_id"]
    for interaction in twin.state.interactions.values():
        if interaction.token == token and str(interaction.application_id) == app_id:
            if interaction.age() > s.INTERACTION_TTL_SECONDS or interaction.response_type is None:
                break
            return interaction
    raise ApiError(404, 10015, "Unknown Webhook")


def _flags(data: dict[str, Any]) -> int:
    return int(data.get("flags") or 0)


def _check(problems: list[str]) -> None:
    if problems:
        raise ApiError(400, 50035, "Invalid Form Body", {"_errors": problems})


# ---------------------------------------------------------------------- callback


async def callback(request: web.Request) -> web.Response:
    twin = _twin(request)
    interaction = _by_id(request)
    if interaction.response_type is not None:
        raise ApiError(400, 40060, "Interaction has already been acknowledged.")
    if interaction.age() > s.RESPONSE_WINDOW_SECONDS:
        twin.violation(
            f"interaction {interaction.name!r} answered after {interaction.age():.2f}s "
            f"(Discord's window is {s.RESPONSE_WINDOW_SECONDS:.0f}s)"
        )
        raise ApiError(404, 10062, "Unknown interaction")
    body = request[BODY] if isinstance(request[BODY], dict) else {}
    kind = int(body.get("type", 0))
    data = body.get("data") or {}
    message = _respond(twin, interaction, kind, data, request[FILES])
    interaction.response_type = kind
    if not interaction.responded.done():
        interaction.responded.set_result(kind)
    interaction.activity.set()
    log.info("interaction %s answered with type %s", interaction.id, kind)
    result: dict[str, Any] = {
        "interaction": {
            "id": str(interaction.id),
            "type": interaction.type,
            "response_message_id": str(message.id) if message else None,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(message and message.ephemeral_for),
        },
        "resource": {"type": kind},
    }
    if message is not None and kind in (4, 5, 7):
        result["resource"]["message"] = message.payload(twin.base_url)
    return json_response(result)


def _respond(
    twin: Twin, interaction: Interaction, kind: int, data: dict[str, Any], files: list[s.Attachment]
) -> Message | None:
    state = twin.state
    app = state.apps[interaction.application_id]
    channel = state.channel(interaction.channel_id)
    if channel is None:
        raise ApiError(404, 10003, "Unknown Channel")
    ephemeral = interaction.user_id if _flags(data) & s.EPHEMERAL else None
    if kind == 4:
        _check(limits.message_problems(data))
        if not (data.get("content") or data.get("embeds") or data.get("components") or files):
            raise ApiError(400, 50006, "Cannot send an empty message")
        message = twin.post_message(
            channel, app.bot, data, files, ephemeral_for=ephemeral, webhook_id=app.id,
            application_id=app.id, interaction=interaction,
        )  # fmt: skip
        interaction.original_message_id = message.id
        return message
    if kind == 5:
        if interaction.type not in (APPLICATION_COMMAND, MESSAGE_COMPONENT, MODAL_SUBMIT):
            raise ApiError(400, 50035, "Invalid Form Body", {"type": "not valid for this interaction"})
        message = twin.post_message(
            channel, app.bot, {"flags": s.LOADING}, None, ephemeral_for=ephemeral, webhook_id=app.id,
            application_id=app.id, interaction=interaction,
        )  # fmt: skip
        interaction.original_message_id = message.id
        return message
    if kind in (6, 7):
        source = state.messages.get(interaction.source_message_id or 0)
        if source is None or interaction.type not in (MESSAGE_COMPONENT, MODAL_SUBMIT):
            raise ApiError(400, 50035, "Invalid Form Body", {"type": "interaction has no message to update"})
        interaction.original_message_id = source.id
        if kind == 7:
            _check(limits.message_problems(data))
            twin.edit_message(source, data, files)
        return source
    if kind == 8:
        if interaction.type != AUTOCOMPLETE:
            raise ApiError(400, 50035, "Invalid Form Body", {"type": "not an autocomplete interaction"})
        choices = list(data.get("choices") or [])
        _check(limits.choices_problems(choices))
        interaction.choices = choices
        return None
    if kind == 9:
        if interaction.type not in (APPLICATION_COMMAND, MESSAGE_COMPONENT):
            raise ApiError(400, 50035, "Invalid Form Body", {"type": "a modal cannot answer a modal"})
        _check(limits.modal_problems(data))
        interaction.modal = data
        return None
    raise ApiError(400, 50035, "Invalid Form Body", {"type": f"unsupported callback type {kind}"})


# ---------------------------------------------------------------------- webhooks


async def followup(request: web.Request) -> web.Response:
    twin = _twin(request)
    interaction = _by_token(request)
    body = request[BODY] if isinstance(request[BODY], dict) else {}
    files = request[FILES]
    _check(limits.message_problems(body))
    if not (body.get("content") or body.get("embeds") or body.get("components") or files):
        raise ApiError(400, 50006, "Cannot send an empty message")
    app = twin.state.apps[interaction.application_id]
    channel = twin.state.channel(interaction.channel_id)
    if channel is None:
        raise ApiError(404, 10003, "Unknown Channel")
    ephemeral = interaction.user_id if _flags(body) & s.EPHEMERAL else None
    original = twin.state.messages.get(interaction.original_message_id or 0)
    if original is not None and original.flags & s.LOADING:
        # The first follow-up after a deferral edits the loading message, as Discord does.
        twin.edit_message(original, body, files)
        message = original
    else:
        message = twin.post_message(
            channel, app.bot, body, files, ephemeral_for=ephemeral, webhook_id=app.id,
            application_id=app.id, interaction=interaction,
        )  # fmt: skip
    interaction.followup_ids.append(message.id)
    interaction.activity.set()
    if request.query.get("wait") in ("true", "1", "True"):
        return json_response(message.payload(twin.base_url))
    return no_content()


def _webhook_message(request: web.Request) -> tuple[Interaction, Message]:
    twin = _twin(request)
    interaction = _by_token(request)
    raw = request.match_info["message_id"]
    if raw == "@original":
        message_id = interaction.original_message_id or 0
    elif raw.isdigit():
        message_id = int(raw)
        if message_id not in interaction.followup_ids and message_id != interaction.original_message_id:
            raise unknown_message()
    else:
        raise unknown_message()
    message = twin.state.messages.get(message_id)
    if message is None or message.deleted:
        raise unknown_message()
    return interaction, message


async def get_webhook_message(request: web.Request) -> web.Response:
    _, message = _webhook_message(request)
    return json_response(message.payload(_twin(request).base_url))


async def patch_webhook_message(request: web.Request) -> web.Response:
    twin = _twin(request)
    interaction, message = _webhook_message(request)
    body = request[BODY] if isinstance(request[BODY], dict) else {}
    _check(limits.message_problems(body))
    twin.edit_message(message, body, request[FILES])
    interaction.activity.set()
    return json_response(message.payload(twin.base_url))


async def delete_webhook_message(request: web.Request) -> web.Response:
    twin = _twin(request)
    interaction, message = _webhook_message(request)
    twin.delete_message(message)
    interaction.activity.set()
    return no_content()


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", callback),
    ("POST", "/webhooks/{webhook_id}/{webhook_token}", followup),
    ("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", get_webhook_message),
    ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", patch_webhook_message),
    ("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", delete_webhook_message),
]
