"""The details pane beside the model tree: size, format, hashes, family, LoRA facts,
NAME.json fields, architecture, tensors, source.

The rows come from `sdaws.client.model_info` (the same ones `sdaws models info` prints),
already made printable; they are shown as Rich `Text`, never parsed as markup, so a
model's metadata can neither style the screen nor smuggle in an escape sequence.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from sdaws.client.model_info import details_rows


class ModelDetails(Static):
    """Shows one model's info; a hint when nothing is highlighted.

    ``rows`` is what is shown, as plain (label, value) pairs; setting it redraws.
    """

    rows: reactive[list[tuple[str, str]]] = reactive(list, always_update=True)
    hint: reactive[str] = reactive("Connecting…")

    def show_nothing(self, hint: str = "Highlight a model to see its details.") -> None:
        self.hint = hint
        self.rows = []

    def show_loading(self, type_: str, name: str) -> None:
        self.hint = f"{type_}/{name}\n\nloading…"
        self.rows = []

    def show_info(self, info: dict) -> None:
        self.rows = details_rows(info)

    def watch_hint(self) -> None:
        if not self.rows:
            self.update(Text(self.hint))

    def watch_rows(self, rows: list[tuple[str, str]]) -> None:
        if not rows:
            self.update(Text(self.hint))
            return
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for label, value in rows:
            table.add_row(Text(label), Text(value))
        self.update(table)
