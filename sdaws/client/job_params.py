"""Job parameters as the TUI forms and the CLI build them.

The API validates submissions with the pydantic specs in ``sdaws.contract.specs``;
validating here with the very same models means a form shows the server's rule
before anything is sent, and the forms and ``sdaws generate`` cannot drift from
the API. Blank form fields are left out so the spec's defaults apply.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from sdaws.contract.errors import describe_validation_error
from sdaws.contract.model_tree import strip_model_extension
from sdaws.contract.specs import JOB_KINDS, SPECS, parse_spec


def build_params(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """Validate ``values`` for job ``kind``; return the params to send.

    Empty strings and None mean "not given". Raises ValueError with a sentence
    that says what to fix.
    """
    if kind not in SPECS:
        raise ValueError(f"unknown job kind {kind!r}; one of {', '.join(JOB_KINDS)}")
    given = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    given = {k: v for k, v in given.items() if v not in (None, "")}
    try:
        spec = parse_spec(kind, given)
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc)) from None
    return spec.model_dump(mode="json", exclude_unset=True)


def accepts(kind: str, field: str) -> bool:
    """Whether this server's spec for ``kind`` has ``field`` (e.g. train's dataset group)."""
    return field in SPECS[kind].model_fields


def default_output_name(model: str, suffix: str = "") -> str:
    """``Stable-diffusion/foo.safetensors`` -> ``foo`` + suffix: a short name for a job's result."""
    return strip_model_extension(model.rsplit("/", 1)[-1]) + suffix


_PROBLEM_START = re.compile(r"(?:^|; )(?:params\.)?([A-Za-z_]\w*)(?:\.[\w.]+)?(?: <[^>]*>)?: ")


def errors_by_field(message: str, fields: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Split a validation message (the form's own check or the server's 422/409) by field.

    `"params.steps: must be ≥ 1; width: not a multiple of 8"` -> {"steps": …, "width": …};
    a problem about no known field goes under ``""``, unless it names one
    ("diffusers/x already exists; choose another output_name" -> output_name).
    """
    starts = [m for m in _PROBLEM_START.finditer(message) if m.group(1) in fields]
    found: dict[str, str] = {}
    if not starts or starts[0].start() != 0:
        head = message[: starts[0].start()] if starts else message
        named = next((f for f in fields if re.search(rf"\b{re.escape(f)}\b", head)), "")
        found[named] = head
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(message)
        text = message[match.end() : end]
        field = match.group(1)
        found[field] = f"{found[field]}; {text}" if field in found else text
    return found
