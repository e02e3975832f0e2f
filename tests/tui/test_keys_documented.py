"""The README's key list and the help screen name every key the app's screens and panes bind,
and no pane hides an app-wide key (a pane's binding wins while the pane has focus)."""

from __future__ import annotations

import re

from tests.support.env import REPO_ROOT
from tui.app import SdawsApp
from tui.screens.convert_dialog import ConvertDialog
from tui.screens.endpoints import EndpointsScreen
from tui.screens.export_dialog import ExportDialog
from tui.screens.help import HELP
from tui.screens.job_detail import JobDetailScreen
from tui.screens.job_form import JobForm
from tui.screens.model_search import ModelSearchScreen
from tui.widgets.jobs_pane import JobsPane
from tui.widgets.models_pane import ModelsPane
from tui.widgets.uploads_pane import UploadsPane

SHOWN = {"slash": "/", "question_mark": "?", "plus": "+", "minus": "-"}
PANES = (ModelsPane, UploadsPane, JobsPane)


def bound_keys() -> set[str]:
    keys = set()
    screens = (JobDetailScreen, JobForm, ConvertDialog, ExportDialog, EndpointsScreen, ModelSearchScreen)
    for owner in (SdawsApp, *PANES, *screens):
        for binding in owner.BINDINGS:
            first = binding.key.split(",")[0]
            keys.add(SHOWN.get(first, first))
    return keys


def documented(text: str) -> set[str]:
    return set(re.findall(r"`([^`\s]+)`", text))


def test_the_readme_key_list_matches_the_app():
    run_it = (REPO_ROOT / "README.md").read_text().split("## Run it", 1)[1].split("\n## ", 1)[0]
    table = run_it.split("Keys in the UI", 1)[1].split("\n\n", 2)[1]
    missing = bound_keys() - documented(table)
    assert not missing, f"keys the app binds but the README's key list does not name: {sorted(missing)}"


def test_the_help_screen_names_every_key():
    missing = bound_keys() - documented(HELP)
    assert not missing, f"keys the app binds but the help does not name: {sorted(missing)}"


def test_no_pane_hides_an_app_wide_key():
    app_keys = {key for binding in SdawsApp.BINDINGS for key in binding.key.split(",")}
    for pane in PANES:
        pane_keys = {key for binding in pane.BINDINGS for key in binding.key.split(",")}
        assert not pane_keys & app_keys, f"{pane.__name__} takes app-wide keys {sorted(pane_keys & app_keys)}"
