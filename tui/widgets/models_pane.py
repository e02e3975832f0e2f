"""Models tab: filter box, missing-folder warning, the lazy tree and the details pane.

What crosses tabs (converting or exporting a model launches a job) is posted upward as
a message; the app decides what happens. Deleting stays here: it is this pane's own data.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Label

from sdaws.client.api import ApiClient
from sdaws.client.catalog import edit_metadata
from sdaws.client.catalog_rows import is_hashing
from sdaws.contract.model_tree import CONVERTED_PREFIX, REQUIRED_TYPE
from tui.keymap import keys_of
from tui.screens.confirm import ConfirmModal
from tui.screens.metadata_dialog import MetadataDialog
from tui.widgets.model_details import ModelDetails
from tui.widgets.model_preview import ModelPreview, fetched_preview, local_preview, unreadable
from tui.widgets.model_tree import ModelData, ModelTree
from tui.workers import io_worker


class ModelsPane(Vertical):
    BINDINGS = keys_of("ModelsPane")

    class ConvertRequested(Message):
        """Convert this checkpoint (``detected``: the server's architecture detection, if any)."""

        def __init__(self, model: ModelData, detected: dict | None) -> None:
            super().__init__()
            self.model = model
            self.detected = detected

    class ExportRequested(Message):
        """Export this converted model back to one .safetensors file."""

        def __init__(self, model: ModelData) -> None:
            super().__init__()
            self.model = model

    warnings: reactive[list[str]] = reactive(list, always_update=True)

    HASH_POLL_S = 2.0  # while the server hashes the highlighted model, ask again this often

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client: ApiClient | None = None
        self.current: ModelData | None = None
        self.current_info: dict = {}
        self.models_root: Path | None = None  # the tree on this machine (local server): previews show

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: type the start of a name  ( / )", id="model-filter")
        yield Label("", id="tree-warning", classes="warning hidden", markup=False)
        with Horizontal():
            yield ModelTree(id="model-tree")
            with VerticalScroll(id="details-scroll"):
                yield ModelDetails(id="model-details")
                yield ModelPreview(half_block=getattr(self.app, "half_block_images", False), id="model-preview")

    def attach(self, client: ApiClient, types: list[dict], models_root: Path | None = None) -> None:
        self.client = client
        self.models_root = models_root
        self.query_one(ModelTree).attach(client, types)
        self.query_one(ModelDetails).show_nothing()

    def watch_warnings(self, warnings: list[str]) -> None:
        label = self.query_one("#tree-warning", Label)
        label.update("⚠ " + " · ".join(warnings) if warnings else "")
        label.set_class(not warnings, "hidden")

    @on(Input.Changed, "#model-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.query_one(ModelTree).set_prefix(event.value.strip())

    @on(Input.Submitted, "#model-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one(ModelTree).focus()

    @on(ModelTree.Warnings)
    def _warnings(self, event: ModelTree.Warnings) -> None:
        self.warnings = event.warnings

    @on(ModelTree.ModelHighlighted)
    def _highlighted(self, event: ModelTree.ModelHighlighted) -> None:
        self.current = event.model
        details = self.query_one(ModelDetails)
        self.query_one(ModelPreview).show(None)
        if event.model is None:
            details.show_nothing()
            return
        details.show_loading(event.model.type, event.model.name)
        self._load_details(event.model)

    @io_worker(group="model-details", title="Model details")
    def _load_details(self, model: ModelData) -> None:
        assert self.client is not None
        info = self.client.model_info(model.type, model.name)
        preview = local_preview(self.models_root, info) or fetched_preview(self.client, info)
        problem = unreadable(preview) if preview is not None else ""
        self.app.call_from_thread(self._show_details, model, info, preview, problem)

    def _show_details(self, model: ModelData, info: dict, preview: Path | None = None, problem: str = "") -> None:
        if self.current is model:  # the cursor may have moved on meanwhile
            self.current_info = info
            self.query_one(ModelDetails).show_info(info)
            self.query_one(ModelPreview).show(preview, problem)
            if is_hashing(info):
                self.set_timer(self.HASH_POLL_S, lambda: self._hash_poll(model))

    def _hash_poll(self, model: ModelData) -> None:
        if self.current is model and self.is_attached:
            self._load_details(model)

    def action_focus_filter(self) -> None:
        self.query_one("#model-filter", Input).focus()

    def action_refresh(self) -> None:
        """List the open folders again (the cursor stays put) and the highlighted model's details."""
        self.query_one(ModelTree).reload()
        if self.current is not None:
            self._load_details(self.current)
        self._check_warnings()

    @io_worker(group="model-warnings", title="Model tree")
    def _check_warnings(self) -> None:
        # Asked apart from any folder's listing: with every folder closed, none would say them.
        if self.client is not None:
            page = self.client.list_models(type=REQUIRED_TYPE, limit=1)
            self.app.call_from_thread(setattr, self, "warnings", page.get("warnings") or [])

    def action_delete_model(self) -> None:
        model = self.current
        if model is None:
            self.notify("Highlight a model first.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(model)

        what = "the converted folder " if model.type == CONVERTED_PREFIX else ""
        self.app.push_screen(ConfirmModal(f"Delete {what}{model.ref}? This cannot be undone."), answered)

    @io_worker(group="model-delete", title="Delete")
    def _delete(self, model: ModelData) -> None:
        assert self.client is not None
        self.client.delete_model(model.type, model.name)
        self.app.call_from_thread(self.notify, f"Deleted {model.ref}", markup=False)
        self.app.call_from_thread(self.action_refresh)

    def action_convert_model(self) -> None:
        model = self.current
        if model is None or model.type != REQUIRED_TYPE:
            self.notify("Highlight a checkpoint in Stable-diffusion/ to convert it.", severity="warning")
            return
        info = self.current_info if self.current_info.get("name") == model.name else {}
        self.post_message(self.ConvertRequested(model, info.get("architecture")))

    def action_export_model(self) -> None:
        model = self.current
        if model is None or model.type != CONVERTED_PREFIX:
            self.notify("Highlight a converted model (diffusers/) to export it to one file.", severity="warning")
            return
        self.post_message(self.ExportRequested(model))

    def action_edit_metadata(self) -> None:
        model = self.current
        info = self.current_info if model is not None and self.current_info.get("name") == model.name else {}
        if model is None or not info.get("catalog"):
            self.notify("Highlight a model in the tree (not a converted folder) to edit its notes.", severity="warning")
            return

        def edited(changes: dict | None) -> None:
            if changes:
                self._save_metadata(model, changes)

        current = info["catalog"].get("user_metadata") or {}
        self.app.push_screen(MetadataDialog(model.ref, current), edited)

    @io_worker(group="model-metadata", title="Edit notes")
    def _save_metadata(self, model: ModelData, changes: dict) -> None:
        assert self.client is not None
        edit_metadata(self.client, model.type, model.name, changes)
        self.app.call_from_thread(self.notify, f"Saved the notes of {model.ref}", markup=False)
        if self.current is model:
            self._load_details(model)
