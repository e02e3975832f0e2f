"""One job: status, progress, its log as readable lines, and its output images.

A worker follows the job with the client's one follow loop (`sdaws.client.job_follow`,
the same as `sdaws jobs watch`) and posts each update to the screen. Once the job has
succeeded its images are fetched to the cache folder the view names, listed, and the
highlighted one is shown with textual-image (sixel / kitty graphics where the terminal
has them, half-blocks elsewhere, e.g. in tmux); Enter opens it large. While it denoises,
each live preview the job announces (`preview_every`) is fetched and shown in that place.
"""

from __future__ import annotations

import threading
from pathlib import Path

import platformdirs
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, OptionList, ProgressBar, RichLog
from textual.widgets.option_list import Option

from sdaws.client.api import ApiClient, ApiError
from sdaws.client.catalog import set_preview_from_job
from sdaws.client.demo import is_demo_model
from sdaws.client.job_follow import JobUpdate, first_line, follow_job, readable, status_line
from sdaws.client.outputs import save_outputs
from sdaws.client.safe_text import printable
from sdaws.contract.outputs import PREVIEWS_FOLDER
from sdaws.contract.progress import parse_line
from tui.keymap import keys_of
from tui.screens.image_view import ImageScreen, image_widget
from tui.screens.preview_target_dialog import PreviewTargetDialog, default_ref
from tui.workers import io_worker

POLL_S = 1.0
DEMO_NOTE = "The demo model has random weights, so its images are noise: that is expected."


def outputs_folder(job_id: str) -> Path:
    return Path(platformdirs.user_cache_dir("sdaws")) / "outputs" / job_id


