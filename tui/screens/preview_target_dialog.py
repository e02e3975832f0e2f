""" "Use as preview": which model gets the highlighted job image as its NAME.preview.<ext>.

Prefilled with the job's own model (params.model, named as job params name it); any
model in the tree can be typed instead, e.g. a LoRA the prompt used.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from sdaws.client.safe_text import printable
from sdaws.contract.model_tree import CONVERTED_PREFIX, REQUIRED_TYPE
from tui.keymap import keys_of


def model_ref(value: str) -> tuple[str, str] | None:
    """`Folder/name` as job params name a model: a bare file name is a checkpoint in
    Stable-diffusion/, a bare name without extension a converted model. None when empty."""
    value = value.strip()
    if not value:
        return None
    folder, sep, name = value.partition("/")
    if sep and folder and name:
        return folder, name
    return (REQUIRED_TYPE if "." in value else CONVERTED_PREFIX), value


def default_ref(params: dict) -> str:
    found = model_ref(str(params.get("model") or ""))
    return f"{found[0]}/{found[1]}" if found else ""


class PreviewTargetDialog(ModalScreen[tuple[str, str] | None]):
    BINDINGS = keys_of("PreviewTargetDialog")
    AUTO_FOCUS = "#preview-model"

    def __init__(self, image_name: str, model: str) -> None:
        super().__init__(classes="dialog-screen")
        self.image_name = image_name
        self.model = model

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Use as preview", classes="dialog-title")
            yield Label(
                printable(f"{self.image_name} becomes the preview of this model:", single_line=True), markup=False
            )
            yield Input(printable(self.model, single_line=True), id="preview-model", placeholder="Folder/name")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Use as preview (enter)", id="use", variant="primary")

    @on(Input.Submitted, "#preview-model")
    @on(Button.Pressed, "#use")
    def _use(self) -> None:
        found = model_ref(self.query_one("#preview-model", Input).value)
        if found is None:
            self.notify("Name the model: Folder/name, e.g. Lora/style.safetensors", severity="warning", markup=False)
            return
        self.dismiss(found)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
