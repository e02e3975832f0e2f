"""The sdaws Textual app: Models, Uploads and Jobs tabs over one API connection.

All I/O runs in thread workers (``tui.workers.io_worker``) so the UI never blocks;
errors become notifications. The panes post messages (convert this, open that job, a
model arrived); the app owns the connection and the flows that cross tabs. What the
header says is reactive state (`status`), set from wherever the connection changes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from textual import on
from textual.app import App, ComposeResult
from textual.reactive import reactive
from textual.widgets import Footer, Header, Input, TabbedContent, TabPane

from sdaws.client.config import Settings, Target, load_settings, resolve, save_settings
from sdaws.client.connection import Connection, connect
from sdaws.client.demo import DEMO_NAME, write_demo
from sdaws.client.model_info import is_base_model
from sdaws.contract.model_tree import REQUIRED_TYPE, UPSCALER_TYPES
from tui.commands import DescribedCommandsProvider
from tui.keymap import keys_of
from tui.palette_commands import palette_commands
from tui.screens.busy import BusyModal
from tui.screens.confirm import ConfirmModal
from tui.screens.convert_dialog import ConvertDialog
from tui.screens.export_dialog import ExportDialog
from tui.screens.help import HelpModal
from tui.screens.job_detail import JobDetailScreen
from tui.screens.job_form import MODEL_FIELD, JobForm
from tui.screens.job_kind import JobKindModal
from tui.screens.model_search import ModelSearchScreen
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
    COMMANDS = {DescribedCommandsProvider}
    # The footer shows what fits 80 columns; the tabs name m/u/j themselves, and f1 lists every key.
    BINDINGS = keys_of("SdawsApp")

    status: reactive[str] = reactive("connecting…")

    def __init__(self, target: Target | None = None, *, half_block_images: bool = False) -> None:
        super().__init__()
        self.target = target or resolve()
        self.conn: Connection | None = None
        self.types: list[dict] = []
        self.half_block_images = half_block_images
        self.form_memory: dict[str, dict] = {}  # the last values of each job form, per kind

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="models", id="tabs"):
            with TabPane("Models (m)", id="models"):
                yield ModelsPane(id="models-pane")
            with TabPane("Uploads (u)", id="uploads"):
                yield UploadsPane(id="uploads-pane")
            with TabPane("Jobs (j)", id="jobs"):
                yield JobsPane(id="jobs-pane")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.connect_to(self.target)

    def on_unmount(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def watch_status(self, status: str) -> None:
        self.sub_title = status

    # -- connection ----------------------------------------------------------

    @io_worker(group="connect", title="Connection")
    def connect_to(self, target: Target) -> None:
        self.call_from_thread(setattr, self, "status", "connecting…")
        conn = None
        try:  # a failure anywhere (also starting the embedded server) leaves a visible state
            conn = connect(target)
            ping = conn.client.ping()
            types = conn.client.model_types().get("types", [])
            empty = not conn.client.list_models(limit=1).get("items")
        except Exception:
            if conn is not None:
                conn.close()
            self.call_from_thread(setattr, self, "status", "not connected · s: settings")
            raise
        self.call_from_thread(self._connected, conn, ping, types, empty)

    def _connected(self, conn: Connection, ping: dict, types: list[dict], empty: bool) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = conn
        self.types = types
        # The label says "local · <models>" for the local server: the mode is named once.
        mode = "" if conn.local is not None else f" · {ping.get('mode')}"
        self.status = f"{conn.label}{mode} · v{ping.get('version')}"
        local_tree = conn.local.models_dir if conn.local is not None else None  # previews are files here
        self.query_one(ModelsPane).attach(conn.client, types, models_root=local_tree)
        self.query_one(UploadsPane).attach(conn)
        self.query_one(JobsPane).attach(conn.client)
        tree = self.query_one(ModelTree)
        tree.open_folder(REQUIRED_TYPE)
        tree.focus()
        if empty:
            self._offer_demo()

    # -- the demo model ---------------------------------------------------------

    def _offer_demo(self) -> None:
        question = (
            "Your model tree is empty. Create a tiny demo checkpoint in Stable-diffusion/ "
            "so you can try browsing, converting and jobs on the CPU in minutes? "
            "(Its weights are random: the images it makes are noise.)"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.action_create_demo()

        self.push_screen(
            ConfirmModal(question, yes="Create demo", no="Not now", title="Welcome to sdaws", danger=False), answered
        )

    def action_create_demo(self) -> None:
        if self._connected_or_warn():
            self.push_screen(BusyModal(f"Creating Stable-diffusion/{DEMO_NAME}…"))
            self._create_demo()

    @io_worker(group="demo", title="Demo checkpoint")
    def _create_demo(self) -> None:
        from sdaws.client.uploader import upload_file

        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / DEMO_NAME
                runnable = write_demo(path)
                # Through the API like any upload, so it works against AWS as well as locally.
                upload_file(self.conn.client, path, REQUIRED_TYPE, scope=self.conn.scope, overwrite=True)
        finally:
            self.call_from_thread(self._demo_done)
        note = "" if runnable else " (placeholder: install the jobs extra for a runnable model)"
        self.call_from_thread(self.notify, f"Created Stable-diffusion/{DEMO_NAME}{note}")
        self.call_from_thread(self.refresh_models)

    def _demo_done(self) -> None:
        if isinstance(self.screen, BusyModal):
            self.screen.dismiss()

    def refresh_models(self) -> None:
        self.query_one(ModelsPane).action_refresh()

    # -- actions -------------------------------------------------------------

    TAB_FOCUS = {"models": "#model-tree", "uploads": "#upload-table", "jobs": "#jobs-table"}

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        # The tab's keys (ctrl+r, x, enter…) act where the focus is: move it into the tab.
        self.query_one(self.TAB_FOCUS[tab]).focus()

    @on(TabbedContent.TabActivated, "#tabs", pane="#jobs")
    def _jobs_shown(self) -> None:
        # The pane polls only while a job it knows runs: jobs started elsewhere appear now.
        if self.conn is not None:
            self.query_one(JobsPane).action_refresh()

    def action_help(self) -> None:
        self.push_screen(HelpModal())

    def action_endpoints(self) -> None:
        from tui.screens.endpoints import EndpointsScreen

        if self._connected_or_warn():
            self.push_screen(EndpointsScreen(self.conn.client))

    def action_search_models(self, duplicates: bool = False) -> None:
        if self._connected_or_warn():
            self.push_screen(ModelSearchScreen(self.conn.client, duplicates=duplicates), self._reveal_model)

    def _reveal_model(self, chosen: tuple[str, str] | None) -> None:
        """Open the model's folder and put the tree's cursor on it once its page has landed."""
        if chosen is None:
            return
        model_type, name = chosen
        self.action_show_tab("models")
        tree = self.query_one(ModelTree)
        if tree.folder_node(model_type) is None:
            self.notify(f"{model_type}/{name} is not in a folder of the tree", markup=False)
            return
        if not any(m.name == name for m in tree.models_in(model_type)):
            # Beyond the first page, or hidden by the filter: the name itself as the filter lists it.
            self.query_one("#model-filter", Input).value = name
        tree.open_folder(model_type)
        self._cursor_to(model_type, name, attempts=100)

    def _cursor_to(self, model_type: str, name: str, attempts: int) -> None:
        tree = self.query_one(ModelTree)
        node = tree.folder_node(model_type)
        leaf = (
            next(
                (c for c in node.children if isinstance(c.data, ModelData) and c.data.name == name),
                None,
            )
            if node is not None
            else None
        )
        if leaf is not None and leaf.line >= 0:
            tree.move_cursor(leaf)
        elif attempts > 0:  # the folder's page is still on its way
            self.set_timer(0.05, lambda: self._cursor_to(model_type, name, attempts - 1))
        else:
            self.notify(f"{model_type}/{name} did not show up in the tree", markup=False)

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

    @on(UploadsPane.AddRequested)
    def _upload_requested(self) -> None:
        self.action_upload()

    @on(UploadsPane.Uploaded)
    def _uploaded(self) -> None:
        self.refresh_models()

    @on(ModelsPane.ConvertRequested)
    def _convert(self, event: ModelsPane.ConvertRequested) -> None:
        def chosen(params: dict | None) -> None:
            if params is not None:
                self.submit("convert", params)

        self.push_screen(ConvertDialog(event.model.name, event.detected), chosen)

    @on(ModelsPane.ExportRequested)
    def _export(self, event: ModelsPane.ExportRequested) -> None:
        def chosen(params: dict | None) -> None:
            if params is not None:
                self.submit("export", params)

        self.push_screen(ExportDialog(event.model.name), chosen)

    def action_new_job(self, kind: str | None = None) -> None:
        if not self._connected_or_warn():
            return
        if kind is None:
            self.push_screen(JobKindModal(), lambda chosen: chosen and self.action_new_job(chosen))
            return
        prefill = dict(self.form_memory.get(kind, {}))
        tree = self.query_one(ModelTree)
        highlighted = tree.highlighted_model()
        if kind not in MODEL_FIELD:  # upscale: a highlighted upscaler is the one to use
            if highlighted is not None and highlighted.type in UPSCALER_TYPES:
                prefill["upscaler_1"] = f"{highlighted.type}/{highlighted.name}"
        else:
            self._prefill_model(kind, prefill, highlighted, tree.models_in(REQUIRED_TYPE))

        def submitted(job: dict | None) -> None:
            if job is not None:
                self._submitted(job)

        self.push_screen(JobForm(kind, self.conn.client, prefill, self.form_memory), submitted)

    @staticmethod
    def _prefill_model(kind: str, prefill: dict, highlighted, checkpoints: list) -> None:
        if not prefill.get(MODEL_FIELD[kind]) and checkpoints:
            prefill[MODEL_FIELD[kind]] = checkpoints[0].name  # something that runs, until the user picks
        if highlighted is not None and is_base_model(highlighted.type):
            # A converted model is named by its name alone; a checkpoint by its file name.
            prefill[MODEL_FIELD[kind]] = highlighted.ref if highlighted.type != REQUIRED_TYPE else highlighted.name
        elif highlighted is not None and highlighted.type == "Lora" and kind in ("txt2img", "img2img"):
            loras = [entry for entry in prefill.get("loras") or [] if entry["name"] != highlighted.name]
            prefill["loras"] = [*loras, {"name": highlighted.name, "weight": 1.0}]

    @io_worker(group="submit", exclusive=False, title="Submit job")
    def submit(self, kind: str, params: dict) -> None:
        import uuid

        job = self.conn.client.submit_job(kind, params, idempotency_key=str(uuid.uuid4()))
        self.call_from_thread(self._submitted, job)

    def _submitted(self, job: dict) -> None:
        self.notify(f"Submitted {job.get('kind')} job {job['job_id']}", markup=False)
        self.query_one(JobsPane).upsert(job)
        self.action_show_tab("jobs")
        self.open_job(job["job_id"])

    def open_job(self, job_id: str) -> None:
        if self._connected_or_warn():
            self.push_screen(JobDetailScreen(self.conn.client, job_id, half_block_images=self.half_block_images))

    @on(JobsPane.OpenJob)
    def _open_job(self, event: JobsPane.OpenJob) -> None:
        self.open_job(event.job_id)

    @on(JobDetailScreen.UpscaleRequested)
    def _upscale_output(self, event: JobDetailScreen.UpscaleRequested) -> None:
        self.form_memory.setdefault("upscale", {})["image"] = event.key  # the job's image, already on the server
        self.action_new_job("upscale")

    @on(JobsPane.CancelJob)
    @on(JobDetailScreen.CancelRequested)
    def _confirm_cancel(self, event: JobsPane.CancelJob | JobDetailScreen.CancelRequested) -> None:
        job_id = event.job_id

        def answered(yes: bool | None) -> None:
            if yes:
                self._cancel(job_id)

        self.push_screen(
            ConfirmModal(f"Cancel job {job_id}?", yes="Cancel job", no="Keep running", title="Cancel job"), answered
        )

    @on(JobsPane.JobFinished)
    def _job_finished(self, event: JobsPane.JobFinished) -> None:
        if event.job.get("status") == "SUCCEEDED" and event.job.get("kind") in ("convert", "export", "merge", "train"):
            self.refresh_models()  # a new model (and a checkpoint's new conversion) is in the tree

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
        yield from palette_commands(self)
