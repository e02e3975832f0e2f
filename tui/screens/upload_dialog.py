"""Choose the folder for a local file before uploading it (suggested from its header)."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select

from sdaws.client import fmt
from sdaws.client.model_kind import suggest_type
from tui.keymap import keys_of


class UploadDialog(ModalScreen[tuple[Path, str] | None]):
    BINDINGS = keys_of("UploadDialog")

    def __init__(self, path: Path, folders: list[str]) -> None:
        super().__init__(classes="dialog-screen")
        self.path = path
        self.folders = folders
        self.suggested = suggest_type(path)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Upload a model", classes="dialog-title")
            yield Label(f"{self.path}  ({fmt.size(self.path.stat().st_size)})", markup=False)
            hint = f"Suggested from the file: {self.suggested}" if self.suggested else "No suggestion: pick the folder."
            yield Label(hint, id="suggestion", markup=False)
            yield Select(
                [(f, f) for f in self.folders],
                value=self.suggested if self.suggested in self.folders else Select.NULL,
                id="folder",
                prompt="folder",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Upload", id="upload", variant="primary")

    @on(Button.Pressed, "#upload")
    def _upload(self) -> None:
        value = self.query_one(Select).value
        if value is Select.NULL or not value:
            self.notify("Pick the folder the file belongs in.", severity="warning")
            return
        self.dismiss((self.path, str(value)))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
