"""Pick the kind of job to start (n)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from tui.keymap import keys_of

KINDS = (
    ("txt2img", "Generate images from a prompt"),
    ("img2img", "Generate from a starting image"),
    ("train", "Train a LoRA / DreamBooth on a dataset folder"),
    ("merge", "Merge two or three checkpoints"),
    ("upscale", "Upscale an image, restore faces (extras)"),
)


class JobKindModal(ModalScreen[str | None]):
    BINDINGS = keys_of("JobKindModal")

    def __init__(self) -> None:
        super().__init__(classes="dialog-screen")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("New job", classes="dialog-title")
            yield OptionList(*(Option(f"{kind:<8} {text}", id=kind) for kind, text in KINDS), id="job-kinds")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
