"""A running local server's calling card: `<data dir>/server.json`.

Every local server (`sdaws serve`, the TUI's embedded one, the background one the CLI
leaves running for its jobs) writes its URL, pid, model root and a fingerprint of its
token here when it starts and removes it when it stops. A client in local mode reads it
to use that server instead of starting a second one over the same data dir — a second
server would not own the jobs, and whatever it ran would die with the CLI that started
it. The token itself is never written here: the fingerprint only lets a client tell
whether its token is the one this server takes.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from sam_app.adapters.local.process_group import alive

RECORD_FILE = "server.json"


@dataclass(frozen=True)
class ServerRecord:
    url: str
    pid: int
    models_dir: str
    token_fingerprint: str


def token_fingerprint(token: str) -> str:
    return hashlib.sha256(b"sdaws-local-token\0" + token.encode()).hexdigest()[:16]


def announce(data_dir: Path, url: str, models_dir: Path, token: str) -> ServerRecord:
    """Write this server's record (atomically, readable by the user only)."""
    record = ServerRecord(url, os.getpid(), str(Path(models_dir).resolve()), token_fingerprint(token))
    path = Path(data_dir) / RECORD_FILE
    temp = path.with_name(f".{RECORD_FILE}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(asdict(record), fh)
    os.replace(temp, path)
    return record


def withdraw(data_dir: Path, record: ServerRecord) -> None:
    """Remove the record if it is still this server's (a later server may have replaced it)."""
    path = Path(data_dir) / RECORD_FILE
    if read_record(data_dir, require_alive=False) == record:
        path.unlink(missing_ok=True)


def read_record(data_dir: Path, *, require_alive: bool = True) -> ServerRecord | None:
    """The record of a server on this data dir; None when there is none, it is unreadable,
    or (with ``require_alive``) its process is gone."""
    try:
        raw = json.loads((Path(data_dir) / RECORD_FILE).read_text(encoding="utf-8"))
        record = ServerRecord(str(raw["url"]), int(raw["pid"]), str(raw["models_dir"]), str(raw["token_fingerprint"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if require_alive and not alive(record.pid):
        return None
    return record
