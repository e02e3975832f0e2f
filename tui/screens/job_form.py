"""New-job forms (txt2img, img2img, train, merge), prefilled with sensible defaults.

One form class builds its inputs from a field table per kind, so each kind is a
few lines of data. Values are checked with the API's own specs before the
dialog closes; local files (init image, dataset folder) travel in the result and
are uploaded by the app just before submitting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, Input, Label, Select

from sdaws.client.job_params import accepts, build_params
from tui.screens.path_picker import IMAGE_SUFFIXES, PathPickerModal

SCHEDULERS = ("euler_a", "euler", "dpmpp_2m", "dpmpp_2m_karras", "ddim", "pndm", "lms", "heun", "unipc")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    default: str | bool = ""
    choices: tuple[str, ...] = ()  # a Select
    kind: str = "text"  # text | check | file | dir | model


_GENERATE = (
    Field("model", "Model (Stable-diffusion/ file or converted name)", kind="model"),
    Field("prompt", "Prompt", "a photo of an astronaut riding a horse"),
    Field("negative_prompt", "Negative prompt"),
    Field("steps", "Steps", "20"),
    Field("cfg_scale", "CFG scale", "7"),
    Field("scheduler", "Scheduler", "euler_a", SCHEDULERS),
    Field("seed", "Seed (-1: random)", "-1"),
    Field("width", "Width", "512"),
    Field("height", "Height", "512"),
    Field("batch_count", "Batch count", "1"),
    Field("batch_size", "Batch size", "1"),
)
FORMS: dict[str, tuple[Field, ...]] = {
    "txt2img": _GENERATE,
    "img2img": (
        Field("init_image", "Init image", kind="file"),
        *_GENERATE,
        Field("denoising_strength", "Denoising strength", "0.75"),
    ),
    "train": (
        Field("base_model", "Base model (converted name, tree model or HF repo id)", kind="model"),
        Field("dataset", "Dataset folder (images + .txt captions)", kind="dir"),
        Field("output_name", "Output name", "my-lora"),
        Field("kind", "Method", "lora", ("lora", "dreambooth")),
        Field("steps", "Steps", "500"),
        Field("rank", "Rank", "4"),
        Field("alpha", "Alpha", "4"),
        Field("learning_rate", "Learning rate", "1e-4"),
        Field("resolution", "Resolution", "512"),
        Field("batch_size", "Batch size", "1"),
        Field("seed", "Seed (-1: random)", "-1"),
        Field("default_caption", "Caption for images without a .txt"),
        Field("sample_every", "Sample every N steps (0: never)", "0"),
    ),
    "merge": (
        Field("mode", "Method", "weighted_sum", ("weighted_sum", "add_difference")),
        Field("model_a", "Model A", kind="model"),
        Field("model_b", "Model B", kind="model"),
        Field("model_c", "Model C (add_difference only)", kind="model"),
        Field("multiplier", "Multiplier M", "0.5"),
        Field("output_name", "Output name", "merged"),
        Field("half", "Save fp16", False, kind="check"),
    ),
}
FILE_FIELDS = ("init_image", "dataset")


@dataclass
class JobRequest:
    kind: str
    params: dict
    files: dict[str, Path] = field(default_factory=dict)  # field -> local file/folder to upload first


class JobForm(ModalScreen[JobRequest | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Submit")]

    def __init__(self, kind: str, models: list[str], prefill: dict | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.kind = kind
        self.models = models
        self.prefill = prefill or {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tall"):
            yield Label(f"New {self.kind} job", classes="dialog-title")
            with VerticalScroll(id="form-fields"):
                for f in FORMS[self.kind]:
                    yield from self._field(f)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Submit (ctrl+s)", id="submit", variant="primary")

    def _field(self, f: Field) -> ComposeResult:
        value = self.prefill.get(f.name, f.default)
        if f.kind == "check":
            yield Checkbox(f.label, bool(value), id=f"f-{f.name}")
            return
        yield Label(f.label)
        if f.choices:
            yield Select([(c, c) for c in f.choices], value=value or f.choices[0], allow_blank=False, id=f"f-{f.name}")
        elif f.kind in ("file", "dir"):
            with Horizontal(classes="picker-row"):
                yield Input(str(value), placeholder="path on this machine", id=f"f-{f.name}")
                yield Button("Browse…", id=f"browse-{f.name}")
        else:
            if f.kind == "model" and not value and self.models and f.name != "model_c":
                value = self.models[0]
            suggester = SuggestFromList(self.models, case_sensitive=False) if f.kind == "model" else None
            yield Input(str(value), id=f"f-{f.name}", suggester=suggester)

    def values(self) -> dict:
        out = {}
        for f in FORMS[self.kind]:
            widget = self.query_one(f"#f-{f.name}")
            value = widget.value
            out[f.name] = None if value is Select.NULL else value
        return out

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        event.stop()
        if button == "cancel":
            self.dismiss(None)
        elif button == "submit":
            self.action_submit()
        elif button.startswith("browse-"):
            self._browse(button.removeprefix("browse-"))

    def _browse(self, name: str) -> None:
        want = "dir" if name == "dataset" else "file"
        picker = PathPickerModal(f"Choose the {name.replace('_', ' ')}", want=want, suffixes=IMAGE_SUFFIXES)

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.query_one(f"#f-{name}", Input).value = str(path)

        self.app.push_screen(picker, chosen)

    def action_submit(self) -> None:
        values = self.values()
        files: dict[str, Path] = {}
        for name in FILE_FIELDS:
            if name in values:
                text = (values[name] or "").strip()
                path = Path(text).expanduser()
                if not text or not path.exists():
                    self.notify(
                        f"{name.replace('_', ' ')}: choose a {'folder' if name == 'dataset' else 'file'} that exists",
                        severity="error",
                        markup=False,
                    )
                    return
                files[name] = path
                values[name] = path.name  # stands in for the key until the upload gives it
        spec_values = {k: v for k, v in values.items() if not (k == "dataset" and not accepts(self.kind, k))}
        try:
            params = build_params(self.kind, spec_values)
        except ValueError as exc:
            self.notify(str(exc), title=f"{self.kind} job", severity="error", markup=False, timeout=8)
            return
        self.dismiss(JobRequest(self.kind, params, files))

    def action_cancel(self) -> None:
        self.dismiss(None)
