"""The spec checker's fast paths must agree with plain jsonschema on every body, valid or not.

ApiSpec replaces jsonschema's oneOf/anyOf/$ref/properties/items with narrowing and memoising versions for speed. This
test validates a corpus of real discord.py bodies, and hundreds of seeded mutations of them, with both ApiSpec and an
unmodified Draft 2020-12 validator over the same document, and requires the same verdict every time.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import discord
import pytest
from jsonschema import Draft202012Validator

from twin.openapi import SPEC_URI, ApiSpec, default_spec
from twin.openapi._spec import _JSON, _pointer

CHANNEL = "/channels/1234567890123456789"


def _message_body() -> dict[str, Any]:
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="Claim", custom_id="help:claim:12", style=discord.ButtonStyle.primary))
    view.add_item(
        discord.ui.Select(custom_id="mentors:slot:3", options=[discord.SelectOption(label="Mon 7:30", value="1")])
    )
    embed = discord.Embed(title="Request #12", description="What would help", colour=0xFFAA00)
    embed.add_field(name="Topic", value="resume").set_footer(text="footer")
    params = discord.http.handle_message_parameters(
        content="hello", embed=embed, view=view, allowed_mentions=discord.AllowedMentions.none()
    )
    assert params.payload is not None
    return dict(params.payload)


PRIVATE_THREAD = {"name": "help-1-resume", "type": 12, "invitable": False, "auto_archive_duration": 10080}
CALLBACK = {"type": 4, "data": {**_message_body(), "flags": 64}}
# (method, path, body, whether the spec is strict enough there that some mutations must be rejected).
# PATCH /channels/{id} is a union whose most permissive alternative admits nearly any object, so it rejects little.
CORPUS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("POST", f"{CHANNEL}/messages", _message_body(), True),
    ("PATCH", f"{CHANNEL}/messages/1234567890123456788", _message_body(), True),
    ("POST", f"{CHANNEL}/threads", PRIVATE_THREAD, True),
    ("PATCH", CHANNEL, {"archived": True, "locked": True}, False),
    ("POST", "/interactions/1234567890123456787/tok/callback", CALLBACK, True),
    ("POST", "/users/@me/channels", {"recipient_id": "1234567890123456786"}, True),
]


def _plain_validator(spec: ApiSpec, template: str, method: str) -> Draft202012Validator:
    pointer = _pointer("paths", template, method.lower(), "requestBody", "content", _JSON, "schema")
    return Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=spec._registry)


def _mutate(value: Any, rng: random.Random) -> Any:
    """One random structural or value change somewhere in a JSON value."""
    if isinstance(value, dict) and value:
        key = rng.choice(sorted(value))
        roll = rng.random()
        out = dict(value)
        if roll < 0.2:
            del out[key]
        elif roll < 0.3:
            out["unexpected_" + key] = 1
        else:
            out[key] = _mutate(value[key], rng)
        return out
    if isinstance(value, list) and value:
        i = rng.randrange(len(value))
        out_list = list(value)
        out_list[i] = _mutate(value[i], rng) if rng.random() < 0.8 else None
        return out_list
    return rng.choice(
        [None, True, -1, 0, 7, 12, 2**70, 1.5, "", "x" * 300, "12", "twelve", [], {}, "x" * 5000, 64, 10080]
    )


@pytest.mark.parametrize(("method", "path", "body", "strict"), CORPUS, ids=[f"{m} {p}" for m, p, _, _ in CORPUS])
def test_fast_checker_agrees_with_plain_jsonschema_on_real_bodies_and_mutations(
    method: str, path: str, body: dict[str, Any], strict: bool
) -> None:
    spec = default_spec()
    template = spec.route_template(method, path)
    assert template is not None
    plain = _plain_validator(spec, template, method)
    rng = random.Random(f"{method} {path}")
    bodies = [body] + [_mutate(copy.deepcopy(body), rng) for _ in range(100)]
    disagreements = []
    for candidate in bodies:
        fast_ok = not spec.check(method, path, candidate)
        plain_ok = plain.is_valid(candidate)
        if fast_ok != plain_ok:
            disagreements.append((fast_ok, plain_ok, candidate))
    assert not spec.check(method, path, body), "the unmutated discord.py body must be valid"
    assert not disagreements, disagreements[:3]
    if strict:  # the mutations must exercise both verdicts, or the comparison proves little
        assert any(not plain.is_valid(candidate) for candidate in bodies)
