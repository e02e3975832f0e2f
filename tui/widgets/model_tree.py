"""The model tree: the 15 folders plus the converted models, each loaded lazily, page by page.

A folder's first page loads when it is expanded; a "more" leaf at the end loads the
next page as soon as the cursor reaches it, so a 100,000-model folder paints its first
page at once and stays responsive. Behind the first page the folder's names are listed
to the end in the background into an in-memory index (sorted, so a prefix is a bisect):
once it is whole, typing in the filter shows the matches from it, a page of rows at a
time, with no request and no rebuild of the whole folder. Until then (and for folders
too large to index) the filter is the API's prefix filter: each load carries the
generation of its folder, so the pages of a superseded filter (or of a reload) never
land: typing `sdaws` fast shows each model once. A refresh lists the folder (and its
index) again. Converted models (`diffusers/<name>` folders) are a branch of their own.
"""

from __future__ import annotations

import bisect
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
INDEX_PAGE_SIZE = 1000  # the API's largest page: the index costs as few requests as it can
# Rows shown from the index at a time: a few screens, so a keystroke rebuilds only those
# (the next ones appear as soon as the cursor reaches "more", with no request).
INDEX_ROWS = 100
INDEX_LIMIT = 200_000  # a folder larger than this stays filtered by the API (memory, and requests on AWS)
CONVERTED_LABEL = f"{CONVERTED_PREFIX} (converted models)"


@dataclass
class FolderData:
    name: str
    required: bool
    loaded: bool = False
    generation: int = 0  # bumped by every (re)load: pages of an older one are dropped
    epoch: int = 0  # bumped by every refresh: an index listed before it is dropped
    index: FolderIndex | None = None  # the whole folder, once listed to its end
    index_asked: bool = False  # listed (or being listed) for this epoch: asked once, also when too large


