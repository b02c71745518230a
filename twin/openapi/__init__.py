"""Validate the REST requests the bot makes against Discord's own OpenAPI description.

The twin's HTTP middleware calls :meth:`ApiSpec.check` for every request discord.py sends, so a request
that Discord's published API description rejects fails the test loudly instead of silently "working"
against the fake server.

Spec: ``shared/discord-api-spec/openapi.json`` (OpenAPI 3.1, JSON Schema 2020-12 dialect). The spec
document is registered once in a :class:`referencing.Registry` under :data:`SPEC_URI`; each request-body
validator is ``{"$ref": "<SPEC_URI>#/paths/.../schema"}`` so every ``#/components/schemas/X`` inside it
resolves against the spec document. Validators are built lazily and cached per
(route template, method, content type).

Content types. Every operation with a request body offers ``application/json`` except three
(``POST /applications/{application_id}/attachment``, ``POST /guilds/{guild_id}/stickers`` and
``PUT /invites/{code}/target-users``), which are ``multipart/form-data`` only. For the twelve operations
that offer both, the spec's multipart schema is ``allOf: [<the JSON schema>, {files[0..9]: binary}]``,
i.e. the JSON schema plus optional file parts, and it says nothing about the ``payload_json`` part that
discord.py (and Discord) actually use. So :meth:`ApiSpec.check` takes no content type: for a multipart
request the caller passes the parsed ``payload_json`` object, which is validated against the operation's
``application/json`` schema (equivalent to the multipart schema minus the file parts). For the three
multipart-only operations the caller passes a dict of the non-file form fields, validated against the
multipart schema with the binary file parts removed from ``required`` (files are not inspected).

Formats (``uri``, ``date-time``, ``int32`` ...) are annotations only, as in Draft 2020-12 by default.

Speed. Plain jsonschema spends most of its time in ``oneOf``/``anyOf`` unions (message components are a
7-way ``oneOf`` nested inside itself, nullable fields are ``oneOf: [{"type": "null"}, ...]``). The
validator class used here replaces those two keywords with exact equivalents that first drop the
alternatives an instance cannot possibly satisfy: an alternative whose top-level ``type`` excludes the
instance's type, or, for an object instance, whose ``properties`` give a ``const``/``enum`` for a key the
instance has with a value outside it (the ``type`` discriminator of components and interaction
callbacks). Dropped alternatives would fail anyway, so the verdict is unchanged; only the error context
gets narrower (which makes messages more to the point). When nothing survives the narrowing the full
union is evaluated as usual.

Leniencies (each deliberate, each written down here and nowhere else):

1. Snowflakes as JSON integers. The spec has exactly one snowflake schema,
   ``#/components/schemas/SnowflakeType`` = ``{"type": "string", "pattern": "^(0|[1-9][0-9]*)$"}``
   (referenced ~630 times). Discord's API *returns* snowflakes as strings but *accepts* them as JSON
   integers too, and discord.py 2.7.1 relies on that on ordinary send paths: ``File.to_dict(index)``
   puts ``{"id": <int index>}`` into ``attachments`` for every upload, ``MessageReference.to_dict`` sends
   ``message_id``/``channel_id``/``guild_id`` as ints for every reply, ``AllowedMentions.to_dict`` sends
   ``users``/``roles`` as lists of ints. So in the in-memory copy of the spec, and only for that one
   component, ``SnowflakeType`` becomes ``anyOf: [<original>, {"type": "integer", "minimum": 0,
   "maximum": 2**64 - 1}]``. Everything else, including negative or non-integral numbers and
   non-numeric strings in snowflake fields, is still rejected.

2. Query strings are text. Query (and path) parameter values arrive as strings, so before validation a
   value is decoded to the JSON type its schema asks for: integers/numbers parsed as decimal, booleans
   from ``true``/``false``/``True``/``False``/``1``/``0`` (discord.py sends ``int(bool)``, e.g.
   ``with_counts=1``, and Discord's query parser accepts it), array-typed parameters from a comma
   separated list. An undecodable value stays a string, so the schema reports it. Unknown query
   parameters are ignored (the spec is not exhaustive about them).

Where things are: :class:`ApiSpec` (loading, routing, parameter decoding, checking) in ``_spec.py``; the
validator's fast paths ("Speed" above) in ``_fast.py``; how problems are worded in ``_errors.py``; where the
document comes from in ``_source.py``. Import from ``twin.openapi``.
"""

from twin.openapi._source import DEFAULT_SPEC_PATH, SPEC_ENV_VAR, SPEC_URI
from twin.openapi._spec import ApiSpec, default_spec

__all__ = ["ApiSpec", "DEFAULT_SPEC_PATH", "SPEC_ENV_VAR", "SPEC_URI", "default_spec"]
