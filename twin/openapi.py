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
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, by_relevance
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["ApiSpec", "DEFAULT_SPEC_PATH", "SPEC_ENV_VAR", "SPEC_URI", "default_spec"]

SPEC_ENV_VAR = "PORCHLIGHT_OPENAPI_SPEC"
DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[2] / "shared/discord-api-spec/openapi.json"
SPEC_URI = "urn:porchlight:discord-openapi"

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_JSON = "application/json"
_MULTIPART = "multipart/form-data"
_MAX_PROBLEMS = 10
_relevance = by_relevance()
_SNOWFLAKE_INT = {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}
_PARAM_RE = re.compile(r"^\{[^{}/]+\}$")
_TRUE = frozenset({"true", "True", "1"})
_FALSE = frozenset({"false", "False", "0"})


def _pointer(*parts: str) -> str:
    """JSON pointer (RFC 6901) to ``parts``, usable after '#'."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


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


class _Shape(NamedTuple):
    """A union alternative: the JSON types it admits (None: any), the values it admits (const/enum;
    None: any), {property: admitted values} for its const/enum properties, and the schema to descend
    into (the alternative itself, or the target of a pure ``$ref`` alternative)."""

    types: frozenset[str] | None
    values: list[object] | None
    enums: dict[str, list[object]]
    target: Any


@dataclass
class _Plan:
    source: list[Any]
    shapes: list[_Shape]
    by_value: dict[tuple[bool, object], list[int]] | None  # set when every alternative is a constant


@dataclass
class _Operation:
    template: str
    method: str  # upper case
    op: dict[str, Any]
    path_item: dict[str, Any]
    params: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (in, name) -> param


@dataclass
class _Node:
    literals: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    templates: list[str] = field(default_factory=list)


class ApiSpec:
    """Discord's OpenAPI description, ready to check requests against."""

    def __init__(self, document: dict[str, Any], source: str = "<memory>") -> None:
        self.source = source
        self._doc = copy.deepcopy(document)
        schemas = self._doc.setdefault("components", {}).setdefault("schemas", {})
        if "SnowflakeType" in schemas:  # Leniency 1 (see module docstring).
            schemas["SnowflakeType"] = {"anyOf": [schemas["SnowflakeType"], _SNOWFLAKE_INT]}
        self._registry: Registry[Any] = Registry().with_resource(
            SPEC_URI, Resource.from_contents(self._doc, default_specification=DRAFT202012)
        )
        self._ops: dict[str, dict[str, _Operation]] = {}
        self._root = _Node()
        for template, item in self._doc.get("paths", {}).items():
            ops: dict[str, _Operation] = {}
            for method in _HTTP_METHODS:
                if method in item:
                    op = _Operation(template, method.upper(), item[method], item)
                    for prm in [*item.get("parameters", []), *item[method].get("parameters", [])]:
                        op.params[(prm["in"], prm["name"])] = prm  # operation level overrides path level
                    ops[method.upper()] = op
            self._ops[template] = ops
            node = self._root
            for seg in template.strip("/").split("/"):
                if _PARAM_RE.match(seg):
                    node.param = node.param or _Node()
                    node = node.param
                else:
                    node = node.literals.setdefault(seg, _Node())
            node.templates.append(template)
        self._validators: dict[tuple[str, str, str], Validator] = {}
        self._lock = threading.Lock()
        self._plans: dict[int, _Plan] = {}
        self._cls: type[Validator] = validators.extend(
            Draft202012Validator,
            {
                "oneOf": self._one_of,
                "anyOf": self._any_of,
                "$ref": self._ref,
                "properties": self._properties,
                "items": self._items,
            },
        )
        self._simple: dict[int, tuple[object, Callable[[object], bool] | None]] = {}
        # Memo of scalar values known to satisfy a (non-leaf) subschema, and of path-parameter verdicts.
        # Exact (only successes of deterministic checks are remembered); bounded by clearing.
        self._scalar_ok: set[tuple[int, type, object]] = set()
        self._path_memo: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[str]] = {}
        self._targets: dict[str, Any] = {}

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: Path | None = None) -> ApiSpec:
        """Load the spec from ``path``, else ``$PORCHLIGHT_OPENAPI_SPEC``, else the shared checkout."""
        if path is None:
            env = os.environ.get(SPEC_ENV_VAR)
            path = Path(env) if env else DEFAULT_SPEC_PATH
        with open(path, encoding="utf-8") as fh:
            document = json.load(fh)
        return cls(document, source=str(path))

    # ------------------------------------------------------------------ routing

    def _candidates(self, path: str) -> list[str]:
        """Templates matching ``path``, most specific first (a literal segment beats a ``{param}``
        segment at the first position where two templates differ)."""
        path = path.split("?", 1)[0]
        segs = path.strip("/").split("/")
        if any(s == "" for s in segs):
            return []
        found: list[str] = []

        def walk(node: _Node, i: int) -> None:
            if i == len(segs):
                found.extend(node.templates)
                return
            child = node.literals.get(segs[i])
            if child is not None:
                walk(child, i + 1)
            if node.param is not None:
                walk(node.param, i + 1)

        walk(self._root, 0)
        return found

    def _path_values(self, template: str, path: str) -> dict[str, str]:
        segs = path.split("?", 1)[0].strip("/").split("/")
        values: dict[str, str] = {}
        for tseg, seg in zip(template.strip("/").split("/"), segs, strict=True):
            if _PARAM_RE.match(tseg):
                values[tseg[1:-1]] = seg
        return values

    def _resolve(self, method: str, path: str) -> tuple[_Operation | None, list[str], list[str]]:
        """(operation, candidates, problems with its path parameters)."""
        method = method.upper()
        candidates = self._candidates(path)
        first_with_method: tuple[_Operation, list[str]] | None = None
        for template in candidates:
            op = self._ops[template].get(method)
            if op is None:
                continue
            values = self._path_values(template, path)
            memo_key = (template, method, tuple(values.items()))
            problems = self._path_memo.get(memo_key)  # type: ignore[assignment]
            if problems is None:
                problems = self._check_params(op, "path", values)
                if len(self._path_memo) > 100_000:
                    self._path_memo.clear()
                self._path_memo[memo_key] = problems
            if not problems:
                return op, candidates, []
            if first_with_method is None:
                first_with_method = (op, problems)
        if first_with_method is not None:
            return first_with_method[0], candidates, first_with_method[1]
        return None, candidates, []

    def route_template(self, method: str, path: str) -> str | None:
        """The spec's path template serving ``method path`` (e.g. ``/channels/{channel_id}/messages``),
        or None when there is no such route or the route does not allow the method."""
        op, _, _ = self._resolve(method, path)
        return op.template if op else None

    # ------------------------------------------------------------------ validators

    def _validator(self, op: _Operation, key: str, pointer: str) -> Validator:
        cache_key = (op.template, op.method, key)
        validator = self._validators.get(cache_key)
        if validator is None:
            with self._lock:
                validator = self._validators.get(cache_key)
                if validator is None:
                    schema: dict[str, Any] = {"$ref": f"{SPEC_URI}#{pointer}"}
                    validator = self._cls(schema, registry=self._registry)
                    self._validators[cache_key] = validator
        return validator

    def _body_validator(self, op: _Operation) -> Validator | None:
        content: dict[str, Any] = op.op.get("requestBody", {}).get("content", {})
        base = ("paths", op.template, op.method.lower(), "requestBody", "content")
        if _JSON in content:
            return self._validator(op, _JSON, _pointer(*base, _JSON, "schema"))
        if _MULTIPART in content:
            cache_key = (op.template, op.method, _MULTIPART)
            validator = self._validators.get(cache_key)
            if validator is None:
                schema = copy.deepcopy(content[_MULTIPART]["schema"])
                binary = {
                    name
                    for name, sub in schema.get("properties", {}).items()
                    if isinstance(sub, dict) and sub.get("contentEncoding") == "binary"
                }
                schema["required"] = [r for r in schema.get("required", []) if r not in binary]
                for name in binary:
                    del schema["properties"][name]
                # The three multipart-only schemas are self-contained (no $ref), so validating the
                # edited copy on its own is exact.
                validator = self._cls(schema, registry=self._registry)
                with self._lock:
                    self._validators[cache_key] = validator
            return validator
        return None

    def _param_validator(self, op: _Operation, where: str, name: str) -> Validator:
        prm = op.params[(where, name)]
        in_op = any(p is prm for p in op.op.get("parameters", []))
        if in_op:
            idx = next(i for i, p in enumerate(op.op["parameters"]) if p is prm)
            pointer = _pointer("paths", op.template, op.method.lower(), "parameters", str(idx), "schema")
        else:
            idx = next(i for i, p in enumerate(op.path_item["parameters"]) if p is prm)
            pointer = _pointer("paths", op.template, "parameters", str(idx), "schema")
        return self._validator(op, f"{where}:{name}", pointer)

    # ------------------------------------------------------------------ fast unions

    def _shape(self, alternative: object) -> _Shape:
        """What is known up front about one union alternative (see :class:`_Shape`)."""
        target: Any = alternative
        for _ in range(5):  # follow a chain of pure {"$ref": "#/..."} alternatives
            if isinstance(target, dict) and set(target) == {"$ref"} and target["$ref"].startswith("#/"):
                target = self._lookup(target["$ref"][1:])
            else:
                break
        types: frozenset[str] | None = None
        values: list[object] | None = None
        enums: dict[str, list[object]] = {}
        if isinstance(target, dict) and "$ref" not in target:
            t = target.get("type")
            if isinstance(t, str):
                types = frozenset([t])
            elif isinstance(t, list):
                types = frozenset(t)
            if "const" in target:
                values = [target["const"]]
            elif isinstance(target.get("enum"), list):
                values = list(target["enum"])
            for name, sub in (target.get("properties") or {}).items():
                if isinstance(sub, dict) and "const" in sub:
                    enums[name] = [sub["const"]]
                elif isinstance(sub, dict) and isinstance(sub.get("enum"), list):
                    enums[name] = list(sub["enum"])
        # Descending straight into a resolved pure-$ref target skips a registry lookup per use; the
        # target's own "#/..." refs still resolve against the spec document (it has no nested $id).
        return _Shape(types, values, enums, target if isinstance(target, dict | bool) else alternative)

    def _ref(
        self, validator: Validator, ref: str, instance: object, schema: dict[str, Any]
    ) -> Iterator[ValidationError]:
        """``$ref`` with targets inside the spec document looked up once and cached. The document has no
        nested ``$id``, so ``#/...`` always means the spec document and the base URI never changes;
        any other reference goes through the ``referencing`` registry as usual."""
        target = self._targets.get(ref)
        if target is None:
            local = ref[len(SPEC_URI) :] if ref.startswith(SPEC_URI + "#/") else ref
            if not local.startswith("#/"):
                yield from validator._validate_reference(ref=ref, instance=instance)  # type: ignore[attr-defined]
                return
            found = self._lookup(local[1:])
            if not isinstance(found, dict | bool):
                raise LookupError(f"unresolvable $ref {ref!r} in Discord's API spec")
            target = self._targets[ref] = found
        yield from validator.descend(instance, target)  # type: ignore[attr-defined]

    def _simple_check(self, schema: object) -> Callable[[object], bool] | None:
        """An exact boolean check for a leaf schema made only of type/length/range/enum/pattern
        keywords (plus annotations), or None when the schema needs the full validator."""
        entry = self._simple.get(id(schema))
        if entry is not None and entry[0] is schema:
            return entry[1]
        check = _compile_simple(schema)
        with self._lock:
            self._simple[id(schema)] = (schema, check)
        return check

    def _properties(
        self, validator: Validator, properties: dict[str, Any], instance: object, schema: dict[str, Any]
    ) -> Iterator[ValidationError]:
        """``properties``, skipping the descent for present values that pass an exact leaf check."""
        if not isinstance(instance, dict):
            return
        for name, sub in properties.items():
            if name in instance:
                yield from self._descend(validator, instance[name], sub, name, name)

    def _items(
        self, validator: Validator, items: object, instance: object, schema: dict[str, Any]
    ) -> Iterator[ValidationError]:
        """``items`` (2020-12), skipping the descent for elements that pass an exact leaf check."""
        if not isinstance(instance, list):
            return
        prefix = len(schema.get("prefixItems", []))
        if items is False and len(instance) > prefix:
            yield ValidationError(f"Expected at most {prefix} items but found {len(instance) - prefix} extra")
            return
        for index in range(prefix, len(instance)):
            yield from self._descend(validator, instance[index], items, index, None)

    def _descend(
        self, validator: Validator, value: object, sub: object, path: str | int, schema_path: str | None
    ) -> Iterator[ValidationError]:
        check = self._simple_check(sub)
        if check is not None:
            if check(value):
                return
        elif isinstance(value, str | int | float | type(None)):
            key = (id(sub), type(value), value)
            if key in self._scalar_ok:
                return
            errors = list(validator.descend(value, sub, path=path, schema_path=schema_path))  # type: ignore[attr-defined]
            if not errors:
                if len(self._scalar_ok) > 100_000:
                    self._scalar_ok.clear()
                self._scalar_ok.add(key)  # `sub` lives in the document or a cached validator
            yield from errors
            return
        yield from validator.descend(value, sub, path=path, schema_path=schema_path)  # type: ignore[attr-defined]

    def _plan(self, alternatives: list[Any]) -> _Plan:
        plan = self._plans.get(id(alternatives))
        if plan is None or plan.source is not alternatives:
            shapes = [self._shape(alt) for alt in alternatives]
            by_value: dict[tuple[bool, object], list[int]] | None = {}
            for index, shape in enumerate(shapes):
                if by_value is None or not shape.values:
                    by_value = None
                    break
                for value in shape.values:
                    if not isinstance(value, str | int | float | type(None)):
                        by_value = None
                        break
                    by_value.setdefault((isinstance(value, bool), value), []).append(index)
            plan = _Plan(alternatives, shapes, by_value)
            with self._lock:
                self._plans[id(alternatives)] = plan
        return plan

    def _lookup(self, pointer: str) -> object:
        """The part of the spec document at JSON pointer ``pointer`` ({} when absent)."""
        target: Any = self._doc
        for part in pointer[1:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, list):
                target = target[int(part)] if part.isdigit() and int(part) < len(target) else {}
            elif isinstance(target, dict):
                target = target.get(part, {})
            else:
                return {}
        return target

    def _possible(self, validator: Validator, plan: _Plan, instance: object) -> list[int]:
        """Indexes of the alternatives ``instance`` is not certain to fail (see module docstring)."""
        if plan.by_value is not None:  # a union of constants, i.e. an enum spelled as oneOf/anyOf
            keep = None
            if isinstance(instance, str | int | float | type(None)):
                keep = plan.by_value.get((isinstance(instance, bool), instance))
            return keep or list(range(len(plan.shapes)))
        keep = []
        is_dict = isinstance(instance, dict)
        for index, (types, values, enums, _) in enumerate(plan.shapes):
            if types is not None and not any(validator.is_type(instance, t) for t in types):
                continue
            if values is not None and not _enum_has(values, instance):
                continue
            if enums and is_dict:
                assert isinstance(instance, dict)
                if any(name in instance and not _enum_has(allowed, instance[name]) for name, allowed in enums.items()):
                    continue
            keep.append(index)
        return keep or list(range(len(plan.shapes)))

    def _any_of(
        self, validator: Validator, any_of: list[Any], instance: object, schema: dict[str, Any]
    ) -> Iterator[ValidationError]:
        plan = self._plan(any_of)
        all_errors: list[ValidationError] = []
        for index in self._possible(validator, plan, instance):
            target = plan.shapes[index].target
            errs = list(validator.descend(instance, target, schema_path=index))  # type: ignore[attr-defined]
            if not errs:
                return
            all_errors.extend(errs)
        yield ValidationError(f"{_short(instance)} is not valid under any of the given schemas", context=all_errors)

    def _one_of(
        self, validator: Validator, one_of: list[Any], instance: object, schema: dict[str, Any]
    ) -> Iterator[ValidationError]:
        plan = self._plan(one_of)
        all_errors: list[ValidationError] = []
        valid: list[int] = []
        for index in self._possible(validator, plan, instance):
            target = plan.shapes[index].target
            if valid:
                if validator.evolve(schema=target).is_valid(instance):
                    valid.append(index)
                continue
            errs = list(validator.descend(instance, target, schema_path=index))  # type: ignore[attr-defined]
            if errs:
                all_errors.extend(errs)
            else:
                valid.append(index)
        if not valid:
            yield ValidationError(f"{_short(instance)} is not valid under any of the given schemas", context=all_errors)
        elif len(valid) > 1:
            yield ValidationError(f"{_short(instance)} is valid under more than one of oneOf {valid}")

    # ------------------------------------------------------------------ parameter decoding

    def _types(self, schema: object, depth: int = 0) -> set[str]:
        """JSON types a (sub)schema can accept, following $ref/oneOf/anyOf/allOf."""
        if not isinstance(schema, dict) or depth > 10:
            return set()
        types: set[str] = set()
        t = schema.get("type")
        if isinstance(t, str):
            types.add(t)
        elif isinstance(t, list):
            types.update(x for x in t if isinstance(x, str))
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            types |= self._types(self._lookup(ref[1:]), depth + 1)
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in schema.get(key, []):
                types |= self._types(sub, depth + 1)
        return types

    def _items_schema(self, schema: dict[str, Any]) -> object:
        if schema.get("type") == "array" or "array" in (schema.get("type") or []):
            return schema.get("items", {})
        for key in ("oneOf", "anyOf"):
            for sub in schema.get(key, []):
                if isinstance(sub, dict) and "array" in self._types(sub):
                    return sub.get("items", {})
        return {}

    def _decode_scalar(self, raw: str, types: set[str]) -> object:
        if "string" in types:
            return raw
        if "integer" in types and re.fullmatch(r"-?[0-9]+", raw):
            return int(raw)
        if "number" in types:
            try:
                return float(raw)
            except ValueError:
                pass
        if "boolean" in types and raw in _TRUE | _FALSE:
            return raw in _TRUE
        if "null" in types and raw in ("", "null"):
            return None
        return raw

    def _decode(self, raw: str, schema: dict[str, Any]) -> object:
        """Leniency 2 (see module docstring): a query/path string as the JSON value its schema wants."""
        types = self._types(schema)
        if "string" in types:
            return raw
        if "array" in types:
            item_types = self._types(self._items_schema(schema))
            return [self._decode_scalar(part, item_types) for part in raw.split(",")] if raw else []
        return self._decode_scalar(raw, types)

    def _check_params(self, op: _Operation, where: str, values: Mapping[str, str]) -> list[str]:
        problems: list[str] = []
        for name, raw in values.items():
            prm = op.params.get((where, name))
            if prm is None or "schema" not in prm:
                continue  # unknown query parameters are ignored
            value = self._decode(str(raw), prm["schema"])
            validator = self._param_validator(op, where, name)
            for error in validator.iter_errors(value):
                leaf = _leaves(error)
                problems.append(f"{op.method} {op.template}: {where} parameter {name}={raw!r}: {_describe(leaf)}")
        return problems

    # ------------------------------------------------------------------ checking

    def check(
        self,
        method: str,
        path: str,
        body: object | None,
        query: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Problems with a request, [] when Discord's API description accepts it.

        ``path`` is the request path after ``/api/v10`` (e.g. ``/channels/123/messages``); ``body`` is
        the decoded JSON body, or for multipart requests the parsed ``payload_json`` object (see the
        module docstring), or None when the request has no body.
        """
        method = method.upper()
        op, candidates, problems = self._resolve(method, path)
        if op is None:
            if not candidates:
                return [f"no route {method} {path} in Discord's API spec"]
            allowed = sorted({m for t in candidates for m in self._ops[t]})
            return [
                f"method {method} not allowed for {candidates[0]} (path {path}); the spec allows {', '.join(allowed)}"
            ]
        problems = list(problems)
        if query:
            problems += self._check_params(op, "query", query)
        problems += self._check_body(op, body)
        return problems

    def check_response(self, method: str, path: str, status: int, body: object) -> list[str]:
        """Problems with a JSON response the twin gives, [] when it matches the operation's documented response for
        ``status`` (for tests of the twin's own answers; leniency 1 applies here too)."""
        method = method.upper()
        op, _, problems = self._resolve(method, path)
        if op is None:
            return [f"no route {method} {path} in Discord's API spec"]
        content = op.op.get("responses", {}).get(str(status), {}).get("content", {})
        if _JSON not in content:
            return [f"{method} {op.template}: the spec documents no JSON response for status {status}"]
        where = ("paths", op.template, op.method.lower(), "responses", str(status), "content", _JSON, "schema")
        validator = self._validator(op, f"response:{status}", _pointer(*where))
        return list(problems) + _format_errors(f"{method} {op.template} -> {status}", validator.iter_errors(body))

    def _check_body(self, op: _Operation, body: object | None) -> list[str]:
        where = f"{op.method} {op.template}"
        request_body = op.op.get("requestBody")
        if request_body is None:
            if body is not None:
                return [f"{where}: a body was sent but the operation accepts none: {_short(body)}"]
            return []
        if body is None:
            if request_body.get("required"):
                return [f"{where}: the operation requires a body but none was sent"]
            return []
        validator = self._body_validator(op)
        if validator is None:
            return [f"{where}: the spec offers no JSON or multipart schema for this body"]
        return _format_errors(where, validator.iter_errors(body))


_ANNOTATIONS = frozenset(
    {"title", "description", "format", "deprecated", "default", "examples", "readOnly", "writeOnly", "$comment"}
)
_LEAF = _ANNOTATIONS | {
    "type",
    "maxLength",
    "minLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "enum",
    "const",
    "pattern",
}


def _is_json_type(value: object, kind: str) -> bool:
    """JSON Schema type membership exactly as jsonschema's Draft 2020-12 type checker decides it."""
    if kind == "string":
        return isinstance(value, str)
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return False


def _compile_simple(schema: object) -> Callable[[object], bool] | None:
    """See :meth:`ApiSpec._simple_check`. Any keyword outside :data:`_LEAF` (or an odd value) means
    None, i.e. "let jsonschema decide"; a False from the check also goes to jsonschema (for the message),
    so the check only has to be exact when it says True."""
    if not isinstance(schema, dict) or not set(schema) <= _LEAF:
        return None
    t = schema.get("type")
    types: tuple[str, ...] | None = (t,) if isinstance(t, str) else tuple(t) if isinstance(t, list) else None
    if t is not None and types is None:
        return None
    max_len, min_len = schema.get("maxLength"), schema.get("minLength")
    low, high = schema.get("minimum"), schema.get("maximum")
    xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    enum: list[object] | None = [schema["const"]] if "const" in schema else schema.get("enum")
    pattern = re.compile(schema["pattern"]) if isinstance(schema.get("pattern"), str) else None
    if "pattern" in schema and pattern is None:
        return None
    for bound in (max_len, min_len, low, high, xlow, xhigh):
        if bound is not None and (not isinstance(bound, int | float) or isinstance(bound, bool)):
            return None
    if enum is not None and (not isinstance(enum, list) or any(isinstance(v, dict | list) for v in enum)):
        return None

    def check(value: object) -> bool:
        if types is not None and not any(_is_json_type(value, k) for k in types):
            return False
        if isinstance(value, str):
            if max_len is not None and len(value) > max_len:
                return False
            if min_len is not None and len(value) < min_len:
                return False
            if pattern is not None and not pattern.search(value):
                return False
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if low is not None and value < low:
                return False
            if high is not None and value > high:
                return False
            if xlow is not None and value <= xlow:
                return False
            if xhigh is not None and value >= xhigh:
                return False
        elif isinstance(value, dict | list) and enum is not None:
            return False
        return enum is None or _enum_has(enum, value)

    return check


def _enum_has(allowed: list[object], value: object) -> bool:
    """JSON equality membership (True is not 1)."""
    return any(v == value and isinstance(v, bool) == isinstance(value, bool) for v in allowed)


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


@functools.cache
def default_spec() -> ApiSpec:
    """The shared spec, loaded once per process (tests create many twins)."""
    return ApiSpec.load()
