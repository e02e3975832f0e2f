"""Check request parameters against every constraint botocore's service model declares.

botocore's own validator checks types, required members and minimums, but none of the
maxima, patterns or enums; the service checks them and answers ValidationException,
which moto mostly does not. This walks the operation's input shape and reports each
value out of `min`/`max` (string and blob length, list and map size, number range), not
matching `pattern` (the model's Java regexes, run with the `regex` module, which knows
\\p{L} and friends; as Java's `matches`, the whole value must match) or not in `enum`.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
import regex

_session = botocore.session.get_session()


@functools.cache
def _model(service: str):
    return _session.get_service_model(service)


@functools.cache
def _compiled(pattern: str):
    try:
        return regex.compile(pattern.replace(r"\z", r"\Z"))
    except regex.error:
        return None  # a Java construct Python cannot read: the pattern is not checked


def _length(shape, value: Any) -> int | None:
    if shape.type_name in ("string", "blob") and isinstance(value, (str, bytes, bytearray)):
        return len(value)
    if shape.type_name in ("list", "map") and isinstance(value, (list, dict)):
        return len(value)
    return None


def _check(shape, value: Any, where: str, out: list[str]) -> None:
    meta = shape.metadata
    size = _length(shape, value)
    if size is not None:
        if "min" in meta and size < meta["min"]:
            out.append(f"{where}: length {size} < min {meta['min']}")
        if "max" in meta and size > meta["max"]:
            out.append(f"{where}: length {size} > max {meta['max']}")
    if shape.type_name in ("integer", "long", "double", "float") and isinstance(value, (int, float)):
        if "min" in meta and value < meta["min"]:
            out.append(f"{where}: {value} < min {meta['min']}")
        if "max" in meta and value > meta["max"]:
            out.append(f"{where}: {value} > max {meta['max']}")
    if shape.type_name == "string" and isinstance(value, str):
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            out.append(f"{where}: {value!r} is not one of {sorted(enum)}")
        pattern = meta.get("pattern")
        compiled = _compiled(pattern) if pattern else None
        if compiled is not None and not compiled.fullmatch(value):
            out.append(f"{where}: {value!r} does not match {pattern}")
    if shape.type_name == "structure" and isinstance(value, dict):
        for name in shape.required_members:
            if name not in value:
                out.append(f"{where}.{name}: required")
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None:
                out.append(f"{where}.{name}: not a member of {shape.name}")
            else:
                _check(member, member_value, f"{where}.{name}", out)
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            _check(shape.member, item, f"{where}[{i}]", out)
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            _check(shape.key, key, f"{where} key {key!r}", out)
            _check(shape.value, item, f"{where}[{key!r}]", out)


def violations(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Every constraint of `service`'s `operation` input that `params` break."""
    shape = _model(service).operation_model(operation).input_shape
    out: list[str] = []
    if shape is not None:
        _check(shape, params, operation, out)
    return out
