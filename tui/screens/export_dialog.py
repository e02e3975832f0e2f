"""Export a converted model (a diffusers folder) back to one .safetensors file in Stable-diffusion/."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label

from sdaws.contract.model_tree import CONVERTED_PREFIX
from tui.keymap import keys_of
from tui.screens.checked_params import checked_params


class ExportDialog(ModalScreen[dict | None]):
    """Dismisses with validated ``export`` job params, or None."""

    BINDINGS = keys_of("ExportDialog")
    AUTO_FOCUS = "#output-name"

    def __init__(self, converted_name: str) -> None:
        super().__init__(classes="dialog-screen")
        self.converted_name = converted_name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Export {CONVERTED_PREFIX}/{self.converted_name}", classes="dialog-title", markup=False)
            yield Label("Writes Stable-diffusion/<name>.safetensors in the original single-file layout.", classes="dim")
            yield Label("Output name")
            yield Input(f"{self.converted_name}-export", id="output-name")
            yield Checkbox("fp16 (--half)", id="half")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Export (ctrl+s)", id="export", variant="primary")

    @on(Button.Pressed, "#export")
    def action_export(self) -> None:
        values = {
            "model": f"{CONVERTED_PREFIX}/{self.converted_name}",
            "output_name": self.query_one("#output-name", Input).value,
            "half": self.query_one("#half", Checkbox).value,
        }
        params = checked_params(self, "export", values, "Export")
        if params is not None:
            self.dismiss(params)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
