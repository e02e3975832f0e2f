"""One output image, as large as the terminal allows (Enter on an output in the job view)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label

from tui.keymap import keys_of


def image_widget(path: Path, half_block: bool, classes: str = "output-image"):
    """textual-image's best renderer, or half-blocks where graphics cannot work (tests, tmux)."""
    from textual_image.widget import HalfcellImage, Image

    widget_cls = HalfcellImage if half_block else Image
    return widget_cls(path, classes=classes)


class ImageScreen(Screen[None]):
    BINDINGS = keys_of("ImageScreen")

    def __init__(self, path: Path, half_block: bool, note: str = "") -> None:
        super().__init__()
        self.path = path
        self.half_block = half_block
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="image-view"):
            yield Label(f"{self.path}", id="image-path", markup=False)
            if self.note:
                yield Label(self.note, classes="dim", markup=False)
            with Center():
                yield image_widget(self.path, self.half_block, classes="large-image")
        yield Footer(compact=True)
