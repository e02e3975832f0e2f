"""Edit a model's NAME.json fields (the WebUI's user metadata): description, activation
text, preferred weight, notes. Dismisses with only the fields the user changed (the PATCH
body: omitted fields stay as they are on the server), or None.

The current values come from the model's files (untrusted): they are shown as the
printable form of the text, and a field left as shown is not sent back.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, TextArea

from sdaws.client.safe_text import printable
from sdaws.contract.sidecars import MAX_TEXT_FIELD, WEIGHT_RANGE
from tui.keymap import keys_of

TEXT_FIELDS = ("description", "activation_text", "notes")


def weight_text(value: object) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, (int, float)) else printable(str(value))


class MetadataDialog(ModalScreen[dict | None]):
    BINDINGS = keys_of("MetadataDialog")
    AUTO_FOCUS = "#meta-description"

    def __init__(self, ref: str, current: dict) -> None:
        super().__init__(classes="dialog-screen")
        self.ref = ref
        self.shown = {key: printable(str(current.get(key) or "")) for key in TEXT_FIELDS}
        self.shown_weight = weight_text(current.get("preferred_weight"))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(f"Notes of {printable(self.ref, single_line=True)}", classes="dialog-title", markup=False)
            yield Label("Saved in NAME.json beside the model, under the WebUI's keys.", classes="dim")
            yield Label("Description")
            yield TextArea(self.shown["description"], id="meta-description", classes="meta-text")
            yield Label("Activation text (added to the prompt with the LoRA)")
            yield Input(self.shown["activation_text"], id="meta-activation_text")
            yield Label(f"Preferred weight ({WEIGHT_RANGE[0]:g} … {WEIGHT_RANGE[1]:g})")
            yield Input(self.shown_weight, id="meta-weight")
            yield Label("Notes")
            yield TextArea(self.shown["notes"], id="meta-notes", classes="meta-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save (ctrl+s)", id="save", variant="primary")

    def _value(self, key: str) -> str:
        widget = self.query_one(f"#meta-{key}")
        return widget.text if isinstance(widget, TextArea) else widget.value  # type: ignore[attr-defined]

    def changes(self) -> dict:
        """The edited fields as the PATCH takes them; raises ValueError on a bad value."""
        edits: dict = {}
        for key in TEXT_FIELDS:
            value = self._value(key)
            if value != self.shown[key]:
                if len(value) > MAX_TEXT_FIELD:
                    raise ValueError(f"{key.replace('_', ' ')} is longer than {MAX_TEXT_FIELD} characters")
                edits[key] = value
        weight = self.query_one("#meta-weight", Input).value.strip()
        if weight != self.shown_weight.strip():
            if weight:
                try:
                    number = float(weight)
                except ValueError:
                    raise ValueError(f"the weight must be a number, not {weight!r}") from None
                if not WEIGHT_RANGE[0] <= number <= WEIGHT_RANGE[1]:
                    raise ValueError(f"the weight must be between {WEIGHT_RANGE[0]:g} and {WEIGHT_RANGE[1]:g}")
                edits["preferred_weight"] = number
            else:  # the API sets a weight but never removes one (the WebUI's own editor neither)
                raise ValueError("the weight cannot be removed, only changed (1 is the usual default)")
        return edits

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        try:
            edits = self.changes()
        except ValueError as exc:
            self.notify(str(exc), title="Notes", severity="error", markup=False)
            return
        self.dismiss(edits or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
