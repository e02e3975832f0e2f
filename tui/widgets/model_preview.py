"""The highlighted model's preview image (NAME.preview.png …) under its details.

Where the model tree is on this machine (the embedded local server) the file is read in
place; elsewhere it is fetched once by the URL the model's details carry (`preview_url`,
signed like job output URLs) into the user's cache.
"""

from __future__ import annotations

from pathlib import Path

from textual.containers import Vertical
from textual.widgets import Label

from sdaws.client.safe_text import printable
from tui.screens.image_view import image_widget


def local_preview(models_root: Path | None, info: dict) -> Path | None:
    """The preview file of this model in the local tree, if there is one."""
    key = (info.get("catalog") or {}).get("preview")
    if models_root is None or not key:
        return None
    root = models_root.resolve()
    path = (root / str(key)).resolve()
    if not path.is_relative_to(root) or not path.is_file():  # a key never leaves the tree
        return None
    return path


def fetched_preview(client, info: dict) -> Path | None:
    """The preview downloaded into the cache by its URL (a remote tree); None without one."""
    import platformdirs

    catalog = info.get("catalog") or {}
    key, url = catalog.get("preview"), catalog.get("preview_url")
    if not key or not url:
        return None
    dest = Path(platformdirs.user_cache_dir("sdaws")) / "previews" / Path(str(key)).name
    return client.download(url, dest)


def unreadable(path: Path) -> str:
    """Why this image cannot be shown ('' when it can): a sidecar is anybody's file, and a
    broken one must not take the pane down. Decodes it whole (call it off the UI thread)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
    except Exception as exc:  # PIL raises many kinds for a bad file
        return f"{type(exc).__name__}: {exc}"
    return ""


class ModelPreview(Vertical):
    def __init__(self, half_block: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.half_block = half_block
        self.path: Path | None = None

    def show(self, path: Path | None, problem: str = "") -> None:
        self.path = None if problem else path  # mounted afresh each time: a new preview may keep the name
        self.remove_children()
        if path is not None and problem:
            self.mount(Label(printable(f"preview not shown: {problem}"), classes="dim", markup=False))
        elif path is not None:
            self.mount(image_widget(path, self.half_block, classes="preview-image"))
