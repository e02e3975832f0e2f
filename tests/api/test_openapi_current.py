"""The committed OpenAPI document is what the code generates."""

from __future__ import annotations


def test_committed_openapi_is_current():
    from sam_app.api.openapi import COMMITTED, render

    assert COMMITTED.read_text() == render(), (
        "sam_app/openapi.json is stale: run `python -m sam_app.api.openapi` and commit it"
    )
