"""The validator's fast paths ("Speed" in the package docstring): exact checks for leaf schemas, and jsonschema
keywords that narrow oneOf/anyOf unions, skip descents an exact check settles and look ``$ref`` targets up once.
The verdict is always the one plain jsonschema gives."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from twin.openapi._errors import _short
from twin.openapi._source import SPEC_URI

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


class _FastKeywords:
    """The ``oneOf``, ``anyOf``, ``$ref``, ``properties`` and ``items`` implementations :class:`ApiSpec` plugs into
    its validator class, with the caches they keep. Mixed into :class:`ApiSpec`, whose ``__init__`` creates the
    attributes declared here."""

    _doc: dict[str, Any]
    _lock: threading.Lock
    _plans: dict[int, _Plan]
    _simple: dict[int, tuple[object, Callable[[object], bool] | None]]
    _scalar_ok: set[tuple[int, type, object]]
    _targets: dict[str, Any]

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
        """Indexes of the alternatives ``instance`` is not certain to fail (see the package docstring)."""
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
