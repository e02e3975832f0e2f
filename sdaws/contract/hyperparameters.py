"""How a job spec travels as SageMaker hyperparameters, both ways.

SageMaker carries only string values. The launcher sends one key, "spec", holding the
whole spec as compact JSON; the job reads that back, and also accepts one key per field
(what a user typing hyperparameters in the console would send).
"""

from __future__ import annotations

import json
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from .specs import SPECS

SPEC_KEY = "spec"


def to_sagemaker_hyperparameters(spec: dict[str, Any]) -> dict[str, str]:
    return {SPEC_KEY: json.dumps(spec, separators=(",", ":"))}


def _is_str_field(annotation: Any) -> bool:
    """True for str, Optional[str] and string Literals: fields whose raw text is the value."""
    if annotation is str:
        return True
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _is_str_field(args[0])
    if origin is Literal:
        return all(isinstance(a, str) for a in args)
    if origin in (Union, UnionType):
        return any(_is_str_field(a) for a in args if a is not type(None))
    return False


def from_sagemaker_hyperparameters(kind: str, hp: dict[str, Any]) -> dict[str, Any]:
    """Turn SageMaker's string-valued hyperparameters back into a spec dict.

    Per-field strings are decoded as JSON only where the field is not a string (lists,
    objects, null); numbers and booleans are left to pydantic's coercion, so a prompt
    like "42" stays a string.
    """
    data = {k: v for k, v in hp.items() if not k.startswith("sagemaker_")}
    if SPEC_KEY in data:
        inner = data.pop(SPEC_KEY)
        inner = json.loads(inner) if isinstance(inner, str) else inner
        if not isinstance(inner, dict):
            raise ValueError(f"hyperparameter {SPEC_KEY!r} must be a JSON object")
        data = {**inner, **data}
    fields = SPECS[kind].model_fields
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = fields.get(key)
        if isinstance(value, str) and field is not None:
            stripped = value.strip()
            if field.default is None and stripped in ("", "null", "None"):
                value = None
            elif not _is_str_field(field.annotation) and (stripped[:1] in ("[", "{") or stripped == "null"):
                try:
                    value = json.loads(stripped)
                except ValueError:
                    pass
        out[key] = value
    return out
