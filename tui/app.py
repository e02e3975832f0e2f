"""The sdaws Textual app: Models, Uploads and Jobs tabs over one API connection.

All I/O runs in thread workers (``tui.workers.io_worker``) so the UI never
blocks; errors become notifications. The app owns the connection and the flows
that cross tabs (upload, convert, submit a job, open a job).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.widgets import Footer, Header, TabbedContent, TabPane

from sdaws.client.config import Settings, Target, load_settings, resolve, save_settings
from sdaws.client.connection import Connection, connect
from sdaws.client.demo import DEMO_NAME, write_demo
from tui.screens.confirm import ConfirmModal
from tui.screens.convert_dialog import ConvertDialog
from tui.screens.help import HelpModal
from tui.screens.job_detail import JobDetailScreen
from tui.screens.job_form import FORMS, JobForm, JobRequest
from tui.screens.job_kind import JobKindModal
from tui.screens.path_picker import PathPickerModal
from tui.screens.settings import SettingsModal
from tui.screens.upload_dialog import UploadDialog
from tui.widgets.jobs_pane import JobsPane
from tui.widgets.model_tree import ModelData, ModelTree
from tui.widgets.models_pane import ModelsPane
from tui.widgets.uploads_pane import UploadsPane
from tui.workers import io_worker


class SdawsApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "sdaws"
    BINDINGS = [
        Binding("m", "show_tab('models')", "Models"),
        Binding("u", "show_tab('uploads')", "Uploads"),
        Binding("j", "show_tab('jobs')", "Jobs"),
        Binding("n", "new_job", "New job"),
        Binding("e", "endpoints", "Endpoints", show=False),  # in the palette and in help
        Binding("s", "settings", "Settings"),
        Binding("f1,question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, target: Target | None = None, *, half_block_images: bool = False) -> None:
        super().__init__()
        self.target = target or resolve()
        self.conn: Connection | None = None
        self.types: list[dict] = []
        self.half_block_images = half_block_images

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="models", id="tabs"):
            with TabPane("Models", id="models"):
                yield ModelsPane(id="models-pane")
            with TabPane("Uploads", id="uploads"):
                yield UploadsPane(id="uploads-pane")
            with TabPane("Jobs", id="jobs"):
                yield JobsPane(id="jobs-pane")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "connecting…"
        self.connect_to(self.target)

    def on_unmount(self) -> None:
        if self.conn is not None:
            self.conn.close()

    # -- connection ----------------------------------------------------------

    @io_worker(group="connect", title="Connection")
    def connect_to(self, target: Target) -> None:
        conn = None
        try:  # a failure anywhere (also starting the embedded server) leaves a visible state
            conn = connect(target)
            ping = conn.client.ping()
            types = conn.client.model_types().get("types", [])
            empty = not conn.client.list_models(limit=1).get("items")
        except Exception:
            if conn is not None:
                conn.close()
            self.call_from_thread(setattr, self, "sub_title", "not connected · s: settings")
            raise
        self.call_from_thread(self._connected, conn, ping, types, empty)

    def _connected(self, conn: Connection, ping: dict, types: list[dict], empty: bool) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = conn
        self.types = types
        self.sub_title = f"{conn.label} · {ping.get('mode')} · v{ping.get('version')}"
        self.query_one(ModelsPane).attach(conn.client, types)
        self.query_one(UploadsPane).attach(conn)
        self.query_one(JobsPane).attach(conn.client)
        tree = self.query_one(ModelTree)
        tree.open_folder("Stable-diffusion")
        tree.focus()
        if empty:
            self._offer_demo()

    def _offer_demo(self) -> None:
        question = (
            "Your model tree is empty. Create a tiny demo checkpoint in Stable-diffusion/ "
            "so you can try browsing, converting and jobs on the CPU in minutes?"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._create_demo()

        self.push_screen(ConfirmModal(question, yes="Create demo", title="Welcome to sdaws", danger=False), answered)

    @io_worker(group="demo", title="Demo checkpoint")
    def _create_demo(self) -> None:
        from sdaws.client.uploader import upload_file

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / DEMO_NAME
            runnable = write_demo(path)
            # Through the API like any upload, so it works against AWS as well as locally.
            upload_file(self.conn.client, path, "Stable-diffusion", scope=self.conn.scope)
        note = "" if runnable else " (placeholder: install the jobs extra for a runnable model)"
        self.call_from_thread(self.notify, f"Created Stable-diffusion/{DEMO_NAME}{note}")
        self.call_from_thread(self.refresh_models)

    def refresh_models(self) -> None:
        self.query_one(ModelTree).reload()

    # -- actions -------------------------------------------------------------

    TAB_FOCUS = {"models": "#model-tree", "uploads": "#upload-table", "jobs": "#jobs-table"}

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        # The tab's keys (ctrl+r, x, enter…) act where the focus is: move it into the tab.
        self.query_one(self.TAB_FOCUS[tab]).focus()

    def action_help(self) -> None:
        self.push_screen(HelpModal())

    def action_endpoints(self) -> None:
        from tui.screens.endpoints import EndpointsScreen

        if self._connected_or_warn():
            self.push_screen(EndpointsScreen(self.conn.client))

    def action_settings(self) -> None:
        def saved(settings: Settings | None) -> None:
            if settings is None:
                return
            save_settings(settings)
            self.notify("Settings saved; reconnecting…")
            self.target = resolve()
            self.connect_to(self.target)

        self.push_screen(SettingsModal(load_settings(), self.target), saved)

    def action_upload(self) -> None:
        if not self._connected_or_warn():
            return

        def picked(path: Path | None) -> None:
            if path is not None:
                self.push_screen(UploadDialog(path, [t["name"] for t in self.types]), confirmed)

        def confirmed(choice: tuple[Path, str] | None) -> None:
            if choice is not None:
                self.action_show_tab("uploads")
                self.query_one(UploadsPane).enqueue(*choice)

        self.push_screen(PathPickerModal("Upload a model file"), picked)

    def open_convert(self, model: ModelData, detected: dict | None = None) -> None:

        def chosen(params: dict | None) -> None:
            if params is not None:
                self.submit(JobRequest("convert", params))

        self.push_screen(ConvertDialog(model.name, detected), chosen)

    def action_new_job(self, kind: str | None = None) -> None:
        if not self._connected_or_warn():
            return
        if kind is None:
            self.push_screen(JobKindModal(), lambda chosen: chosen and self.action_new_job(chosen))
            return
        models = self.query_one(ModelTree).loaded_names("Stable-diffusion")

        def filled(request: JobRequest | None) -> None:
            if request is not None:
                self.submit(request)

        self.push_screen(JobForm(kind, models), filled)

    @io_worker(group="submit", exclusive=False, title="Submit job")
    def submit(self, request: JobRequest) -> None:
        client = self.conn.client
        params = dict(request.params)
        if "init_image" in request.files:
            params["init_image"] = client.upload_job_input(request.files["init_image"])["key"]
        if "dataset" in request.files:
            group = None
            for path in sorted(request.files["dataset"].iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    group = client.upload_job_input(path, group)["group"]
            if "dataset" in params or group is not None:
                params["dataset"] = group
        job = client.submit_job(request.kind, params, idempotency_key=str(uuid.uuid4()))
        self.call_from_thread(self._submitted, job)

    def _submitted(self, job: dict) -> None:
        self.notify(f"Submitted {job.get('kind')} job {job['job_id']}", markup=False)
        self.query_one(JobsPane).upsert(job)
        self.action_show_tab("jobs")
        self.open_job(job["job_id"])

    def open_job(self, job_id: str) -> None:
        if self._connected_or_warn():
            self.push_screen(JobDetailScreen(self.conn.client, job_id, half_block_images=self.half_block_images))

    def confirm_cancel(self, job_id: str) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._cancel(job_id)

        self.push_screen(ConfirmModal(f"Cancel job {job_id}?", yes="Cancel job", title="Cancel job"), answered)

    @io_worker(group="cancel", exclusive=False, title="Cancel job")
    def _cancel(self, job_id: str) -> None:
        result = self.conn.client.cancel_job(job_id)
        self.call_from_thread(self.notify, f"Cancel requested: {result.get('status', 'ok')}", markup=False)
        self.call_from_thread(self.query_one(JobsPane).action_refresh)

    def _connected_or_warn(self) -> bool:
        if self.conn is None:
            self.notify("Not connected yet: check Settings (s).", severity="warning")
            return False
        return True

    # -- command palette -------------------------------------------------------

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Models: browse the model tree", "Show the Models tab", lambda: self.action_show_tab("models")
        )
        yield SystemCommand("Models: filter by name", "Focus the filter box", self._palette_filter)
        yield SystemCommand("Models: refresh", "Reload the open folders", self.refresh_models)
        yield SystemCommand(
            "Models: delete highlighted",
            "Delete the highlighted model (asks first)",
            lambda: self.query_one(ModelsPane).action_delete_model(),
        )
        yield SystemCommand(
            "Models: convert highlighted",
            "Convert the highlighted checkpoint to diffusers",
            lambda: self.query_one(ModelsPane).action_convert_model(),
        )
        yield SystemCommand("Upload a model file", "Pick a local file and upload it", self.action_upload)
        yield SystemCommand(
            "Uploads: resume interrupted",
            "Resume stopped uploads",
            lambda: self.query_one(UploadsPane).action_resume_all(),
        )
        yield SystemCommand("Jobs: show", "Show the Jobs tab", lambda: self.action_show_tab("jobs"))
        for kind in FORMS:
            yield SystemCommand(f"New {kind} job", f"Open the {kind} form", lambda k=kind: self.action_new_job(k))
        yield SystemCommand("Endpoints", "Inference endpoints: status, scaling, delete", self.action_endpoints)
        yield SystemCommand("Settings", "API URL, token, Test Connection", self.action_settings)
        yield SystemCommand("Help", "Keys and flows", self.action_help)

    def _palette_filter(self) -> None:
        self.action_show_tab("models")
        self.query_one(ModelsPane).action_focus_filter()
