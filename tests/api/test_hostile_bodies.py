"""Hostile JSON bodies on every POST route: a 4xx with a reason, never a 500.

Nesting 900, 3,000 or 100,000 levels deep broke the app (RecursionError in the
decoder, or later in deepcopy and json.dumps); integers past Python's digit limit,
NaN and lone surrogates are in the generated corpus too.
"""

from __future__ import annotations

import pytest
import requests

from tests.support.api_world import AUTH
from tests.support.hostile_inputs import hostile_bodies

ROUTES = ["/uploads", "/jobs", "/job-inputs", "/uploads/0123456789abcdef0123456789abcdef/complete"]


@pytest.mark.parametrize("route", ROUTES)
def test_no_hostile_body_gets_a_server_error(api_server, route):
    answers = {}
    with requests.Session() as session:
        for case, body in hostile_bodies().items():
            r = session.post(f"{api_server.url}{route}", data=body, headers=AUTH | {"Content-Type": "application/json"})
            answers[case] = (r.status_code, r.json().get("message", "") if r.content else "")
    assert {case: a for case, a in answers.items() if not 400 <= a[0] < 500} == {}
    assert all(message for _, message in answers.values())
    deep = [a for case, a in answers.items() if "levels" in case and "33" not in case]
    assert all(status == 400 and "nests deeper than 32" in message for status, message in deep), deep
