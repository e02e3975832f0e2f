"""Uploads tab: a queue of files, one upload at a time (its parts in parallel).

Progress shows bytes/s and ETA. Stopping (x) keeps the upload's state in the
config dir; the pane lists such interrupted uploads when it starts, so they
resume after an app restart with only the missing parts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Label, ProgressBar

from sdaws.client import fmt
from sdaws.client.api import Conflict
from sdaws.client.connection import Connection
from sdaws.client.safe_text import printable
from sdaws.client.uploader import Progress, UploadCancelled, UploadState, upload_file
from tui.keymap import keys_of
from tui.screens.confirm import ConfirmModal
from tui.workers import io_worker


def _cell(value: str) -> Text:
    """A table cell as plain text: DataTable would read a str (a file name, say) as markup."""
    return Text(printable(value, single_line=True))


@dataclass
class QueuedUpload:
    path: Path
    model_type: str
    status: str = "queued"
    cancel: threading.Event = field(default_factory=threading.Event)
    overwrite: bool = False  # the user confirmed replacing a model of the same name

    @property
    def key(self) -> str:
        return f"{self.path}|{self.model_type}"


class UploadsPane(Vertical):
    BINDINGS = keys_of("UploadsPane")

    class AddRequested(Message):
        """The user wants to pick a file to upload (the app owns the file dialogs)."""

    class Uploaded(Message):
        """A model arrived in the tree."""

        def __init__(self, result: dict) -> None:
            super().__init__()
            self.result = result

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.conn: Connection | None = None
        self.queue: dict[str, QueuedUpload] = {}
        self.results: list[dict] = []
        self._runner_lock = threading.Lock()  # one queue runner at a time

    def compose(self) -> ComposeResult:
        yield Label("Press a to add a model file; the folder is suggested from its header.", id="upload-hint")
        yield ProgressBar(total=1, show_eta=False, id="upload-progress")
        yield Label("", id="upload-rate", markup=False)
        yield DataTable(id="upload-table", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("File", "Folder", "Size", "Status"):
            table.add_column(label, key=label.lower())

    def attach(self, conn: Connection) -> None:
        """List uploads an earlier run left unfinished for this API."""
        self.conn = conn
        for record_key, record in UploadState().pending().items():
            path_text, _, rest = record_key.partition("|")
            if not rest.endswith("|" + conn.scope):
                continue
            path = Path(path_text)
            if path.is_file():
                self._add(QueuedUpload(path, record.get("type", ""), status="interrupted (ctrl+r resumes)"))

    # -- queue ---------------------------------------------------------------

    def _add(self, item: QueuedUpload) -> None:
        table = self.query_one(DataTable)
        if item.key in self.queue:
            self.queue[item.key].status = item.status
            table.update_cell(item.key, "status", _cell(item.status))
            return
        self.queue[item.key] = item
        size = item.path.stat().st_size if item.path.exists() else 0
        table.add_row(
            _cell(item.path.name), _cell(item.model_type), _cell(fmt.size(size)), _cell(item.status), key=item.key
        )

    def _set_status(self, item: QueuedUpload, status: str) -> None:
        item.status = status
        self.query_one(DataTable).update_cell(item.key, "status", _cell(status), update_width=True)

    def enqueue(self, path: Path, model_type: str, overwrite: bool = False) -> None:
        item = QueuedUpload(path, model_type, overwrite=overwrite)
        self._add(item)
        self.queue[item.key].overwrite = overwrite
        self.queue[item.key].cancel = threading.Event()
        self._set_status(self.queue[item.key], "queued")
        self._run_queue()

    def action_resume_all(self) -> None:
        for item in self.queue.values():
            if item.status.startswith(("interrupted", "stopped", "failed")):
                item.cancel = threading.Event()
                self._set_status(item, "queued")
        self._run_queue()

    def action_stop(self) -> None:
        for item in self.queue.values():
            if item.status == "uploading":
                item.cancel.set()

    def action_add_files(self) -> None:
        self.post_message(self.AddRequested())

    # -- the worker ----------------------------------------------------------

    @io_worker(group="uploads", exclusive=False, title="Upload")
    def _run_queue(self) -> None:
        while self._next_queued() is not None and self.conn is not None:
            # A runner is already draining the queue: it picks up new items, and
            # re-checks after letting go of the lock so none is left behind.
            if not self._runner_lock.acquire(blocking=False):
                return
            try:
                while (item := self._next_queued()) is not None and self.conn is not None:
                    self._upload_one(item)
            finally:
                self._runner_lock.release()

    def _next_queued(self) -> QueuedUpload | None:
        return next((i for i in self.queue.values() if i.status == "queued"), None)

    def _upload_one(self, item: QueuedUpload) -> None:
        call = self.app.call_from_thread
        call(self._set_status, item, "uploading")
        try:
            result = upload_file(
                self.conn.client,
                item.path,
                item.model_type,
                cancel=item.cancel,
                scope=self.conn.scope,
                overwrite=item.overwrite,
                on_progress=lambda p: call(self._show_progress, item, p),
            )
        except UploadCancelled:
            call(self._set_status, item, "stopped (ctrl+r resumes)")
            return
        except Conflict:  # retrying cannot help: ask whether to replace the model
            call(self._set_status, item, "name taken")
            call(self._offer_overwrite, item)
            return
        except Exception as exc:
            call(self._set_status, item, "failed (ctrl+r retries)")
            call(
                self.notify,
                f"Upload of {item.path.name} failed: {exc}",
                title="Upload",
                severity="error",
                markup=False,
                timeout=10,
            )
            return
        self.results.append(result)
        call(self._set_status, item, f"done · sha256 {str(result.get('sha256'))[:12]}…")
        checked = "sha256 verified by the server" if result.get("sha256_verified") else "sha256 recorded"
        call(self.notify, f"Uploaded {result['type']}/{result['name']} ({checked})", markup=False)
        call(self.post_message, self.Uploaded(result))

    def _offer_overwrite(self, item: QueuedUpload) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.enqueue(item.path, item.model_type, overwrite=True)
            else:
                self._set_status(item, "not uploaded: name taken")

        question = f"{item.model_type}/{item.path.name} already exists. Replace it with {item.path}?"
        self.app.push_screen(
            ConfirmModal(question, yes="Overwrite", no="Keep the existing one", title="Name taken"), answered
        )

    def _show_progress(self, item: QueuedUpload, p: Progress) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=max(p.total, 1), progress=p.done)
        self.query_one("#upload-rate", Label).update(
            f"{item.path.name}: {fmt.size(p.done)} / {fmt.size(p.total)} · {fmt.rate(p.rate)} · "
            f"ETA {fmt.duration(p.eta_s)} · parts {p.parts_done}/{p.part_count}"
        )
