"""A powertools resolver whose current event belongs to the thread resolving it.

Powertools stores the event being resolved on the router *class*
(`BaseRouter.current_event = ...` in `resolve`), so two threads resolving at once —
even on two resolver instances — read each other's body, query and path. Lambda runs
one event per process and never notices; the threaded local server did (POSTs without
their body, listings with another request's prefix).

The fix is at the depth of the cause: this subclass answers `current_event` and
`lambda_context` from thread-local storage set at the start of its own `resolve`
(the same device powertools' own HttpResolver uses with a ContextVar). Routers
included into it delegate to it (`router.api_resolver`), so routes and the validation
middleware see the thread's own event. Per-instance state (`context`, routes) stays
per resolver; the Dispatcher lends each resolver to one request at a time.

Because this leans on how powertools reads the event, `isolates_concurrent_requests`
proves it at start-up with two interleaved requests; where it does not hold (a
powertools upgrade moved the state) the Dispatcher serializes requests instead.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter


class RequestScopedResolver(APIGatewayRestResolver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._request = threading.local()
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def current_event(self):
        return self._request.event

    @current_event.setter
    def current_event(self, value) -> None:
        self._request.event = value

    @property  # type: ignore[override]
    def lambda_context(self):
        return getattr(self._request, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, value) -> None:
        self._request.lambda_context = value

    def resolve(self, event, context) -> dict[str, Any]:
        # Set before powertools runs: its own write goes to the class, which nothing here reads.
        self._request.event = self._to_proxy_event(dict(event))
        self._request.lambda_context = context
        try:
            return super().resolve(event, context)
        finally:
            self._request.event = None
            self._request.lambda_context = None


def _probe_event(who: str) -> dict:
    return {
        "resource": "/probe",
        "path": "/probe",
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": {"who": who},
        "multiValueQueryStringParameters": {"who": [who]},
        "requestContext": {"requestId": who, "stage": "probe", "httpMethod": "GET", "path": "/probe"},
        "body": None,
        "isBase64Encoded": False,
    }


@cache
def isolates_concurrent_requests(resolver: type[APIGatewayRestResolver] = RequestScopedResolver) -> bool:
    """Two resolvers, two threads: the first handler reads its event only after the second
    request was resolved completely. True when each still saw its own event."""
    inside, other_done = threading.Event(), threading.Event()
    seen: dict[str, tuple] = {}

    def app_for(tag: str) -> APIGatewayRestResolver:
        app = resolver(enable_validation=True)
        router = APIGatewayRouter()

        @router.get("/probe")
        def probe(who: Annotated[str, Query()]) -> dict:
            if tag == "first":
                inside.set()
                other_done.wait(5)
            seen[tag] = (who, router.current_event.query_string_parameters.get("who"))
            return {}

        app.include_router(router)
        return app

    first, second = app_for("first"), app_for("second")
    thread = threading.Thread(target=first.resolve, args=(_probe_event("first"), None), daemon=True)
    thread.start()
    try:
        if inside.wait(5):
            second.resolve(_probe_event("second"), None)
    finally:
        other_done.set()
        thread.join(5)
    return seen == {"first": ("first", "first"), "second": ("second", "second")}