class JobDetailScreen(Screen[None]):
    BINDINGS = keys_of("JobDetailScreen")

    class CancelRequested(Message):
        def __init__(self, job_id: str) -> None:
            super().__init__()
            self.job_id = job_id

    class UpscaleRequested(Message):
        """Upscale one of this job's images: ``key`` is its output key (the upscale spec's image)."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    job: reactive[dict] = reactive(dict, always_update=True)
    image_paths: reactive[list[Path]] = reactive(list, always_update=True)

    def __init__(self, client: ApiClient, job_id: str, *, half_block_images: bool = False) -> None:
        super().__init__()
        self.client = client
        self.job_id = job_id
        self.half_block = half_block_images
        self.log_lines: list[str] = []  # what the log pane shows, as text
        self.outputs_shown = False
        self.is_demo = False
        self.live_preview: tuple[str, str] | None = None  # (preview name, job status) last shown
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="job-detail"):
            yield Label(f"Job {self.job_id}", id="job-title", markup=False)
            yield Label("loading…", id="job-status", markup=False)
            yield ProgressBar(total=None, show_eta=False, id="job-progress")
            yield Label("", id="job-note", classes="dim hidden", markup=False)
            with Horizontal():
                yield RichLog(id="job-log", wrap=True, markup=False, highlight=False, max_lines=20_000)
                with Vertical(id="job-outputs"):
                    yield Label("Outputs appear here when the job succeeds.", id="outputs-hint", markup=False)
                    yield OptionList(id="output-list", markup=False)
                    yield Vertical(id="job-image")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#output-list", OptionList).display = False  # until there are outputs
        self._follow()

    def on_unmount(self) -> None:
        self._stop.set()  # the follow loop ends at its next poll; the job goes on

    @io_worker(group="job-detail-follow", title="Job")
    def _follow(self) -> None:
        def shown(update: JobUpdate) -> None:
            if self._stop.is_set():  # the view may have closed while this poll ran
                return
            self.app.call_from_thread(self._show_update, update)
            announced = [e for e in map(parse_line, update.lines) if e and e.get("type") == PREVIEWS_FOLDER]
            if announced and update.job.get("status") == "RUNNING":
                self._fetch_live_preview(str(announced[-1].get("name") or ""), update.job["status"])

        final = follow_job(self.client, self.job_id, shown, interval=POLL_S, stop=self._stop)
        if final is not None and final.get("status") == "SUCCEEDED":
            result = save_outputs(self.client, self.job_id, outputs_folder(self.job_id), images_only=True)
            if not self._stop.is_set():
                self.app.call_from_thread(self._show_images, result.saved)

    def _fetch_live_preview(self, name: str, status: str) -> None:
        """The newest announced preview, fetched into the cache folder (runs in the follow worker)."""
        try:
            listed = self.client.job_outputs(self.job_id)["outputs"]
            found = next((o for o in listed if o.get("type") == PREVIEWS_FOLDER and o.get("name") == name), None)
            if found is None or not found.get("url"):
                return  # listed at the next poll (or the job ended: its images come instead)
            path = self.client.download(found["url"], outputs_folder(self.job_id) / PREVIEWS_FOLDER / Path(name).name)
        except ApiError:
            return  # a preview that could not be fetched is skipped; following the job goes on
        if not self._stop.is_set():
            self.app.call_from_thread(self._show_live_preview, path, status)

    def _show_live_preview(self, path: Path, status: str) -> None:
        if not self.is_attached or self.outputs_shown:
            return  # the finished images have taken its place
        holder = self.query_one("#job-image", Vertical)
        holder.remove_children()
        holder.mount(image_widget(path, self.half_block))
        self.query_one("#outputs-hint", Label).update(printable(f"Live preview: {path.name}", single_line=True))
        self.live_preview = (path.name, status)

    def _show_images(self, paths: list[Path]) -> None:
        if self.is_attached:
            self.image_paths = paths

    def _show_update(self, update: JobUpdate) -> None:
        if not self.is_attached:
            return
        log = self.query_one(RichLog)
        for line in update.lines:
            text = readable(line)
            if text is not None:
                self.log_lines.append(text)
                log.write(Text(text))  # Text: a log line is never markup
        self.job = update.job

    def watch_job(self, job: dict) -> None:
        if not job:
            return
        title = f"Job {self.job_id} · {job.get('kind')}" + (f" · {job['name']}" if job.get("name") else "")
        self.query_one("#job-title", Label).update(printable(title, single_line=True))
        text = status_line(job)
        if job.get("error"):
            text += f"\nError: {first_line(job['error'])}"
        self.query_one("#job-status", Label).update(printable(text))
        progress = job.get("progress") or {}
        bar = self.query_one(ProgressBar)
        if job.get("status") == "SUCCEEDED":
            bar.update(total=1, progress=1)
        elif progress.get("total"):
            bar.update(total=progress["total"], progress=progress.get("step") or 0)
        self.is_demo = job.get("kind") in ("txt2img", "img2img") and is_demo_model(
            str((job.get("params") or {}).get("model") or "")
        )
        if self.is_demo:
            note = self.query_one("#job-note", Label)
            note.update(DEMO_NOTE)
            note.remove_class("hidden")

    def watch_image_paths(self, paths: list[Path]) -> None:
        if self.job.get("status") != "SUCCEEDED":
            return
        self.outputs_shown = True
        hint = self.query_one("#outputs-hint", Label)
        if not paths:
            hint.update("No images: the job's results are in the model tree (Models tab).")
            return
        hint.update(f"Saved in {outputs_folder(self.job_id)} · enter: open large · o: save elsewhere")
        options = self.query_one("#output-list", OptionList)
        options.display = True
        options.clear_options()
        options.add_options([Option(printable(p.name, single_line=True), id=str(i)) for i, p in enumerate(paths)])
        options.highlighted = 0
        options.focus()  # Enter opens the image

    @on(OptionList.OptionHighlighted, "#output-list")
    def _preview(self, event: OptionList.OptionHighlighted) -> None:
        path = self.image_paths[int(event.option.id or 0)]
        holder = self.query_one("#job-image", Vertical)
        holder.remove_children()
        holder.mount(image_widget(path, self.half_block))

    @on(OptionList.OptionSelected, "#output-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        path = self.image_paths[int(event.option.id or 0)]
        note = DEMO_NOTE if self.is_demo else ""
        self.app.push_screen(ImageScreen(path, self.half_block, note=note))

    def action_upscale_image(self) -> None:
        options = self.query_one("#output-list", OptionList)
        if not self.image_paths or options.highlighted is None:
            self.notify("Upscale: highlight one of the job's images first", markup=False)
            return
        name = self.image_paths[options.highlighted].name
        key = next((o.get("key") for o in self.job.get("outputs") or [] if o.get("name") == name), None)
        if key:
            self.post_message(self.UpscaleRequested(str(key)))

    def action_use_as_preview(self) -> None:
        options = self.query_one("#output-list", OptionList)
        if not self.image_paths or options.highlighted is None:
            self.notify("Use as preview: highlight one of the job's images first", markup=False)
            return
        name = self.image_paths[options.highlighted].name

        def chosen(ref: tuple[str, str] | None) -> None:
            if ref is not None:
                self._set_preview(ref, name)

        model = default_ref(self.job.get("params") or {})
        self.app.push_screen(PreviewTargetDialog(name, model), chosen)

    @io_worker(group="job-preview", title="Use as preview")
    def _set_preview(self, ref: tuple[str, str], output: str) -> None:
        done = set_preview_from_job(self.client, ref[0], ref[1], self.job_id, output)
        text = f"{output} is now the preview of {ref[0]}/{ref[1]} ({done.get('preview')})"
        self.app.call_from_thread(self.notify, text, markup=False)

    def action_cancel_job(self) -> None:
        self.post_message(self.CancelRequested(self.job_id))

    def action_save_outputs(self) -> None:
        from tui.screens.path_picker import PathPickerModal

        def chosen(folder: Path | None) -> None:
            if folder is not None:
                self._save(folder)

        picker = PathPickerModal("Save outputs into folder", want="dir", start=Path.cwd(), create_missing=True)
        self.app.push_screen(picker, chosen)

    @io_worker(group="job-save", title="Save outputs")
    def _save(self, folder: Path) -> None:
        result = save_outputs(self.client, self.job_id, folder)
        text = f"Saved {len(result.saved)} file(s) to {folder}"
        if result.in_tree:
            text += f"; in the model tree: {', '.join(result.in_tree)}"
        self.app.call_from_thread(self.notify, text, markup=False)
