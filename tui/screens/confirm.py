"""A yes/no question: before anything destructive (delete, cancel, overwrite), and offers
(the first-run demo). Destructive questions start on the safe answer; an offer starts on yes,
so Enter accepts it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from tui.keymap import keys_of


class ConfirmModal(ModalScreen[bool]):
    """Dismisses with True only on an explicit yes (the button, `y`, or Enter on it)."""

    BINDINGS = keys_of("ConfirmModal")

    def __init__(
        self,
        question: str,
        *,
        yes: str = "Delete",
        no: str = "Cancel",
        title: str = "Are you sure?",
        danger: bool = True,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.question = question
        self.yes_label = yes
        self.no_label = no
        self.title_text = title
        self.danger = danger
        # The safe choice has focus for destructive questions; an offer's yes for the others.
        self.AUTO_FOCUS = "#no" if danger else "#yes"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Label(self.question, classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.no_label, id="no")
                yield Button(self.yes_label, id="yes", variant="error" if self.danger else "primary")

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
