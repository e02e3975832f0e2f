"""Pick LoRAs from the tree's Lora/ folder, each with a weight (the txt2img/img2img forms).

A LoRA picked here goes into the job's `loras`; one named in the prompt as
`<lora:name:0.8>` works too (the server resolves the tag against Lora/ as the WebUI does).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Button, Input, OptionList, Select
from textual.widgets.option_list import Option

from sdaws.client.safe_text import printable
from sdaws.contract.model_tree import strip_model_extension
from tui.keymap import keys_of


class LoraPicker(Vertical):
    """Value: ``[{"name": "x.safetensors", "weight": 0.8}, …]``; delete removes the highlighted one."""

    BINDINGS = keys_of("LoraPicker")

    chosen: reactive[list[dict]] = reactive(list, always_update=True)

    def __init__(self, chosen: list[dict] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.set_reactive(LoraPicker.chosen, list(chosen or []))
        self.names: list[str] = []

    def compose(self) -> ComposeResult:
        with Horizontal(classes="picker-row"):
            yield Select([], prompt="LoRA from Lora/", id="lora-name")
            yield Input("1.0", placeholder="weight", id="lora-weight", classes="weight")
            yield Button("Add", id="lora-add")
        yield OptionList(id="lora-chosen", markup=False)

    def set_choices(self, names: list[str]) -> None:
        """The Lora/ folder's models (loaded by the form)."""
        self.names = names
        self.query_one("#lora-name", Select).set_options([(Text(printable(n, single_line=True)), n) for n in names])

    @property
    def value(self) -> list[dict]:
        return [dict(item) for item in self.chosen]

    def add(self, name: str, weight: float) -> None:
        self.chosen = [c for c in self.chosen if c["name"] != name] + [{"name": name, "weight": weight}]

    def watch_chosen(self, chosen: list[dict]) -> None:
        shown = self.query_one("#lora-chosen", OptionList)
        shown.clear_options()
        shown.add_options(
            [
                Option(printable(f"{strip_model_extension(c['name'])} × {c['weight']:g}", single_line=True), id=str(i))
                for i, c in enumerate(chosen)
            ]
        )
        shown.display = bool(chosen)

    @on(Button.Pressed, "#lora-add")
    def _add_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        name = self.query_one("#lora-name", Select).value
        if name is Select.NULL:
            self.notify("Pick a LoRA from the list first.", severity="warning")
            return
        text = self.query_one("#lora-weight", Input).value.strip() or "1"
        try:
            weight = float(text)
        except ValueError:
            self.notify(f"LoRA weight {text!r} is not a number (e.g. 0.8).", severity="warning", markup=False)
            return
        self.add(str(name), weight)

    def action_remove(self) -> None:
        shown = self.query_one("#lora-chosen", OptionList)
        if shown.has_focus and shown.highlighted is not None:
            index = shown.highlighted
            self.chosen = [c for i, c in enumerate(self.chosen) if i != index]
