"""A short wait the user should see: a spinner and one line of what is happening."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, LoadingIndicator


class BusyModal(ModalScreen[None]):
    """Shown while a worker runs; the worker's owner dismisses it when the work is done."""

    def __init__(self, text: str) -> None:
        super().__init__(classes="dialog-screen")
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog busy"):
            yield Label(self.text, classes="dialog-body", markup=False)
            yield LoadingIndicator()
