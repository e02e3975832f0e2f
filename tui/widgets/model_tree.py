"""The model tree: the 15 folders plus the converted models, each loaded lazily, page by page.

A folder's first page loads when it is expanded; a "more" leaf at the end loads the
next page as soon as the cursor reaches it, so a 10,000-model folder paints its first
page at once and stays responsive. The name filter is the API's prefix filter: typing
reloads the open folders with it. Each load carries the generation of its folder, so
the pages of a superseded filter (or of a reload) never land: typing `sdaws` fast shows
each model once. Converted models (`diffusers/<name>` folders) are a branch of their own.
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
from sdaws.contract.model_tree import CONVERTED_PREFIX
from tui.workers import io_worker

PAGE_SIZE = 200
CONVERTED_LABEL = f"{CONVERTED_PREFIX} (converted models)"


@dataclass
class FolderData:
    name: str
    required: bool
    loaded: bool = False
    generation: int = 0  # bumped by every (re)load: pages of an older one are dropped


@dataclass
class ModelData:
    type: str
    name: str
    size: int
    modified: str

    @property
    def ref(self) -> str:
        return f"{self.type}/{self.name}"


@dataclass
class MoreData:
    folder: str
    cursor: str
    generation: int
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
        self._keep_cursor_on: tuple[str, str] | None = None  # (type, name) to find again after a reload

    # -- loading -------------------------------------------------------------

    def attach(self, client: ApiClient, types: list[dict]) -> None:
        """Show the folders of a (new) connection; nothing is listed until opened."""
        self.client = client
        self.clear()
        self._folders = {}
        folders = [
            (t["name"], t["name"] + (" (required)" if t.get("required") else ""), bool(t.get("required")))
            for t in types
        ]
        folders.append((CONVERTED_PREFIX, CONVERTED_LABEL, False))
        for name, label, required in folders:
            self._folders[name] = self.root.add(label, data=FolderData(name, required))
        self.root.expand()

    def folder_node(self, name: str) -> TreeNode | None:
        return self._folders.get(name)

    def models_in(self, folder: str) -> list[ModelData]:
        """The models of ``folder`` listed so far (a page or more)."""
        node = self._folders.get(folder)
        return [c.data for c in node.children if isinstance(c.data, ModelData)] if node is not None else []

    def highlighted_model(self) -> ModelData | None:
        node = self.cursor_node
        return node.data if node is not None and isinstance(node.data, ModelData) else None

    def set_prefix(self, prefix: str) -> None:
        self.prefix = prefix
        self._reload_folders()

    def reload(self) -> None:
        """List the open folders again; the cursor stays on the model it was on."""
        current = self.highlighted_model()
        if current is not None:  # else a reload already under way has the model to find again
            self._keep_cursor_on = (current.type, current.name)
        self._reload_folders()

    def _reload_folders(self) -> None:
        for node in self._folders.values():
            data = node.data
            if isinstance(data, FolderData) and data.loaded:
                data.generation += 1
                node.remove_children()
                if node.is_expanded:
                    self._load_page(node, data.name, None, data.generation, self.prefix)
                else:
                    data.loaded = False  # listed again with the new prefix when opened

    def open_folder(self, name: str) -> None:
        node = self._folders.get(name)
        if node is not None:
            node.expand()
            self.call_after_refresh(self.move_cursor, node)  # the node has its line once laid out

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded) -> None:
        data = event.node.data
        if isinstance(data, FolderData) and not data.loaded:
            data.loaded = True
            data.generation += 1
            self._load_page(event.node, data.name, None, data.generation, self.prefix)

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        data = event.node.data
        if isinstance(data, MoreData) and not data.loading:
            data.loading = True
            self._load_page(event.node.parent, data.folder, data.cursor, data.generation, self.prefix, event.node)
        self.post_message(self.ModelHighlighted(data if isinstance(data, ModelData) else None))

    @io_worker(group="model-tree", exclusive=False, title="Model list")
    def _load_page(
        self,
        folder: TreeNode,
        name: str,
        cursor: str | None,
        generation: int,
        prefix: str,
        more: TreeNode | None = None,
    ) -> None:
        assert self.client is not None
        # `generation` and `prefix` were taken when the load was asked for, not when this thread runs.
        page = self.client.list_models(type=name, prefix=prefix or None, limit=PAGE_SIZE, cursor=cursor)
        self.app.call_from_thread(self._add_page, folder, page, generation, more)

    def _add_page(self, folder: TreeNode, page: dict, generation: int, more: TreeNode | None) -> None:
        data = folder.data
        if not isinstance(data, FolderData) or data.generation != generation:
            return  # the filter changed (or the folder reloaded) while this page was loading
        if more is not None:
            more.remove()
        restore = None
        for item in page.get("items", []):
            label = Text.assemble(item["name"], ("  " + fmt.size(item.get("size")), "dim"))  # names are not markup
            leaf = folder.add_leaf(
                label, data=ModelData(item["type"], item["name"], item.get("size", 0), item.get("modified", ""))
            )
            if self._keep_cursor_on == (item["type"], item["name"]):
                restore = leaf
        cursor = page.get("next_cursor")
        if cursor:
            folder.add_leaf(Text("… more (loads when reached)", "italic"), data=MoreData(data.name, cursor, generation))
        elif not folder.children:
            folder.add_leaf(Text("(empty)", "dim"), data=None)
        if restore is not None:
            self._keep_cursor_on = None
            self.call_after_refresh(self.move_cursor, restore)  # a new leaf has its line once laid out
        self.post_message(self.Warnings(page.get("warnings") or []))  # tree-wide: every page says them
