"""Models tab: filter box, missing-folder warning, the lazy tree and the details pane."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Label

from sdaws.client.api import ApiClient
from tui.widgets.model_details import ModelDetails
from tui.widgets.model_tree import ModelData, ModelTree
from tui.workers import io_worker


class ModelsPane(Vertical):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("d,delete", "delete_model", "Delete"),
        Binding("c", "convert_model", "Convert"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client: ApiClient | None = None
        self.current: ModelData | None = None
        self.current_info: dict = {}

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: type the start of a name  ( / )", id="model-filter")
        yield Label("", id="tree-warning", classes="warning hidden")
        with Horizontal():
            yield ModelTree(id="model-tree")
            with VerticalScroll(id="details-scroll"):
                yield ModelDetails("Connecting…", id="model-details")

    def attach(self, client: ApiClient, types: list[dict]) -> None:
        self.client = client
        self.query_one(ModelTree).attach(client, types)
        self.query_one(ModelDetails).show_nothing()

    @on(Input.Changed, "#model-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.query_one(ModelTree).set_prefix(event.value.strip())

    @on(Input.Submitted, "#model-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one(ModelTree).focus()

    @on(ModelTree.Warnings)
    def _warnings(self, event: ModelTree.Warnings) -> None:
        label = self.query_one("#tree-warning", Label)
        label.update("⚠ " + " · ".join(event.warnings) if event.warnings else "")
        label.set_class(not event.warnings, "hidden")

    @on(ModelTree.ModelHighlighted)
    def _highlighted(self, event: ModelTree.ModelHighlighted) -> None:
        self.current = event.model
        details = self.query_one(ModelDetails)
        if event.model is None:
            details.show_nothing()
            return
        details.show_loading(event.model.type, event.model.name)
        self._load_details(event.model)

    @io_worker(group="model-details", title="Model details")
    def _load_details(self, model: ModelData) -> None:
        assert self.client is not None
        info = self.client.model_info(model.type, model.name)
        self.app.call_from_thread(self._show_details, model, info)

    def _show_details(self, model: ModelData, info: dict) -> None:
        if self.current is model:  # the cursor may have moved on meanwhile
            self.current_info = info
            self.query_one(ModelDetails).show_info(info)

    def action_focus_filter(self) -> None:
        self.query_one("#model-filter", Input).focus()

    def action_refresh(self) -> None:
        self.query_one(ModelTree).reload()

    def action_delete_model(self) -> None:
        from tui.screens.confirm import ConfirmModal

        model = self.current
        if model is None:
            self.notify("Highlight a model first.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(model)

        self.app.push_screen(ConfirmModal(f"Delete {model.type}/{model.name}? This cannot be undone."), answered)

    @io_worker(group="model-delete", title="Delete")
    def _delete(self, model: ModelData) -> None:
        assert self.client is not None
        self.client.delete_model(model.type, model.name)
        self.app.call_from_thread(self.notify, f"Deleted {model.type}/{model.name}", markup=False)
        self.app.call_from_thread(self.action_refresh)

    def action_convert_model(self) -> None:
        model = self.current
        if model is None or model.type != "Stable-diffusion":
            self.notify("Highlight a checkpoint in Stable-diffusion/ to convert it.", severity="warning")
            return
        info = self.current_info if self.current_info.get("name") == model.name else {}
        self.app.open_convert(model, info.get("architecture"))  # the app owns job submission
