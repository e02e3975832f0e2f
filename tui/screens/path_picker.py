"""Pick local files or a folder: a directory tree plus a path you can type."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label

from tui.keymap import keys_of

MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class FilteredDirectoryTree(DirectoryTree):
    """Folders, plus files with the wanted suffixes (none wanted: folders only)."""

    def __init__(self, path: Path, suffixes: tuple[str, ...] | None, **kwargs) -> None:
        super().__init__(path, **kwargs)
        self.suffixes = suffixes

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        for path in paths:
            if path.name.startswith("."):
                continue
            try:
                if path.is_dir():
                    yield path
                elif self.suffixes and path.suffix.lower() in self.suffixes:
                    yield path
            except OSError:
                continue


class PathPickerModal(ModalScreen[Path | None]):
    """``want="file"`` returns a file, ``want="dir"`` a folder; None on cancel."""

    AUTO_FOCUS = "#path"  # typing (or pasting) a path is quickest; tab reaches the tree
    BINDINGS = keys_of("PathPickerModal")

    def __init__(
        self,
        title: str,
        *,
        want: str = "file",
        start: Path | None = None,
        suffixes: tuple[str, ...] | None = MODEL_SUFFIXES,
        create_missing: bool = False,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.want = want
        self.create_missing = create_missing and want == "dir"
        self.start = (start or Path.cwd()).expanduser()
        self.suffixes = suffixes if want == "file" else None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tall"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Input(str(self.start), placeholder="path", id="path")
            yield FilteredDirectoryTree(self.start, self.suffixes, id="tree")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Up", id="up")
                yield Button("Cancel", id="cancel")
                yield Button("Choose", id="choose", variant="primary")

    def _set_path(self, path: Path) -> None:
        self.query_one("#path", Input).value = str(path)

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self._set_path(event.path)
        if self.want == "file":
            self.dismiss(event.path)

    def on_directory_tree_directory_selected(self, event: DirectoryTree.DirectorySelected) -> None:
        event.stop()
        self._set_path(event.path)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = Path(event.value).expanduser()
        if path.is_dir() and self.want == "file":
            self.query_one(FilteredDirectoryTree).path = path
            return
        self._choose(path)

    def _choose(self, path: Path) -> None:
        if self.want == "file" and not path.is_file():
            self.notify(f"{path} is not a file", severity="warning", markup=False)
            return
        if self.want == "dir" and not path.is_dir():
            if self.create_missing and not path.exists():
                self._offer_to_create(path)
            else:
                self.notify(f"{path} is not a folder", severity="warning", markup=False)
            return
        self.dismiss(path)

    def _offer_to_create(self, path: Path) -> None:
        from tui.screens.confirm import ConfirmModal

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                path.mkdir(parents=True)
            except OSError as exc:
                self.notify(f"Cannot create {path}: {exc.strerror or exc}", severity="error", markup=False)
                return
            self.dismiss(path)

        question = f"{path} does not exist. Create the folder?"
        self.app.push_screen(ConfirmModal(question, yes="Create folder", title="New folder", danger=False), answered)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#up")
    def _up(self) -> None:
        tree = self.query_one(FilteredDirectoryTree)
        parent = Path(tree.path).resolve().parent
        tree.path = parent
        self._set_path(parent)

    @on(Button.Pressed, "#choose")
    def _choose_pressed(self) -> None:
        self._choose(Path(self.query_one("#path", Input).value).expanduser())
