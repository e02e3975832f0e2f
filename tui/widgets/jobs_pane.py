"""Jobs tab: a table of recent jobs with live status and progress (polled on a timer).

The timer asks for the list (one request a tick) only while a job it shows can still
change, and not while the job view covers the app (that view follows its own job): an
idle app sends nothing. It keeps asking while another tab is shown, since a job that
finishes there refreshes the model tree. The list is asked for again when the Jobs tab
is shown, when `r` is pressed and after a submit, so jobs started elsewhere appear.
Rows are in the API's order (newest first, as `sdaws jobs ls` prints them). Opening or
cancelling a job, and a job that just finished, are posted upward as messages.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from sdaws.client import fmt
from sdaws.client.api import ApiClient, NotFound
from sdaws.client.safe_text import printable
from sdaws.contract.job_status import FINAL as FINAL_STATUSES
from tui.keymap import keys_of
from tui.workers import io_worker

POLL_S = 2.0
COLUMNS = ("Job", "Kind", "Name", "Status", "Progress", "Created")


def progress_text(job: dict) -> str:
    """The Progress cell: steps while running, the end state after (no stale message)."""
    progress = job.get("progress") or {}
    step, total = progress.get("step"), progress.get("total")
    status = job.get("status")
    if status == "SUCCEEDED":
        return "100%"
    if not total:
        if status in FINAL_STATUSES:
            return ""
        return printable(progress.get("message") or "…", single_line=True)[:40]
    eta = progress.get("eta_s")
    tail = f" ETA {fmt.duration(eta)}" if eta and status == "RUNNING" else ""
    return f"{step}/{total} ({100 * (step or 0) // total}%)" + tail


def keep_last_steps(old: dict | None, new: dict) -> dict:
    """A job that prints a message between step counts ("saving") keeps its last count."""
    progress = dict(new.get("progress") or {})
    before = (old or {}).get("progress") or {}
    if not progress.get("total") and before.get("total") and new.get("status") not in FINAL_STATUSES:
        progress |= {"step": before.get("step"), "total": before["total"], "eta_s": None}
        return new | {"progress": progress}
    return new


class JobsPane(Vertical):
    BINDINGS = keys_of("JobsPane")

    class OpenJob(Message):
        def __init__(self, job_id: str) -> None:
            super().__init__()
            self.job_id = job_id

    class CancelJob(Message):
        def __init__(self, job_id: str) -> None:
            super().__init__()
            self.job_id = job_id

    class JobFinished(Message):
        """A job seen running reached a final status (the models it made may be new)."""

        def __init__(self, job: dict) -> None:
            super().__init__()
            self.job = job

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client: ApiClient | None = None
        self.jobs: dict[str, dict] = {}
        self._timer = None

    def compose(self) -> ComposeResult:
        yield Label("Jobs (n: new job · enter: open · x: cancel)", id="jobs-hint")
        yield DataTable(id="jobs-table", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in COLUMNS:
            table.add_column(label, key=label.lower())

    def attach(self, client: ApiClient) -> None:
        self.client = client
        self.jobs.clear()
        self.query_one(DataTable).clear()
        if self._timer is None:
            self._timer = self.set_interval(POLL_S, self._tick)
        self.action_refresh()

    def running(self) -> bool:
        """Whether a job shown here can still change (the one reason to poll)."""
        return any(job.get("status") not in FINAL_STATUSES for job in self.jobs.values())

    def _covered(self) -> bool:
        # Dialogs leave the app in view; a full screen (the job view) does not.
        top = next((s for s in reversed(self.app.screen_stack) if not isinstance(s, ModalScreen)), None)
        return top is not self.screen

    def _tick(self) -> None:
        if self.running() and not self._covered():
            self.action_refresh()

    def action_refresh(self) -> None:
        if self.client is not None:
            self._poll()

    @io_worker(group="jobs-poll", title="Jobs")
    def _poll(self) -> None:
        try:
            page = self.client.list_jobs(limit=100)
        except NotFound:
            self.app.call_from_thread(self._no_jobs_api)
            return
        self.app.call_from_thread(self.show_jobs, page.get("jobs", []))

    def _no_jobs_api(self) -> None:
        self.query_one("#jobs-hint", Label).update("This API has no jobs routes (an older deployment?).")
        if self._timer is not None:
            self._timer.pause()

    @staticmethod
    def _cells(job: dict) -> tuple[Text, ...]:
        # Text, not str: DataTable reads a str cell as markup, and these come from the server.
        values = (
            job["job_id"][:12],
            job.get("kind", ""),
            job.get("name") or "",
            job.get("status", ""),
            progress_text(job),
            fmt.timestamp(job.get("created_at")),
        )
        return tuple(Text(printable(value, single_line=True)) for value in values)

    def show_jobs(self, jobs: list[dict]) -> None:
        """Show ``jobs`` (newest first) in the API's order."""
        table = self.query_one(DataTable)
        for job in jobs:
            old = self.jobs.get(job["job_id"])
            job = keep_last_steps(old, job)
            if old is not None and old.get("status") not in FINAL_STATUSES and job.get("status") in FINAL_STATUSES:
                self.post_message(self.JobFinished(job))
            self.jobs[job["job_id"]] = job
        shown = [str(row.value) for row in table.rows]
        wanted = [j["job_id"] for j in jobs]
        if shown[: len(wanted)] != wanted:  # new jobs (or another order): lay the rows out again
            selected = self.highlighted_job()
            table.clear()
            for job_id in wanted + [i for i in shown if i not in wanted]:
                table.add_row(*self._cells(self.jobs[job_id]), key=job_id)
            if selected is not None and selected["job_id"] in self.jobs:
                table.move_cursor(row=table.get_row_index(selected["job_id"]))
            return
        for job_id in wanted:
            for label, value in zip(COLUMNS, self._cells(self.jobs[job_id]), strict=True):
                table.update_cell(job_id, label.lower(), value, update_width=True)  # a status is never cut

    def upsert(self, job: dict) -> None:
        """Show a job the app just submitted without waiting for the next poll."""
        table = self.query_one(DataTable)
        rest = [self.jobs[str(row.value)] for row in table.rows if str(row.value) != job["job_id"]]
        self.show_jobs([job, *rest])

    def highlighted_job(self) -> dict | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.jobs.get(str(row_key.value))

    @on(DataTable.RowSelected, "#jobs-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_job()

    def action_open_job(self) -> None:
        job = self.highlighted_job()
        if job is not None:
            self.post_message(self.OpenJob(job["job_id"]))

    def action_cancel_job(self) -> None:
        job = self.highlighted_job()
        if job is not None:
            self.post_message(self.CancelJob(job["job_id"]))
