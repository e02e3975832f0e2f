"""How a job spec reaches a SageMaker training job, and how the job reads it back.

SageMaker carries only string hyperparameters of at most 2,500 characters each, which a
training spec with a few sample prompts outgrows. So the launcher puts the spec in S3
and hands it to the job as a channel: the hyperparameters say only which channel
(`spec_channel`), and the job reads `input/data/<channel>/spec.json`. The job still
accepts the older key "spec" holding the whole spec as JSON, and one key per field
(what a user typing hyperparameters in the console would send).
"""

from __future__ import annotations

import json
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from .specs import SPECS

SPEC_KEY = "spec"
SPEC_CHANNEL_KEY = "spec_channel"
SPEC_CHANNEL = "spec"  # the channel (input/data/spec/) holding spec.json
SPEC_FILE = "spec.json"
# SageMaker's limit on one hyperparameter value (botocore: HyperParameterValue max 2500).
MAX_HYPERPARAMETER_VALUE = 2500


def spec_channel_hyperparameters() -> dict[str, str]:
    """The training job's hyperparameters: where the spec is, never the spec itself."""
    return {SPEC_CHANNEL_KEY: SPEC_CHANNEL}


def spec_channel(hp: dict[str, Any]) -> str | None:
    """The channel named by `spec_channel`, checked to be one plain folder name."""
    name = hp.get(SPEC_CHANNEL_KEY)
    if name is None:
        return None
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise ValueError(f"hyperparameter {SPEC_CHANNEL_KEY!r} must name a channel")
    return name


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
    data = {k: v for k, v in hp.items() if not k.startswith("sagemaker_") and k != SPEC_CHANNEL_KEY}
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
