"""Search the whole model tree (ctrl+f) and list duplicate files (D): one modal, two views.

The search box takes words (matched by the server against names, titles and tags) and
``tag:``, ``family:``, ``hash:`` and ``type:`` prefixes, as `sdaws models search` does.
Each keystroke starts a new search; an older one still running never lands its results
(the worker is exclusive and each result carries the query generation it answers).
Enter on a model dismisses the screen with ``(type, name)``; the app shows it in the tree.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from sdaws.client import catalog, fmt
from sdaws.client.api import ApiClient
from sdaws.client.safe_text import printable
from sdaws.contract.model_facts import FAMILIES
from tui.keymap import keys_of
from tui.workers import io_worker

PREFIXES = ("tag", "family", "hash", "type")
MAX_RESULTS = 200  # a search box, not an export: narrow the words to see the rest


def parse_query(text: str) -> dict[str, str]:
    """``sks tag:cat family:sdxl`` -> {"q": "sks", "tag": "cat", "family": "sdxl"}."""
    filters: dict[str, str] = {}
    words = []
    for word in text.split():
        key, sep, value = word.partition(":")
        if sep and key.lower() in PREFIXES and value:
            filters[key.lower()] = value
            if key.lower() == "family":  # the API names families exactly (SDXL); a box takes sdxl
                filters["family"] = next((f for f in FAMILIES if f.lower() == value.lower()), value)
        else:
            words.append(word)
    if words:
        filters["q"] = " ".join(words)
    return filters


def split_key(key: str) -> tuple[str, str]:
    """``Lora/sks_cat.safetensors`` -> (type, name): a type never holds a slash."""
    model_type, _, name = key.partition("/")
    return model_type, name


class ModelSearchScreen(ModalScreen[tuple[str, str] | None]):
    BINDINGS = keys_of("ModelSearchScreen")

    def __init__(self, client: ApiClient, *, duplicates: bool = False) -> None:
        super().__init__(classes="dialog-screen")
        self.client = client
        self.showing_duplicates = duplicates
        self.generation = 0
        self.keys: dict[str, str] = {}  # option id -> "type/name"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tall"):
            yield Label("", id="search-title", classes="dialog-title")
            yield Input(placeholder="words, tag:x, family:sdxl, hash:abcd, type:Lora", id="search-input")
            yield Label("", id="search-status")
            yield OptionList(id="search-results")

    def on_mount(self) -> None:
        self._show_view()

    # -- views -----------------------------------------------------------------

    def _show_view(self) -> None:
        title = "Duplicates: the same sha256 in more than one file" if self.showing_duplicates else "Search models"
        self.query_one("#search-title", Label).update(f"{title}   (ctrl+t: {self._other_view()}, escape: close)")
        box = self.query_one("#search-input", Input)
        box.display = not self.showing_duplicates
        self._clear()
        if self.showing_duplicates:
            self._status("finding duplicates…")
            self.generation += 1
            self._load_duplicates(self.generation)
            self.query_one("#search-results", OptionList).focus()
        else:
            box.focus()
            self._search(box.value)

    def _other_view(self) -> str:
        return "search" if self.showing_duplicates else "duplicates"

    def action_toggle_view(self) -> None:
        self.showing_duplicates = not self.showing_duplicates
        self._show_view()

    def _clear(self) -> None:
        self.keys = {}
        self.query_one("#search-results", OptionList).clear_options()

    def _status(self, text: str) -> None:
        self.query_one("#search-status", Label).update(text)

    # -- search ----------------------------------------------------------------

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @on(Input.Submitted, "#search-input")
    def _submitted(self) -> None:
        options = self.query_one("#search-results", OptionList)
        options.focus()
        if options.highlighted is None:
            options.action_first()  # enter again opens the first match

    def _search(self, text: str) -> None:
        self.generation += 1
        filters = parse_query(text)
        if not filters:
            self._clear()
            self._status("type to search every folder")
            return
        self._status("searching…")
        self._run_search(filters, self.generation)

    @io_worker(group="model-search", title="Search")
    def _run_search(self, filters: dict[str, str], generation: int) -> None:
        items = list(catalog.iter_search(self.client, MAX_RESULTS, **filters))
        self.app.call_from_thread(self._show_results, items, generation)

    def _show_results(self, items: list[dict], generation: int) -> None:
        if generation != self.generation or self.showing_duplicates:
            return  # a newer query (or the other view) was asked for while this one ran
        self._clear()
        options = self.query_one("#search-results", OptionList)
        for n, item in enumerate(items):
            key = f"{item['type']}/{item['name']}"
            self.keys[f"m{n}"] = key
            family = item.get("family") or ""
            line = f"{key}   {family}   {fmt.size(item.get('size'))}"
            options.add_option(Option(printable(line, single_line=True), id=f"m{n}"))
        more = "+ (narrow the words)" if len(items) >= MAX_RESULTS else ""
        self._status(f"{len(items)}{more} found" if items else "nothing found")

    # -- duplicates ------------------------------------------------------------

    @io_worker(group="model-search", title="Duplicates")
    def _load_duplicates(self, generation: int) -> None:
        found = catalog.duplicates(self.client)
        self.app.call_from_thread(self._show_duplicates, found.get("groups", []), generation)

    def _show_duplicates(self, groups: list[dict], generation: int) -> None:
        if generation != self.generation or not self.showing_duplicates:
            return
        self._clear()
        options = self.query_one("#search-results", OptionList)
        wasted = 0
        for g, group in enumerate(groups):
            wasted += group.get("wasted_bytes", 0)
            head = f"{group['sha256'][:12]}  {fmt.size(group.get('size'))} each, {len(group['models'])} files"
            options.add_option(Option(printable(head, single_line=True), id=f"g{g}", disabled=True))
            for n, key in enumerate(group["models"]):
                self.keys[f"g{g}m{n}"] = key
                options.add_option(Option(printable("    " + key, single_line=True), id=f"g{g}m{n}"))
        if groups:
            self._status(f"{len(groups)} groups; {fmt.size(wasted)} could be freed")
        else:
            self._status("no duplicates (files still hashing are not counted yet)")

    # -- leaving ---------------------------------------------------------------

    @on(OptionList.OptionSelected, "#search-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        key = self.keys.get(event.option.id or "")
        if key is not None:
            self.dismiss(split_key(key))

    def action_cancel(self) -> None:
        self.dismiss(None)
