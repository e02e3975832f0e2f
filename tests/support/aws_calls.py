"""Every AWS API call the product code makes during the tests, checked as AWS would.

A pytest plugin (listed in tests/conftest.py). Each botocore client, whoever makes it
(boto3, powertools, moto's Step Functions interpreter), gets a `before-parameter-build`
handler: that event carries the call's API parameters — `before-call` only sees the
serialized request — and it also fires for presigned URLs, which are signed with the
caller's permissions. Calls made by test code itself (fixtures creating the moto world)
are not the product's and are not recorded.

Who makes a call decides the role whose policy must allow it (tests.support.iam_roles).
After each test, its calls are checked against template.yaml (tests.support.iam_policy
and iam_actions) and their parameters against botocore's service model constraints
(tests.support.botocore_constraints); a call AWS would refuse fails the test that made it.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest

from tests.support import iam_policy, iam_roles
from tests.support.botocore_constraints import violations
from tests.support.iam_actions import UnmappedCall, needs_for
from tests.support.iam_policy import Need

CALLS_OUT = "SDAWS_IAM_CALLS_OUT"  # write the session's calls here (JSON), for a parent session


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    region: str
    roles: tuple[str, ...]
    test: str
    presigned: bool = False
    needs: list[Need] = field(default_factory=list)
    unmapped: str | None = None

    def describe(self) -> str:
        kind = "presigned " if self.presigned else ""
        return f"{kind}{self.service}:{self.operation} in {self.test}"

    def to_json(self) -> dict:
        return {
            "service": self.service,
            "operation": self.operation,
            "region": self.region,
            "roles": list(self.roles),
            "test": self.test,
            "presigned": self.presigned,
            "needs": [[n.action, n.resource, [list(c) for c in n.context]] for n in self.needs],
            "unmapped": self.unmapped,
        }

    @classmethod
    def from_json(cls, data: dict) -> Call:
        needs = [Need(a, r, tuple(tuple(c) for c in ctx)) for a, r, ctx in data["needs"]]
        return cls(
            data["service"],
            data["operation"],
            {},
            data["region"],
            tuple(data["roles"]),
            data["test"],
            data["presigned"],
            needs,
            data["unmapped"],
        )


_lock = threading.Lock()
SESSION: list[Call] = []
_current_test = ["(outside a test)"]
_acting_as: contextvars.ContextVar[str | None] = contextvars.ContextVar("acting_as", default=None)


@contextlib.contextmanager
def acting_as(role: str):
    """Calls made inside are made by `role` (a test playing SageMaker moves data as the
    execution role, as SageMaker does for a job)."""
    token = _acting_as.set(role)
    try:
        yield
    finally:
        _acting_as.reset(token)


def _snapshot(value: Any) -> Any:
    """The parameters as they are now (containers copied; bodies, streams and locks kept as they are)."""
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_snapshot(v) for v in value]
    return value


def _on_parameters(params, model, context=None, made_by=(), **kwargs) -> None:
    try:
        _record(params, model, context, made_by)
    except Exception as exc:  # the recorder must never break the call it watches
        with _lock:
            SESSION.append(
                Call("?", "?", {}, "?", ("?recorder",), _current_test[0], unmapped=f"recorder failed: {exc!r}")
            )


def _record(params, model, context, made_by) -> None:
    frame = sys._getframe(2)
    roles = iam_roles.caller_roles(frame, _acting_as.get())
    if not roles and made_by and iam_roles.in_transfer_thread(frame):
        roles = made_by  # s3transfer's worker threads carry no trace of who asked them
    if not roles:
        if model.name == "CreateBucket" and isinstance(params, dict) and params.get("Bucket"):
            # A test making the world: the template has one bucket, so this is the model bucket.
            from tests.support import deployed

            deployed.register_bucket("ModelBucket", params["Bucket"])
        return
    service = model.service_model.service_name
    region = (context or {}).get("client_region") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    call = Call(
        service,
        model.name,
        _snapshot(params) if isinstance(params, dict) else {},
        region,
        roles,
        _current_test[0],
        presigned=bool((context or {}).get("is_presign_request")),
    )
    try:
        call.needs = needs_for(call.service, call.operation, call.params, region)
    except (UnmappedCall, KeyError) as exc:
        call.unmapped = str(exc)
    with _lock:
        SESSION.append(call)


_original_create_client = botocore.session.Session.create_client


def _create_client(self, *args, **kwargs):
    client = _original_create_client(self, *args, **kwargs)
    region = client.meta.region_name
    made_by = iam_roles.caller_roles(sys._getframe(1), _acting_as.get())

    def note_region(context=None, **_) -> None:
        # botocore puts the client's region into the context of real calls, not of presigning.
        if context is not None:
            context.setdefault("client_region", region)

    client.meta.events.register("provide-client-params", note_region)
    client.meta.events.register("before-parameter-build", lambda **event: _on_parameters(made_by=made_by, **event))
    return client


botocore.session.Session.create_client = _create_client  # type: ignore[method-assign]


def made_in_this_test(service: str, operation: str) -> list[dict[str, Any]]:
    """The parameters of each `service:operation` call the product made in the running test."""
    with _lock:
        return [
            c.params for c in SESSION if c.test == _current_test[0] and (c.service, c.operation) == (service, operation)
        ]


def constraint_violations(calls: list[Call]) -> list[str]:
    """Parameters the service would refuse (botocore's model: lengths, patterns, enums, sizes)."""
    found = []
    for call in calls:
        if not call.presigned:
            found += [f"{v} ({call.describe()})" for v in violations(call.service, call.operation, call.params)]
    return sorted(set(found))


def check(calls: list[Call], drop: str | None = None) -> list[str]:
    """Gaps (and unmapped calls) of `calls` against template.yaml now."""
    problems = [
        f"no IAM rule for {c.unmapped} ({c.describe()}): add it to tests/support/iam_actions.py"
        for c in calls
        if c.unmapped
    ]
    return sorted(set(problems)) + iam_policy.gaps([c for c in calls if not c.unmapped], iam_policy.statements(), drop)


@pytest.fixture(autouse=True)
def aws_calls_allowed_by_template(request):
    """After each test: every AWS call the product made in it is allowed to its role."""
    _current_test[0] = request.node.nodeid
    with _lock:
        start = len(SESSION)
    yield
    with _lock:
        made = SESSION[start:]
    _current_test[0] = "(outside a test)"
    if request.node.get_closest_marker("iam_unchecked") or not made:
        return
    problems = [f"IAM: {p}" for p in check(made)] + [
        f"refused by the service: {p}" for p in constraint_violations(made)
    ]
    if problems:
        pytest.fail("AWS calls that would fail in AWS:\n  " + "\n  ".join(problems[:30]), pytrace=False)


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "iam_unchecked(reason): the test's AWS calls are deliberately not checked against template.yaml"
    )


LAST = "tests/infra/test_iam_coverage.py"  # reads the whole session's calls: runs after every other test


def pytest_collection_modifyitems(session, config, items) -> None:
    items.sort(key=lambda item: item.nodeid.startswith(LAST))


def pytest_sessionfinish(session, exitstatus) -> None:
    path = os.environ.get(CALLS_OUT)
    if path:
        from tests.support import deployed

        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"calls": [c.to_json() for c in SESSION], "deployed": deployed.export()}, fh)
