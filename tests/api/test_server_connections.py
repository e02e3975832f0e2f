"""The local server's connections: timeouts, backlog, a bounded pool, no request smuggling.

Timeouts are shortened on the server under test (they are attributes of the server),
so clients that trickle, stall or idle are dropped within the test's patience. Nothing
here measures speed; benchmarks/api_roundtrip.py does.
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

from sam_app.local_server.connections import MAX_WORKERS
from tests.support.api_world import AUTH, TOKEN


def _address(api_server) -> tuple[str, int]:
    url = urlsplit(api_server.url)
    return url.hostname, url.port


def _read_all(sock: socket.socket, limit_s: float = 10) -> bytes | None:
    """Everything the server sends until it closes; None if it kept the connection open past `limit_s`."""
    sock.settimeout(limit_s)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        return None
    return data


def _ping(api_server) -> int:
    return requests.get(f"{api_server.url}/ping", headers=AUTH, timeout=10).status_code


def test_a_client_trickling_its_headers_is_cut_off(api_server):
    api_server.server.header_timeout_s = 1.0
    with socket.create_connection(_address(api_server), timeout=10) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\n")
        cut_off = False
        for _ in range(40):  # a byte every 0.25 s would take 10 s
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                cut_off = True
                break
            time.sleep(0.25)
            sock.setblocking(False)
            try:
                if sock.recv(65536) == b"":
                    cut_off = True
                    break
            except BlockingIOError:
                pass
            except ConnectionResetError:
                cut_off = True
                break
            finally:
                sock.setblocking(True)
        assert cut_off, "the server kept a connection that never finished its headers"
    assert _ping(api_server) == 200


def test_a_stalled_body_is_dropped_and_frees_its_worker(api_server):
    api_server.server.body_timeout_s = 1.0
    stalled = []
    for _ in range(MAX_WORKERS + 4):  # more than there are workers: all must be let go
        sock = socket.create_connection(_address(api_server), timeout=10)
        sock.sendall(
            b"POST /uploads HTTP/1.1\r\nHost: x\r\nx-api-key: " + TOKEN.encode() + b"\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type": '
        )
        stalled.append(sock)
    try:
        answers = [_read_all(sock) for sock in stalled]
        assert all(a is not None and (a == b"" or a.startswith(b"HTTP/1.1 408")) for a in answers), answers[:3]
        assert _ping(api_server) == 200
    finally:
        for sock in stalled:
            sock.close()


def test_idle_connections_cost_no_thread_and_are_closed_in_time(api_server):
    before = threading.active_count()
    idle = [socket.create_connection(_address(api_server), timeout=10) for _ in range(300)]
    try:
        time.sleep(0.5)
        assert _ping(api_server) == 200, "the server answers beside 300 silent connections"
        assert threading.active_count() - before <= MAX_WORKERS + 2
        assert api_server.server.open_connections() >= 300
        api_server.server.idle_timeout_s = 0.5
        deadline = time.monotonic() + 10
        while api_server.server.open_connections() > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert api_server.server.open_connections() <= 1
    finally:
        for sock in idle:
            sock.close()


def test_content_length_with_transfer_encoding_is_refused_and_nothing_is_smuggled(api_server):
    smuggled = b"DELETE /models/Lora/keep.safetensors HTTP/1.1\r\nHost: x\r\nx-api-key: " + TOKEN.encode() + b"\r\n\r\n"
    body = b"0\r\n\r\n" + smuggled
    lora = api_server.server.services.models.store.root / "Lora"
    lora.mkdir(parents=True)
    (lora / "keep.safetensors").write_bytes(b"x")
    with socket.create_connection(_address(api_server), timeout=10) as sock:
        sock.sendall(
            b"POST /uploads HTTP/1.1\r\nHost: x\r\nx-api-key: " + TOKEN.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + body
        )
        answer = _read_all(sock) or b""
    assert answer.startswith(b"HTTP/1.1 400") and answer.count(b"HTTP/1.1 ") == 1, answer
    assert (lora / "keep.safetensors").exists(), "the smuggled request never ran"


def test_chunked_bodies_and_conflicting_lengths_are_refused(api_server):
    for headers, status in (
        (b"Transfer-Encoding: chunked\r\n", b"411"),
        (b"Content-Length: 2\r\nContent-Length: 3\r\n", b"400"),
    ):
        with socket.create_connection(_address(api_server), timeout=10) as sock:
            sock.sendall(b"POST /uploads HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n{}")
            assert (_read_all(sock) or b"").startswith(b"HTTP/1.1 " + status)


def test_pipelined_requests_are_all_answered_in_order(api_server):
    one = b"GET /ping HTTP/1.1\r\nHost: x\r\nx-api-key: " + TOKEN.encode() + b"\r\n\r\n"
    last = b"GET /model-types HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-api-key: " + TOKEN.encode() + b"\r\n\r\n"
    with socket.create_connection(_address(api_server), timeout=10) as sock:
        sock.sendall(one * 3 + last)
        answer = _read_all(sock) or b""
    assert answer.count(b"HTTP/1.1 200") == 4 and answer.rstrip().endswith(b"}"), answer[-300:]
    assert b'"types"' in answer.rsplit(b"HTTP/1.1 200", 1)[1]


def test_a_burst_of_new_connections_is_queued_not_reset(api_server):
    clients = 200
    start = threading.Barrier(clients)

    def one(_: int) -> str:
        start.wait()
        try:
            return str(requests.get(f"{api_server.url}/ping", headers=AUTH, timeout=60).status_code)
        except requests.RequestException as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(one, range(clients)))
    assert answers == ["200"] * clients, {a: answers.count(a) for a in set(answers)}


def test_answers_go_out_without_nagle_delay(api_server):
    with requests.Session() as session:
        assert session.get(f"{api_server.url}/ping", headers=AUTH).status_code == 200
        with api_server.server._open_lock:
            socks = [conn.sock for conn in api_server.server._open]
        assert socks and all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in socks)
