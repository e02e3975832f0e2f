"""One input of a job form: the row of a form's field table (see job_form and job_fields_parity)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    default: str | bool = ""
    choices: tuple[str, ...] = ()  # a Select
    kind: str = "text"  # text | check | file | dir | model | loras | vae | pick
    # Consecutive fields with the same section are one collapsible group (the WebUI's accordions).
    section: str = ""
    # pick: a Select of these fixed names, then the models of these tree folders ("ESRGAN/x.pth").
    builtins: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
