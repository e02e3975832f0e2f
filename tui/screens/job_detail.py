"""One job: status, progress, the log streaming into a Log widget, output images.

Two timers poll the API (job record, then new log lines from the last cursor);
they stop once the job is final and its last lines are in. PNG outputs are
fetched to the cache dir and shown with textual-image, which picks sixel / kitty
graphics where the terminal has them and half-blocks everywhere else.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Log, ProgressBar

from sdaws.client.api import ApiClient
from sdaws.client.outputs import save_outputs
from sdaws.contract.job_status import FINAL as FINAL_STATUSES
from tui.widgets.jobs_pane import progress_text
from tui.workers import io_worker

POLL_S = 1.0


def image_widget(path: Path, half_block: bool):
    """textual-image's best renderer, or half-blocks where graphics cannot work (tests, tmux)."""
    from textual_image.widget import HalfcellImage, Image

    widget_cls = HalfcellImage if half_block else Image
    return widget_cls(path, classes="output-image")


class JobDetailScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,backspace", "app.pop_screen", "Back"),
        Binding("x", "cancel_job", "Cancel job"),
        Binding("o", "save_outputs", "Save outputs"),
    ]

    def __init__(self, client: ApiClient, job_id: str, *, half_block_images: bool = False) -> None:
        super().__init__()
        self.client = client
        self.job_id = job_id
        self.job: dict = {}
        self.cursor: str | None = None
        self.logs_complete = False
        self.outputs_shown = False
        self.half_block = half_block_images
        self.image_paths: list[Path] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="job-detail"):
            yield Label(f"Job {self.job_id}", id="job-title", markup=False)
            yield Label("loading…", id="job-status", markup=False)
            yield ProgressBar(total=None, show_eta=False, id="job-progress")
            with Horizontal():
                yield Log(id="job-log", highlight=False, max_lines=20_000)
                yield VerticalScroll(id="job-images")
        yield Footer()

    def on_mount(self) -> None:
        self._timer = self.set_interval(POLL_S, self._tick)
        self._tick()

    def _tick(self) -> None:
        self._poll()

    @io_worker(group="job-detail-poll", title="Job")
    def _poll(self) -> None:
        job = self.client.get_job(self.job_id)
        lines: list[str] = []
        complete = False
        while True:
            page = self.client.job_logs(self.job_id, self.cursor)
            lines.extend(page.get("lines", []))
            complete = bool(page.get("complete"))
            next_cursor = page.get("next_cursor")
            if not page.get("lines") or not next_cursor or next_cursor == self.cursor:
                self.cursor = next_cursor or self.cursor
                break
            self.cursor = next_cursor
        outputs = None
        if job.get("status") == "SUCCEEDED" and not self.outputs_shown:
            outputs = self._fetch_images()
        self.app.call_from_thread(self._show, job, lines, complete, outputs)

    def _fetch_images(self) -> list[Path]:
        folder = Path(platformdirs.user_cache_dir("sdaws")) / "outputs" / self.job_id
        return save_outputs(self.client, self.job_id, folder, images_only=True)

    def _show(self, job: dict, lines: list[str], complete: bool, outputs: list[Path] | None) -> None:
        self.job = job
        status = job.get("status", "?")
        text = f"{job.get('kind')} · {status} · {progress_text(job)}"
        message = (job.get("progress") or {}).get("message")
        if message:
            text += f" · {message}"
        if job.get("error"):
            text += f"\nError: {job['error']}"
        self.query_one("#job-status", Label).update(text)
        progress = job.get("progress") or {}
        bar = self.query_one(ProgressBar)
        if progress.get("total"):
            bar.update(total=progress["total"], progress=progress.get("step") or 0)
        elif status == "SUCCEEDED":
            bar.update(total=1, progress=1)
        if lines:
            # tqdm redraws with carriage returns; a log shows only each line's final state.
            self.query_one(Log).write_lines([line.rsplit("\r", 1)[-1] for line in lines])
        if outputs is not None:
            self.outputs_shown = True
            self.image_paths = outputs
            images = self.query_one("#job-images", VerticalScroll)
            for path in outputs:
                images.mount(Label(path.name, markup=False))
                images.mount(image_widget(path, self.half_block))
        self.logs_complete = complete
        if status in FINAL_STATUSES and (complete or not lines) and (status != "SUCCEEDED" or self.outputs_shown):
            self._timer.stop()

    def action_cancel_job(self) -> None:
        self.app.confirm_cancel(self.job_id)

    def action_save_outputs(self) -> None:
        from tui.screens.path_picker import PathPickerModal

        def chosen(folder: Path | None) -> None:
            if folder is not None:
                self._save(folder)

        self.app.push_screen(PathPickerModal("Save outputs into folder", want="dir", start=Path.cwd()), chosen)

    @io_worker(group="job-save", title="Save outputs")
    def _save(self, folder: Path) -> None:
        saved = save_outputs(self.client, self.job_id, folder)
        self.app.call_from_thread(self.notify, f"Saved {len(saved)} file(s) to {folder}", markup=False)
