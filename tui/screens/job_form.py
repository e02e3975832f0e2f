"""New-job forms (txt2img, img2img, train, merge, upscale), prefilled with sensible defaults.

One form class builds its inputs from a field table per kind, so each kind is a few
lines of data; the WebUI-parity groups (hires fix, ControlNet, …) are collapsible
sections from `job_fields_parity`. The form submits its own job: values are checked with
the API's own specs first, local files (init image, mask, control images, dataset folder)
are uploaded
(`sdaws.client.job_inputs`), then the job is sent. Any problem — the form's check or the
server's answer — is shown next to its field and the form stays open with everything
typed; it closes with the submitted job. The values are remembered per kind for the
next form of that kind.
"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, Collapsible, Input, Label, Select

from sdaws.client.api import ApiClient, ApiError
from sdaws.client.job_inputs import LOCAL_FILE_PARAMS, take_local_files, upload_job_inputs
from sdaws.client.job_params import accepts, build_params, errors_by_field
from sdaws.client.safe_text import printable
from sdaws.contract.model_tree import CONVERTED_PREFIX, REQUIRED_TYPE
from sdaws.contract.specs import MERGE_MODES, SCHEDULERS
from tui.keymap import keys_of
from tui.screens import job_fields_parity as parity
from tui.screens.form_field import Field
from tui.screens.image_view import ImageScreen
from tui.screens.path_picker import IMAGE_SUFFIXES, PathPickerModal
from tui.widgets.lora_picker import LoraPicker
from tui.workers import io_worker

NO_VAE = "(the model's own VAE)"
NO_CHOICE = "(none)"
__all__ = ["FORMS", "MODEL_FIELD", "Field", "JobForm"]


_GENERATE = (
    Field("model", "Model (Stable-diffusion/ file or converted name)", kind="model"),
    Field(
        "prompt",
        "Prompt (<lora:name:0.8> tags use LoRAs from Lora/; embeddings/ by name)",
        "a photo of an astronaut riding a horse",
    ),
    Field("negative_prompt", "Negative prompt"),
    Field("loras", "LoRAs", kind="loras"),
    Field("vae", "VAE", kind="vae"),
    Field("steps", "Steps", "20"),
    Field("cfg_scale", "CFG scale", "7"),
    Field("scheduler", "Scheduler", "euler_a", tuple(SCHEDULERS)),
    Field("seed", "Seed (-1: random)", "-1"),
    Field("width", "Width", "512"),
    Field("height", "Height", "512"),
    Field("batch_count", "Batch count", "1"),
    Field("batch_size", "Batch size", "1"),
)
FORMS: dict[str, tuple[Field, ...]] = {
    "txt2img": (*_GENERATE, *parity.TXT2IMG_PARITY),
    "img2img": (
        Field("init_image", "Init image", kind="file"),
        *_GENERATE,
        Field("denoising_strength", "Denoising strength", "0.75"),
        *parity.IMG2IMG_PARITY,
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
        *parity.TRAIN_PARITY,
    ),
    "merge": (
        Field("mode", "Method", "weighted_sum", MERGE_MODES),
        Field("model_a", "Model A", kind="model"),
        Field("model_b", "Model B (all but no_interpolation)", kind="model"),
        Field("model_c", "Model C (add_difference; ties: the base)", kind="model"),
        Field("multiplier", "Multiplier M (MBW: outside the UNet blocks)", "0.5"),
        Field("output_name", "Output name", "merged"),
        Field("half", "Save fp16", False, kind="check"),
        *parity.MERGE_PARITY,
    ),
    "upscale": parity.UPSCALE,
}
# The field a highlighted checkpoint fills in, per kind (upscale takes no checkpoint).
MODEL_FIELD = {"txt2img": "model", "img2img": "model", "train": "base_model", "merge": "model_a"}


class JobForm(ModalScreen[dict | None]):
    """Dismisses with the submitted job, or None on cancel."""

    BINDINGS = keys_of("JobForm")

    def __init__(self, kind: str, client: ApiClient, prefill: dict | None = None, memory: dict | None = None) -> None:
        """``prefill``: what the form opens with (remembered values, a highlighted model);
        ``memory``: where this kind's values are kept for the next form."""
        super().__init__(classes="dialog-screen")
        self.kind = kind
        self.client = client
        self.prefill = prefill or {}
        self.memory = memory if memory is not None else {}
        self.fields = FORMS[kind]
        self._units: list[int] = []  # the form's ControlNet unit of each entry sent

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tall"):
            yield Label(f"New {self.kind} job", classes="dialog-title")
            yield Label("", id="form-error", classes="field-error hidden", markup=False)
            with VerticalScroll(id="form-fields"):
                folders = ", ".join(f"{name}/" for name in parity.folders_used(self.kind))
                yield Label(f"Uses the tree's {folders}", classes="form-hint", markup=False)
                for section, group in itertools.groupby(self.fields, key=lambda f: f.section):
                    fields = list(group)
                    if not section:
                        for f in fields:
                            yield from self._field(f)
                        continue
                    in_use = any(_differs(self.prefill.get(f.name, f.default), f.default) for f in fields)
                    with Collapsible(title=section, collapsed=not in_use, id=f"section-{_css_id(section)}"):
                        for f in fields:
                            yield from self._field(f)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Submit (ctrl+s)", id="submit", variant="primary")

    def _field(self, f: Field) -> ComposeResult:
        value = self.prefill.get(f.name, f.default)
        if f.kind == "check":
            yield Checkbox(f.label, bool(value), id=f"f-{f.name}")
        else:
            yield Label(f.label)
            if f.choices:
                start = value if value in f.choices else f.choices[0]
                yield Select([(c, c) for c in f.choices], value=start, allow_blank=False, id=f"f-{f.name}")
            elif f.kind == "pick":
                yield self._pick(f, value)
            elif f.kind == "loras":
                yield LoraPicker(value if isinstance(value, list) else [], id=f"f-{f.name}")
            elif f.kind == "vae":
                yield Select([], prompt=NO_VAE, id=f"f-{f.name}")
            elif f.kind in ("file", "dir"):
                with Horizontal(classes="picker-row"):
                    yield Input(str(value or ""), placeholder="path on this machine", id=f"f-{f.name}")
                    yield Button("Browse…", id=f"browse-{f.name}", classes="browse")
                    if f.kind == "file":  # an image: the control image, mask or init image seen before sending
                        yield Button("View", id=f"view-{f.name}", classes="view")
            else:
                yield Input(str(value or ""), id=f"f-{f.name}")
        yield Label("", id=f"err-{f.name}", classes="field-error hidden", markup=False)

    def _pick(self, f: Field, value: object) -> Select:
        """A Select of the field's built-in names and (once listed) its folders' models; the
        remembered choice is offered until the listing says whether it still exists."""
        names = list(f.builtins) + ([value] if isinstance(value, str) and value and value not in f.builtins else [])
        options = [(Text(printable(n, single_line=True)), n) for n in names]
        start = value if value in names else (f.builtins[0] if f.builtins else Select.NULL)
        return Select(options, value=start, allow_blank=not f.builtins, prompt=NO_CHOICE, id=f"f-{f.name}")

    def on_mount(self) -> None:
        first = self.fields[0]
        self.query_one(f"#f-{first.name}").focus()
        self._load_choices()

    # -- what the tree offers --------------------------------------------------------------

    @io_worker(group="job-form-choices", title="Job form")
    def _load_choices(self) -> None:
        def names(folder: str) -> list[str]:
            try:
                return [m["name"] for m in self.client.list_models(type=folder, limit=1000).get("items", [])]
            except ApiError:  # an older API without converted listings: the names just are not offered
                return []

        wanted = {f.kind for f in self.fields}
        models = names(REQUIRED_TYPE) + names(CONVERTED_PREFIX) if "model" in wanted else []
        loras = names("Lora") if "loras" in wanted else []
        vaes = names("VAE") if "vae" in wanted else []
        folders = {folder for f in self.fields for folder in f.folders}
        in_folder = {folder: [f"{folder}/{name}" for name in names(folder)] for folder in sorted(folders)}
        self.app.call_from_thread(self._offer, models, loras, vaes, in_folder)

    def _offer(self, models: list[str], loras: list[str], vaes: list[str], in_folder: dict[str, list[str]]) -> None:
        for f in self.fields:
            widget = self.query_one(f"#f-{f.name}")
            if f.kind == "pick":
                assert isinstance(widget, Select)
                current = widget.value
                names = list(f.builtins) + [n for folder in f.folders for n in in_folder.get(folder, [])]
                widget.set_options([(Text(printable(n, single_line=True)), n) for n in names])
                if current in names:
                    widget.value = current
            elif f.kind == "model":
                assert isinstance(widget, Input)
                widget.suggester = SuggestFromList(models, case_sensitive=False)
            elif f.kind == "loras":
                assert isinstance(widget, LoraPicker)
                widget.set_choices(loras)
            elif f.kind == "vae":
                assert isinstance(widget, Select)
                widget.set_options([(Text(printable(v, single_line=True)), v) for v in vaes])
                chosen = self.prefill.get(f.name)
                if chosen in vaes:
                    widget.value = chosen

    # -- values and problems ----------------------------------------------------------------

    def values(self) -> dict:
        out: dict = {}
        for f in self.fields:
            widget = self.query_one(f"#f-{f.name}")
            value = widget.value  # type: ignore[attr-defined]
            out[f.name] = None if value is Select.NULL else value
        if "loras" in out and not out["loras"]:
            out["loras"] = None
        return out

    def show_problems(self, message: str) -> None:
        """Each problem next to its field (the first one scrolled into view); the rest on top."""
        message = parity.in_form_words(message, self._units)
        problems = errors_by_field(message, [f.name for f in self.fields])
        for f in self.fields:
            label = self.query_one(f"#err-{f.name}", Label)
            label.update(problems.get(f.name, ""))
            label.set_class(f.name not in problems, "hidden")
        general = self.query_one("#form-error", Label)
        general.update(problems.get("", ""))
        general.set_class("" not in problems, "hidden")
        first = next((f.name for f in self.fields if f.name in problems), None)
        if first is not None:
            for section in self.query_one(f"#f-{first}").ancestors:
                if isinstance(section, Collapsible):
                    section.collapsed = False  # the problem's field must be seen to be fixed
            self.query_one(f"#f-{first}").focus()
            self.query_one(f"#err-{first}").scroll_visible()

    # -- buttons and keys --------------------------------------------------------------------

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.memory[self.kind] = self.values()
        self.dismiss(None)

    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        flat = self.values()
        self.memory[self.kind] = dict(flat)
        try:
            values, self._units = parity.assemble(self.kind, flat)
            required = tuple(name for name in LOCAL_FILE_PARAMS if name != "mask")
            files = take_local_files(values, required)  # placeholders until the upload gives the keys
            if "dataset" in values and not accepts(self.kind, "dataset"):
                values.pop("dataset")
            params = build_params(self.kind, values)
        except ValueError as exc:
            self.show_problems(str(exc))
            return
        self.show_problems("")
        self.query_one("#submit", Button).disabled = True
        self._send(params, files)

    @io_worker(group="job-form-submit", title="Submit job")
    def _send(self, params: dict, files: dict[str, Path]) -> None:
        try:
            params = upload_job_inputs(self.client, params, files)
            job = self.client.submit_job(self.kind, params, idempotency_key=str(uuid.uuid4()))
        except ApiError as exc:
            self.app.call_from_thread(self._refused, str(exc))
            return
        self.app.call_from_thread(self.dismiss, job)

    def _refused(self, message: str) -> None:
        self.query_one("#submit", Button).disabled = False
        self.show_problems(message)

    @on(Button.Pressed, ".view")
    def _view(self, event: Button.Pressed) -> None:
        name = (event.button.id or "").removeprefix("view-")
        path = Path(self.query_one(f"#f-{name}", Input).value.strip()).expanduser()
        if not path.is_file():
            self.notify(f"{name.replace('_', ' ')}: choose an image file on this machine first", markup=False)
            return
        self.app.push_screen(ImageScreen(path, getattr(self.app, "half_block_images", False)))

    @on(Button.Pressed, ".browse")
    def _browse(self, event: Button.Pressed) -> None:
        name = (event.button.id or "").removeprefix("browse-")
        want = "dir" if LOCAL_FILE_PARAMS.get(name) == "folder" else "file"
        picker = PathPickerModal(f"Choose the {name.replace('_', ' ')}", want=want, suffixes=IMAGE_SUFFIXES)

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.query_one(f"#f-{name}", Input).value = str(path)

        self.app.push_screen(picker, chosen)


def _css_id(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")


def _differs(value: object, default: str | bool) -> bool:
    """Whether a remembered value is the user's (a section holding one opens); blank is the default."""
    if isinstance(default, bool):
        return bool(value) != default
    return (value or "") != default
