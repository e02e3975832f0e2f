"""Hash and write on one thread while the network is read on another.

SHA-256 costs about as much CPU as receiving the bytes, so doing both in one loop makes
the import slower than a plain download. Here the caller's thread only fills buffers
from the socket; a second thread hashes each buffer and hands it to the sink, in order.
Buffers come from a small fixed pool, so memory stays at POOL x CHUNK whatever the size.
hashlib, socket reads and file writes all release the GIL, so the two really overlap.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from collections.abc import Callable

CHUNK = 1024 * 1024  # a read returns only when full: small enough for steady progress lines
POOL = 8


class HashingWriter:
    def __init__(self, write: Callable[[memoryview], None], chunk: int = CHUNK, pool: int = POOL) -> None:
        self._write = write
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(pool):
            self._free.put(bytearray(chunk))
        self._work: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
        self._digest = hashlib.sha256()
        self._error: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="sdaws-import-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._work.get()) is not None:
            buffer, n = item
            try:
                if self._error is None and not self._abandoned:
                    view = memoryview(buffer)[:n]
                    self._digest.update(view)
                    self._write(view)
            except BaseException as exc:  # surfaced on the caller's thread by the next call
                self._error = exc
            finally:
                self._free.put(buffer)
                self._work.task_done()
        self._work.task_done()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def buffer(self) -> bytearray:
        """An empty buffer to read into (waits while every buffer is being hashed)."""
        self._check()
        return self._free.get()

    def submit(self, buffer: bytearray, n: int) -> None:
        if n:
            self._work.put((buffer, n))
        else:
            self._free.put(buffer)

    def drain(self) -> None:
        """Wait until everything submitted is hashed and written."""
        self._work.join()
        self._check()

    def restart(self, reset_sink: Callable[[], None]) -> None:
        """Start over at byte 0: drop the hash so far, let the sink forget its bytes."""
        self.drain()
        reset_sink()
        self._digest = hashlib.sha256()

    def hexdigest(self) -> str:
        self.drain()
        return self._digest.hexdigest()

    def close(self) -> None:
        self._work.put(None)
        self._thread.join()

    def abandon(self) -> None:
        """Stop writing, without waiting: after a failure or a cancel. A SIGTERM raises in the
        main thread wherever it happens to be — possibly inside a queue operation — so the
        error path never blocks on this thread again; it is a daemon and dies with the job."""
        self._abandoned = True
        with contextlib.suppress(queue.Full):
            self._work.put_nowait(None)
