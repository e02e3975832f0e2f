"""What the command palette offers, beyond Textual's own commands: (title, description,
what it does to the app). One table, so the palette, the help and their tests read one list."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from tui.screens.job_form import FORMS
from tui.widgets.models_pane import ModelsPane
from tui.widgets.uploads_pane import UploadsPane

if TYPE_CHECKING:
    from tui.app import SdawsApp

Run = Callable[["SdawsApp"], object]

NEW_JOB_HELP = {
    "txt2img": "Generate images from a prompt, with LoRAs and a VAE from the tree",
    "img2img": "Generate from a starting image, with LoRAs and a VAE from the tree",
    "train": "Train a LoRA or DreamBooth on a dataset folder",
    "merge": "Merge two or three checkpoints or converted (diffusers) models",
    "upscale": "Upscale an image with ESRGAN/SwinIR/… and restore faces (the WebUI's extras)",
}


def _models(app: SdawsApp) -> ModelsPane:
    return app.query_one(ModelsPane)


def _filter(app: SdawsApp) -> None:
    app.action_show_tab("models")
    _models(app).action_focus_filter()


# fmt: off
BEFORE_JOBS: tuple[tuple[str, str, Run], ...] = (
    ("Models: browse the model tree", "Show the Models tab", lambda app: app.action_show_tab("models")),
    ("Models: filter by name", "Focus the filter box", _filter),
    ("Models: refresh", "Reload the open folders", lambda app: app.refresh_models()),
    ("Models: delete highlighted", "Delete the highlighted model or converted folder (asks first)",
     lambda app: _models(app).action_delete_model()),
    ("Models: convert highlighted", "Convert the highlighted checkpoint to diffusers",
     lambda app: _models(app).action_convert_model()),
    ("Models: export highlighted converted model", "Export a diffusers/ folder back to one .safetensors checkpoint",
     lambda app: _models(app).action_export_model()),
    ("Create demo model", "A tiny random-weights SD1 checkpoint to try every flow on a CPU",
     lambda app: app.action_create_demo()),
    ("Upload a model file", "Pick a local file (checkpoint, LoRA, VAE…) and upload it", lambda app: app.action_upload()),
    ("Uploads: resume interrupted", "Resume stopped uploads", lambda app: app.query_one(UploadsPane).action_resume_all()),
    ("Jobs: show", "Show the Jobs tab", lambda app: app.action_show_tab("jobs")),
)
AFTER_JOBS: tuple[tuple[str, str, Run], ...] = (
    ("Endpoints", "Inference endpoints: status, scaling, delete", lambda app: app.action_endpoints()),
    ("Models: search every folder", "Search names, titles, trigger tags, family or hash across the whole tree",
     lambda app: app.action_search_models()),
    ("Models: duplicates", "Files with the same sha256 (space you could free)",
     lambda app: app.action_search_models(True)),
    ("Settings", "API URL, token, Test Connection", lambda app: app.action_settings()),
    ("Help", "Keys and flows", lambda app: app.action_help()),
)
# fmt: on


def palette_commands(app: SdawsApp) -> Iterator[SystemCommand]:
    new_jobs = tuple(
        (f"New {kind} job", NEW_JOB_HELP[kind], lambda app, kind=kind: app.action_new_job(kind)) for kind in FORMS
    )
    for title, help_text, run in (*BEFORE_JOBS, *new_jobs, *AFTER_JOBS):
        yield SystemCommand(title, help_text, lambda run=run: run(app))
