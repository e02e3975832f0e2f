"""Jobs tab: a table of recent jobs with live status and progress (polled on a timer)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from sdaws.client import fmt
from sdaws.client.api import ApiClient, NotFound
from sdaws.contract.job_status import FINAL as FINAL_STATUSES
from tui.workers import io_worker

POLL_S = 2.0
COLUMNS = ("Job", "Kind", "Name", "Status", "Progress", "Created")


def progress_text(job: dict) -> str:
    progress = job.get("progress") or {}
    step, total = progress.get("step"), progress.get("total")
    if not total:
        return "" if job.get("status") in FINAL_STATUSES else "…"
    eta = progress.get("eta_s")
    tail = f" ETA {fmt.duration(eta)}" if eta and job.get("status") == "RUNNING" else ""
    return f"{step}/{total} ({100 * (step or 0) // total}%)" + tail


class JobsPane(Vertical):
    BINDINGS = [
        Binding("enter", "open_job", "Open"),
        Binding("x", "cancel_job", "Cancel job"),
        Binding("r", "refresh", "Refresh"),
    ]

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
            self._timer = self.set_interval(POLL_S, self.action_refresh)
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
        self.app.call_from_thread(self._show, page.get("jobs", []))

    def _no_jobs_api(self) -> None:
        self.query_one("#jobs-hint", Label).update("This API has no jobs routes (an older deployment?).")
        if self._timer is not None:
            self._timer.pause()

    def _show(self, jobs: list[dict]) -> None:
        table = self.query_one(DataTable)
        added = False
        for job in jobs:
            job_id = job["job_id"]
            cells = (
                job_id[:12],
                job.get("kind", ""),
                job.get("name") or "",
                job.get("status", ""),
                progress_text(job),
                fmt.timestamp(job.get("created_at")),
            )
            if job_id in self.jobs:
                for label, value in zip(COLUMNS, cells, strict=True):
                    table.update_cell(job_id, label.lower(), value)
            else:
                table.add_row(*cells, key=job_id)
                added = True
            self.jobs[job_id] = job
        if added:
            table.sort("created", reverse=True)  # newest first, like the API lists them

    def upsert(self, job: dict) -> None:
        """Show a job the app just submitted without waiting for the next poll."""
        self._show([job])

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
            self.app.open_job(job["job_id"])

    def action_cancel_job(self) -> None:
        job = self.highlighted_job()
        if job is None:
            return
        self.app.confirm_cancel(job["job_id"])
