"""Every key of the terminal UI in one table: where it works, the keys, the action it runs,
the footer's word for it, and whether the footer shows it. The screens and panes take
their BINDINGS from here, so the help screen's test and a reader find all keys in one place."""

from __future__ import annotations

from textual.binding import Binding

# fmt: off
KEYS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("SdawsApp", "m", "show_tab('models')", "Models", False),
    ("SdawsApp", "u", "show_tab('uploads')", "Uploads", False),
    ("SdawsApp", "j", "show_tab('jobs')", "Jobs", False),
    ("SdawsApp", "n", "new_job", "New job", True),
    ("SdawsApp", "e", "endpoints", "Endpoints", False),  # in the palette and in help
    ("SdawsApp", "ctrl+f", "search_models", "Search", False),
    ("SdawsApp", "D", "search_models(True)", "Duplicates", False),
    ("SdawsApp", "s", "settings", "Settings", True),
    ("SdawsApp", "f1,question_mark", "help", "Help", True),
    ("SdawsApp", "q", "quit", "Quit", True),
    ("ConfirmModal", "escape,n", "answer(False)", "No", True),
    ("ConfirmModal", "y", "answer(True)", "Yes", True),
    ("ConvertDialog", "escape", "cancel", "Cancel", True),
    ("ConvertDialog", "ctrl+s", "convert", "Convert", True),
    ("EndpointsScreen", "escape,q", "close", "Close", True),
    ("EndpointsScreen", "r", "refresh", "Refresh", True),
    ("EndpointsScreen", "plus,equals_sign", "scale(1)", "More instances", True),
    ("EndpointsScreen", "minus", "scale(-1)", "Fewer instances", True),
    ("EndpointsScreen", "d,delete", "delete", "Delete", True),
    ("ExportDialog", "escape", "cancel", "Cancel", True),
    ("ExportDialog", "ctrl+s", "export", "Export", True),
    ("HelpModal", "escape,q,f1,question_mark", "dismiss_help", "Close", True),
    ("ImageScreen", "escape,backspace,enter,q", "app.pop_screen", "Back", True),
    ("JobDetailScreen", "escape,backspace", "app.pop_screen", "Back", True),
    ("JobDetailScreen", "x", "cancel_job", "Cancel job", True),
    ("JobDetailScreen", "o", "save_outputs", "Save outputs", True),
    ("JobDetailScreen", "u", "upscale_image", "Upscale image", True),
    ("JobDetailScreen", "p", "use_as_preview", "Use as preview", True),
    ("JobForm", "escape", "cancel", "Cancel", True),
    ("JobForm", "ctrl+s", "submit", "Submit", True),
    ("JobKindModal", "escape", "dismiss_none", "Cancel", True),
    ("MetadataDialog", "escape", "cancel", "Cancel", True),
    ("MetadataDialog", "ctrl+s", "save", "Save", True),
    ("ModelSearchScreen", "escape", "cancel", "Close", True),
    ("ModelSearchScreen", "ctrl+t", "toggle_view", "Search / duplicates", True),
    ("PathPickerModal", "escape", "cancel", "Cancel", True),
    ("PreviewTargetDialog", "escape", "cancel", "Cancel", True),
    ("SettingsModal", "escape", "cancel", "Cancel", True),
    ("UploadDialog", "escape", "cancel", "Cancel", True),
    ("JobsPane", "enter", "open_job", "Open", True),
    ("JobsPane", "x", "cancel_job", "Cancel job", True),
    ("JobsPane", "r", "refresh", "Refresh", True),
    ("LoraPicker", "delete,backspace", "remove", "Remove LoRA", False),
    ("ModelsPane", "slash", "focus_filter", "Filter", False),  # the filter box says so
    ("ModelsPane", "d,delete", "delete_model", "Delete", True),
    ("ModelsPane", "c", "convert_model", "Convert", True),
    ("ModelsPane", "ctrl+e", "export_model", "Export", True),  # e opens Endpoints, app-wide
    # m is the Models tab (app-wide); off the footer, which at 80 columns would lose "q Quit".
    ("ModelsPane", "i", "edit_metadata", "Notes", False),
    ("ModelsPane", "r", "refresh", "Refresh", False),
    ("UploadsPane", "a", "add_files", "Add file", True),
    ("UploadsPane", "x", "stop", "Stop upload", True),
    ("UploadsPane", "ctrl+r", "resume_all", "Resume", True),
)
# fmt: on


def keys_of(owner: str) -> list[Binding]:
    """The bindings of the screen, pane or app class named `owner` (a name with none is a typo)."""
    found = [Binding(keys, action, words, show=shown) for where, keys, action, words, shown in KEYS if where == owner]
    if not found:
        raise KeyError(f"no keys for {owner!r} in tui/keymap.py")
    return found
