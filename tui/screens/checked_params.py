"""A dialog's values checked as the API will check them, before it closes."""

from __future__ import annotations

from textual.screen import Screen

from sdaws.client.job_params import build_params


def checked_params(screen: Screen, kind: str, values: dict, title: str) -> dict | None:
    """The job params for ``values``, or None after telling the user what is wrong (the dialog stays)."""
    try:
        return build_params(kind, values)
    except ValueError as exc:
        screen.notify(str(exc), title=title, severity="error", markup=False)
        return None
