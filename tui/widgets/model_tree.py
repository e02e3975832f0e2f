"""The model tree: the 15 folders, each loaded lazily and page by page.

A folder's first page loads when it is expanded; a "more" leaf at the end loads
the next page as soon as the cursor reaches it, so a 10,000-model folder paints
its first page at once and stays responsive. The name filter is the API's prefix
filter: typing reloads the open folders with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from sdaws.client import fmt
from sdaws.client.api import ApiClient
from tui.workers import io_worker

PAGE_SIZE = 200


@dataclass
class FolderData:
    name: str
    required: bool
    loaded: bool = False


@dataclass
class ModelData:
    type: str
    name: str
    size: int
    modified: str


@dataclass
class MoreData:
    folder: str
    cursor: str
    loading: bool = False


class ModelTree(Tree[object]):
    """Folders -> models. Posts :class:`ModelTree.ModelHighlighted` for the details pane."""

    class ModelHighlighted(Message):
        def __init__(self, model: ModelData | None) -> None:
            super().__init__()
            self.model = model

    class Warnings(Message):
        def __init__(self, warnings: list[str]) -> None:
            super().__init__()
            self.warnings = warnings

    def __init__(self, **kwargs) -> None:
        super().__init__("models", **kwargs)
        self.show_root = False
        self.guide_depth = 3
        self.client: ApiClient | None = None
        self.prefix = ""
        self._folders: dict[str, TreeNode] = {}

    # -- loading -------------------------------------------------------------

    def attach(self, client: ApiClient, types: list[dict]) -> None:
        """Show the folders of a (new) connection; nothing is listed until opened."""
        self.client = client
        self.clear()
        self._folders = {}
        for folder in types:
            label = folder["name"] + (" (required)" if folder.get("required") else "")
            node = self.root.add(label, data=FolderData(folder["name"], bool(folder.get("required"))))
            self._folders[folder["name"]] = node
        self.root.expand()

    def set_prefix(self, prefix: str) -> None:
        self.prefix = prefix
        for node in self._folders.values():
            data = node.data
            if isinstance(data, FolderData) and data.loaded:
                node.remove_children()
                if node.is_expanded:
                    self._load_page(node, data.name, None)
                else:
                    data.loaded = False  # listed again with the new prefix when opened

    def reload(self) -> None:
        self.set_prefix(self.prefix)

    def open_folder(self, name: str) -> None:
        node = self._folders.get(name)
        if node is not None:
            node.expand()
            self.move_cursor(node)

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded) -> None:
        data = event.node.data
        if isinstance(data, FolderData) and not data.loaded:
            data.loaded = True
            self._load_page(event.node, data.name, None)

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        data = event.node.data
        if isinstance(data, MoreData) and not data.loading:
            data.loading = True
            self._load_page(event.node.parent, data.folder, data.cursor, event.node)
        self.post_message(self.ModelHighlighted(data if isinstance(data, ModelData) else None))

    @io_worker(group="model-tree", exclusive=False, title="Model list")
    def _load_page(self, folder: TreeNode, name: str, cursor: str | None, more: TreeNode | None = None) -> None:
        assert self.client is not None
        prefix = self.prefix
        page = self.client.list_models(type=name, prefix=prefix or None, limit=PAGE_SIZE, cursor=cursor)
        self.app.call_from_thread(self._add_page, folder, page, prefix, more)

    def _add_page(self, folder: TreeNode, page: dict, prefix: str, more: TreeNode | None) -> None:
        if prefix != self.prefix:
            return  # the filter changed while this page was loading
        if more is not None:
            more.remove()
        for item in page.get("items", []):
            label = Text.assemble(item["name"], ("  " + fmt.size(item.get("size")), "dim"))  # names are not markup
            folder.add_leaf(
                label, data=ModelData(item["type"], item["name"], item.get("size", 0), item.get("modified", ""))
            )
        cursor = page.get("next_cursor")
        if cursor:
            folder.add_leaf(Text("… more (loads when reached)", "italic"), data=MoreData(folder.data.name, cursor))
        elif not folder.children:
            folder.add_leaf(Text("(empty)", "dim"), data=None)
        self.post_message(self.Warnings(page.get("warnings") or []))

    def loaded_names(self, folder: str) -> list[str]:
        node = self._folders.get(folder)
        if node is None:
            return []
        return [child.data.name for child in node.children if isinstance(child.data, ModelData)]