class FolderIndex:
    """Every model of one folder, sorted by name: the models starting with a prefix are one slice.

    Kept as plain columns (names, types, sizes, dates), not one object per model: 100,000
    objects made every full garbage collection walk them, a 100 ms pause in some keystrokes.
    """

    def __init__(self, rows: list[tuple[str, str, int, str]]) -> None:
        rows.sort()  # (name, type, size, modified); the API's order already, so this is cheap
        self.names = [r[0] for r in rows]
        self.types = [r[1] for r in rows]
        self.sizes = [r[2] for r in rows]
        self.modified = [r[3] for r in rows]

    def matching(self, prefix: str, start: int | None) -> tuple[list[ModelData], int | None]:
        """Up to INDEX_ROWS models from position ``start`` (None: the first match) that start
        with ``prefix``, and the position of the next one (None: no more)."""
        i = bisect.bisect_left(self.names, prefix) if start is None else start
        page: list[ModelData] = []
        while i < len(self.names) and self.names[i].startswith(prefix):
            if len(page) == INDEX_ROWS:
                return page, i
            page.append(ModelData(self.types[i], self.names[i], self.sizes[i], self.modified[i]))
            i += 1
        return page, None


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
    position: int | None = None  # set: the next rows come from the folder's index, from here


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

    def loading_folders(self) -> bool:
        """Whether a page is still on its way (a worker's page lands before the worker ends)."""
        return any(w.group == "model-tree" and not w.is_finished for w in self.workers)

    def indexed(self, folder: str) -> bool:
        """Whether ``folder``'s index is whole (the filter then needs no request)."""
        node = self._folders.get(folder)
        return node is not None and isinstance(node.data, FolderData) and node.data.index is not None

    def set_prefix(self, prefix: str) -> None:
        self.prefix = prefix
        self._reload_folders()

    def reload(self) -> None:
        """List the open folders (and their indexes) again; the cursor stays on the model it was on."""
        current = self.highlighted_model()
        if current is not None:  # else a reload already under way has the model to find again
            self._keep_cursor_on = (current.type, current.name)
        for node in self._folders.values():
            if isinstance(node.data, FolderData):
                node.data.epoch += 1
                node.data.index = None
                node.data.index_asked = False  # one under way lists the old epoch: its result is dropped
        self._reload_folders()

    def _reload_folders(self) -> None:
        for node in self._folders.values():
            data = node.data
            if isinstance(data, FolderData) and data.loaded:
                data.generation += 1
                node.remove_children()
                if not node.is_expanded:
                    data.loaded = False  # listed again with the new prefix when opened
                elif data.index is not None:
                    self._show_from_index(node, data, None)
                else:
                    self._load_page(node, data.name, None, data.generation, self.prefix)

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
            if data.index is not None:
                self._show_from_index(event.node, data, None)
            else:
                self._load_page(event.node, data.name, None, data.generation, self.prefix)

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        data = event.node.data
        if isinstance(data, MoreData) and not data.loading:
            data.loading = True
            folder = event.node.parent
            if data.position is not None and folder is not None and isinstance(folder.data, FolderData):
                event.node.remove()
                self._show_from_index(folder, folder.data, data.position)
            else:
                self._load_page(folder, data.folder, data.cursor, data.generation, self.prefix, event.node)
        self.post_message(self.ModelHighlighted(data if isinstance(data, ModelData) else None))

    # -- from the index --------------------------------------------------------

    def _show_from_index(self, folder: TreeNode, data: FolderData, position: int | None) -> None:
        """A page of the index's matches for the current prefix (no request); "more" if it goes on."""
        assert data.index is not None
        models, following = data.index.matching(self.prefix, position)
        self._add_models(folder, models)
        if following is not None:
            more = MoreData(data.name, "", data.generation, position=following)
            folder.add_leaf(Text("… more (shows when reached)", "italic"), data=more)
        elif not folder.children:
            folder.add_leaf(Text("(empty)", "dim"), data=None)

    def _add_models(self, folder: TreeNode, models: list[ModelData]) -> None:
        restore = None
        for model in models:
            label = Text.assemble(model.name, ("  " + fmt.size(model.size), "dim"))  # names are not markup
            leaf = folder.add_leaf(label, data=model)
            if self._keep_cursor_on == (model.type, model.name):
                restore = leaf
        if restore is not None:
            self._keep_cursor_on = None
            self.call_after_refresh(self.move_cursor, restore)  # a new leaf has its line once laid out

    @io_worker(group="model-index", exclusive=False, title="Model list")
    def _build_index(self, folder: TreeNode, name: str, epoch: int) -> None:
        assert self.client is not None
        rows = []
        for item in self.client.iter_models(type=name, page_size=INDEX_PAGE_SIZE):
            rows.append(_row(item))
            if len(rows) > INDEX_LIMIT:
                return  # too large: the API's prefix filter stays, and it is not asked again
        index = FolderIndex(rows)  # sorted here, not on the UI's thread
        self.app.call_from_thread(self._index_listed, folder, epoch, index)

    def _index_listed(self, folder: TreeNode, epoch: int, index: FolderIndex) -> None:
        data = folder.data
        if isinstance(data, FolderData) and data.epoch == epoch:
            data.index = index

    # -- from the API ------------------------------------------------------------

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
        self.app.call_from_thread(self._add_page, folder, page, generation, prefix, cursor, more)

    def _add_page(
        self, folder: TreeNode, page: dict, generation: int, prefix: str, cursor: str | None, more: TreeNode | None
    ) -> None:
        data = folder.data
        if not isinstance(data, FolderData) or data.generation != generation:
            return  # the filter changed (or the folder reloaded) while this page was loading
        if more is not None:
            more.remove()
        models = [_model(item) for item in page.get("items", [])]
        self._add_models(folder, models)
        next_cursor = page.get("next_cursor")
        if next_cursor:
            folder.add_leaf(
                Text("… more (loads when reached)", "italic"), data=MoreData(data.name, next_cursor, generation)
            )
        elif not folder.children:
            folder.add_leaf(Text("(empty)", "dim"), data=None)
        if cursor is None and data.index is None:
            if not next_cursor and not prefix:  # the whole folder is this page: it is its own index
                data.index = FolderIndex([_row(item) for item in page.get("items", [])])
            elif not data.index_asked:
                data.index_asked = True
                self._build_index(folder, data.name, data.epoch)
        self.post_message(self.Warnings(page.get("warnings") or []))  # tree-wide: every page says them


def _row(item: dict) -> tuple[str, str, int, str]:
    return item["name"], item["type"], item.get("size", 0), item.get("modified", "")


def _model(item: dict) -> ModelData:
    return ModelData(item["type"], item["name"], item.get("size", 0), item.get("modified", ""))
