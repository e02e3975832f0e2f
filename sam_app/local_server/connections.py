"""Connections for the local server: one selector thread, a bounded pool of workers.

http.server's ThreadingHTTPServer gives every connection a thread for its whole life
and never times a socket out: clients that trickle headers, stall a body or just hold
a connection open each pin a thread forever, and its listen backlog of 5 resets
connections under ordinary bursts. Here:

- the listen backlog is the kernel's maximum (`request_queue_size`);
- an idle connection waits in the selector, costing no thread; it is closed after
  IDLE_TIMEOUT_S without a request;
- a connection with bytes to read goes to one of MAX_WORKERS workers, which serves
  the requests it has ready (pipelined ones included) and hands it back;
- a request must finish its request line and headers within HEADER_TIMEOUT_S (a
  deadline the selector thread enforces by shutting the socket), and every read or
  write of a body may wait at most BODY_TIMEOUT_S for the peer.
"""

from __future__ import annotations

import logging
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import HTTPServer

logger = logging.getLogger(__name__)

MAX_WORKERS = 32
MAX_CONNECTIONS = 1024
HEADER_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 30.0
IDLE_TIMEOUT_S = 30.0
TICK_S = 0.25


class _Connection:
    """A client socket and the request handler that reads it, kept across requests."""

    def __init__(self, sock: socket.socket, address, server: PooledHTTPServer) -> None:
        self.sock = sock
        handler = server.RequestHandlerClass.__new__(server.RequestHandlerClass)
        handler.request, handler.client_address, handler.server = sock, address, server
        handler.setup()  # rfile/wfile, the body timeout and TCP_NODELAY (StreamRequestHandler)
        self.handler = handler
        self.idle_since = time.monotonic()

    def close(self) -> None:
        try:
            self.handler.finish()
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


class PooledHTTPServer(HTTPServer):
    """HTTPServer with the selector loop above instead of a thread per connection."""

    request_queue_size = socket.SOMAXCONN
    allow_reuse_address = True
    max_workers = MAX_WORKERS
    header_timeout_s = HEADER_TIMEOUT_S
    body_timeout_s = BODY_TIMEOUT_S  # handlers read it in setup()
    idle_timeout_s = IDLE_TIMEOUT_S

    def __init__(self, address, handler_class: Callable, bind_and_activate: bool = True) -> None:
        super().__init__(address, handler_class, bind_and_activate)
        self._workers = ThreadPoolExecutor(self.max_workers, thread_name_prefix="sdaws-http")
        self._parked: queue.SimpleQueue[_Connection] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._header_deadlines: dict[_Connection, float] = {}
        self._deadline_lock = threading.Lock()
        self._open: set[_Connection] = set()
        self._open_lock = threading.Lock()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    # -- the selector thread -------------------------------------------------------
    def serve_forever(self, poll_interval: float = TICK_S) -> None:
        self._stopped.clear()
        sel = selectors.DefaultSelector()
        self.socket.setblocking(False)
        sel.register(self.socket, selectors.EVENT_READ, "listen")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        idle: dict[_Connection, None] = {}  # insertion order = oldest idle first
        try:
            while not self._stopping.is_set():
                for key, _ in sel.select(timeout=poll_interval):
                    if key.data == "listen":
                        self._accept(sel, idle)
                    elif key.data == "wake":
                        self._drain_wake()
                    else:
                        conn = key.data
                        sel.unregister(conn.sock)
                        idle.pop(conn, None)
                        self._workers.submit(self._serve, conn)
                while True:
                    try:
                        conn = self._parked.get_nowait()
                    except queue.Empty:
                        break
                    conn.idle_since = time.monotonic()
                    sel.register(conn.sock, selectors.EVENT_READ, conn)
                    idle[conn] = None
                self._expire(sel, idle)
        finally:
            for conn in list(idle):
                sel.unregister(conn.sock)
                self._close(conn)
            sel.close()
            self._stopped.set()

    def _accept(self, sel: selectors.BaseSelector, idle: dict) -> None:
        while True:
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. out of file descriptors: try again on the next tick
                logger.warning("accept failed", exc_info=True)
                return
            if len(self._open) >= MAX_CONNECTIONS:
                if idle:  # make room by dropping the connection idle the longest
                    oldest = next(iter(idle))
                    del idle[oldest]
                    sel.unregister(oldest.sock)
                    self._close(oldest)
                else:
                    sock.close()
                    continue
            sock.setblocking(True)
            try:
                conn = _Connection(sock, address, self)
            except OSError:
                sock.close()
                continue
            with self._open_lock:
                self._open.add(conn)
            sel.register(sock, selectors.EVENT_READ, conn)
            idle[conn] = None

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _expire(self, sel: selectors.BaseSelector, idle: dict) -> None:
        now = time.monotonic()
        while idle:
            oldest = next(iter(idle))
            if now - oldest.idle_since < self.idle_timeout_s:
                break
            del idle[oldest]
            sel.unregister(oldest.sock)
            self._close(oldest)
        with self._deadline_lock:
            late = [conn for conn, deadline in self._header_deadlines.items() if deadline < now]
            for conn in late:
                del self._header_deadlines[conn]
        for conn in late:  # the worker blocked reading headers sees end of file and lets go
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- workers -------------------------------------------------------------------
    def headers_read(self, handler) -> None:
        """Called by the handler once its request line and headers are in: the deadline is met."""
        with self._deadline_lock:
            for conn in [c for c in self._header_deadlines if c.handler is handler]:
                del self._header_deadlines[conn]

    def _serve(self, conn: _Connection) -> None:
        handler = conn.handler
        try:
            while True:
                with self._deadline_lock:
                    self._header_deadlines[conn] = time.monotonic() + self.header_timeout_s
                handler.close_connection = True
                handler.handle_one_request()
                with self._deadline_lock:
                    self._header_deadlines.pop(conn, None)
                if handler.close_connection or self._stopping.is_set():
                    break
                # Pipelined bytes may already sit in the read buffer, where the selector cannot see them.
                conn.sock.setblocking(False)
                try:
                    pending = handler.rfile.peek(1)
                except OSError:
                    pending = b""
                conn.sock.settimeout(self.body_timeout_s)
                if not pending:
                    self._parked.put(conn)
                    self._wake_w.send(b"\0")
                    return
        except Exception:  # a broken or timed-out connection: only that client is affected
            logger.debug("connection from %s ended", conn.handler.client_address, exc_info=True)
        with self._deadline_lock:
            self._header_deadlines.pop(conn, None)
        self._close(conn)

    def _close(self, conn: _Connection) -> None:
        with self._open_lock:
            self._open.discard(conn)
        conn.close()

    # -- lifecycle -----------------------------------------------------------------
    def shutdown(self) -> None:
        self._stopping.set()
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass
        self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            still_open = list(self._open)
        for conn in still_open:  # unblocks workers waiting on a slow peer
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._workers.shutdown(wait=False, cancel_futures=True)
        for sock in (self._wake_r, self._wake_w):
            sock.close()

    def open_connections(self) -> int:
        with self._open_lock:
            return len(self._open)
