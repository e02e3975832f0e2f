"""Yes/no question before anything destructive (delete a model, cancel a job)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class ConfirmModal(ModalScreen[bool]):
    """Dismisses with True only on an explicit yes."""

    AUTO_FOCUS = "#no"  # the safe choice has focus
    BINDINGS = [
        Binding("escape,n", "answer(False)", "No"),
        Binding("y", "answer(True)", "Yes"),
    ]

    def __init__(
        self, question: str, *, yes: str = "Delete", title: str = "Are you sure?", danger: bool = True
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.question = question
        self.yes_label = yes
        self.title_text = title
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Label(self.question, classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="no")
                yield Button(self.yes_label, id="yes", variant="error" if self.danger else "primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
