"""The spec, ready to check requests against: loading, routing a request to its operation, validators per
operation, decoding query and path parameters (leniency 2), and the checks themselves. See the package docstring
for the content types, formats and leniencies."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from twin.openapi._errors import _describe, _format_errors, _leaves, _short
from twin.openapi._fast import _FastKeywords, _Plan
from twin.openapi._source import DEFAULT_SPEC_PATH, SPEC_ENV_VAR, SPEC_URI

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_JSON = "application/json"
_MULTIPART = "multipart/form-data"
_SNOWFLAKE_INT = {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}
_PARAM_RE = re.compile(r"^\{[^{}/]+\}$")
_TRUE = frozenset({"true", "True", "1"})
_FALSE = frozenset({"false", "False", "0"})


def _pointer(*parts: str) -> str:
    """JSON pointer (RFC 6901) to ``parts``, usable after '#'."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


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


class ApiSpec(_FastKeywords):
    """Discord's OpenAPI description, ready to check requests against."""

    def __init__(self, document: dict[str, Any], source: str = "<memory>") -> None:
        self.source = source
        self._doc = copy.deepcopy(document)
        schemas = self._doc.setdefault("components", {}).setdefault("schemas", {})
        if "SnowflakeType" in schemas:  # Leniency 1 (see the package docstring).
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
        """Leniency 2 (see the package docstring): a query/path string as the JSON value its schema wants."""
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
        package docstring), or None when the request has no body.
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


@functools.cache
def default_spec() -> ApiSpec:
    """The shared spec, loaded once per process (tests create many twins)."""
    return ApiSpec.load()
