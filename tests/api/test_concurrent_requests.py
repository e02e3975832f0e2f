"""Concurrent clients on the local server each get the answer to their own request.

Powertools keeps the current event on its router class; a threaded server that lets
two requests resolve at once answers one with the other's body, query or path. Each
request here carries something unique (a file name in the body, a listing prefix in
the query, a model name in the path) and checks that the answer is about it. The
loops are bounded (a fixed number of requests), so this runs in CI.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.api_world import AUTH

THREADS = 24
REQUESTS_PER_THREAD = 20
PREFIXES = [f"p{i:02d}" for i in range(12)]


def _seed(root) -> None:
    lora = root / "Lora"
    lora.mkdir(parents=True)
    for prefix in PREFIXES:
        for n in range(3):
            (lora / f"{prefix}_{n}.safetensors").write_bytes(b"x" * (n + 1))


def _one(session: requests.Session, url: str, worker: int, i: int) -> str | None:
    """One request whose answer must be about this request; a description of the mix-up, or None."""
    kind = (worker + i) % 4
    if kind == 0:  # body echo: the upload is named as this request's body says
        name = f"w{worker}_r{i}.safetensors"
        r = session.post(f"{url}/uploads", json={"type": "Lora", "filename": name, "size": 10 + i}, headers=AUTH)
        if r.status_code != 201 or r.json()["name"] != name or r.json()["size"] != 10 + i:
            return f"POST /uploads {name}: {r.status_code} {r.text[:200]}"
        session.delete(f"{url}/uploads/{r.json()['upload_id']}", headers=AUTH)
    elif kind == 1:  # query string: only this prefix's files are listed
        prefix = PREFIXES[(worker * 7 + i) % len(PREFIXES)]
        r = session.get(f"{url}/models", params={"type": "Lora", "prefix": prefix}, headers=AUTH)
        names = [item["name"] for item in r.json().get("items", [])] if r.ok else None
        if names != [f"{prefix}_{n}.safetensors" for n in range(3)]:
            return f"GET /models?prefix={prefix}: {r.status_code} {names or r.text[:200]}"
    elif kind == 2:  # path parameters: the info is about this model
        prefix = PREFIXES[(worker + i) % len(PREFIXES)]
        n = i % 3
        r = session.get(f"{url}/models/Lora/{prefix}_{n}.safetensors", headers=AUTH)
        if r.status_code != 200 or r.json()["name"] != f"{prefix}_{n}.safetensors" or r.json()["size"] != n + 1:
            return f"GET /models/Lora/{prefix}_{n}: {r.status_code} {r.text[:200]}"
    else:  # a refused body is refused for what it said, not for another request's body
        name = f"bad{worker}_{i}.pt"
        r = session.post(f"{url}/uploads", json={"type": "Lora", "filename": name, "size": 5}, headers=AUTH)
        if r.status_code != 400 or "'.pt'" not in r.json().get("message", ""):
            return f"POST /uploads {name}: {r.status_code} {r.text[:200]}"
    return None


def test_every_concurrent_request_gets_its_own_answer(api_server):
    _every_answer_is_its_own(api_server)


def _every_answer_is_its_own(api_server) -> None:
    _seed(api_server.server.services.models.store.root)
    start = threading.Barrier(THREADS)

    def worker(w: int) -> list[str]:
        problems = []
        with requests.Session() as session:  # kept-alive connections, as the client uses them
            start.wait()
            for i in range(REQUESTS_PER_THREAD):
                try:
                    problem = _one(session, api_server.url, w, i)
                except requests.RequestException as exc:
                    problem = f"request {w}/{i} failed: {exc}"
                if problem:
                    problems.append(problem)
        return problems

    with ThreadPoolExecutor(THREADS) as pool:
        problems = [p for found in pool.map(worker, range(THREADS)) for p in found]
    assert problems == [], (
        f"{len(problems)} of {THREADS * REQUESTS_PER_THREAD} answers were not their own: {problems[:5]}"
    )


def test_the_probe_sees_powertools_share_the_event_and_the_scoped_resolver_not():
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    from sam_app.api.request_scope import RequestScopedResolver, isolates_concurrent_requests

    assert isolates_concurrent_requests(APIGatewayRestResolver) is False, "the cause: the event lives on the class"
    assert isolates_concurrent_requests(RequestScopedResolver) is True


def test_where_the_probe_fails_requests_are_serialized_and_still_their_own(api_server, monkeypatch):
    import sam_app.api.dispatch as dispatch

    monkeypatch.setattr(dispatch, "isolates_concurrent_requests", lambda: False)
    api_server.server.dispatcher = dispatch.Dispatcher(api_server.server.services)
    _every_answer_is_its_own(api_server)
