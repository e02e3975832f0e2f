"""Keys and flows at a glance (F1 / ?)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Markdown

from tui.keymap import keys_of

HELP = """\
# sdaws

Stable Diffusion model operations — on this machine (embedded server) or on your AWS stack.

| Key | Where | Does |
| --- | --- | --- |
| `m` `u` `j` | anywhere | Models · Uploads · Jobs tab |
| `n` | anywhere | new job: txt2img, img2img, train, merge, upscale |
| `ctrl+p` | anywhere | command palette: every action by name or description (e.g. "Create demo model") |
| `s` | anywhere | settings: API URL, token, Test Connection |
| `e` | anywhere | inference endpoints: status, `+` / `-` instances, `d` delete, `r` refresh |
| `ctrl+f` | anywhere | search every folder: words, `tag:x`, `family:sdxl`, `hash:abcd`; enter shows it in the tree |
| `D` | anywhere | duplicates: files with the same sha256 (`ctrl+t` switches search / duplicates) |
| `/` | Models | filter by name prefix as you type |
| `enter` | Models | open a folder; the next page loads as you reach its end |
| `c` | Models | convert the highlighted checkpoint to diffusers |
| `ctrl+e` | Models | export the highlighted converted model (diffusers/) to one .safetensors file |
| `d` / `delete` | Models | delete the highlighted model or converted folder (asks first) |
| `i` | Models | edit notes: description, activation text, preferred weight, notes (NAME.json) |
| `r` | Models, Jobs | refresh (the cursor stays on its model) |
| `a` | Uploads | upload a file; its folder is suggested from the file header |
| `x` | Uploads | stop the upload (it can resume, even after a restart) |
| `ctrl+r` | Uploads | resume stopped or interrupted uploads |
| `enter` | Jobs | job view: readable log, progress, images |
| `x` | Jobs, job view | cancel the job (asks first) |
| `enter` | job view outputs | open the highlighted image large |
| `o` | job view | save outputs to a local folder (offers to create it) |
| `u` | job view | upscale the highlighted image (the upscale form, on it) |
| `p` | job view | use the highlighted image as a model's preview (the job's model by default) |
| `ctrl+s` | job forms, convert, export, notes | submit |
| `escape` | dialogs, job view | back |
| `f1` `?` | anywhere | this help |
| `q` | anywhere | quit |

**First run.** An empty model tree offers a tiny demo checkpoint (Enter creates it; the
palette's "Create demo model" makes it any time). Its weights are random, so its images
are noise; it is there to try converting, generating and training on a CPU.

**LoRAs.** Pick them (with weights) and a VAE in the txt2img/img2img forms, or write
`<lora:name:0.8>` in the prompt: the name is a file in `Lora/`, as in the WebUI.

**WebUI parity.** The forms' collapsible sections hold hires fix, the SDXL refiner,
ControlNet units (`ControlNet/`), inpainting (a mask file or a rectangle), live previews,
training buckets/captions/saves/samples/resume and the merge methods; each form's first
line names the tree folders its job reads. Embeddings from `embeddings/` are used by
name in the prompt.

**Connecting.** With nothing configured sdaws runs its API on this machine over the
local model root. `sdaws --api URL --token T`, Settings (saved to the user config
dir), or a `sagemaker_ui.json` with `api_gateway_url` and `api_token` in the current
folder connect to a deployed stack instead.

**Model tree.** Folders as the WebUI lays them out; `Stable-diffusion/` must exist.
Files are `.safetensors` or `.ckpt`; a file without extension gets `.ckpt`.
`diffusers (converted models)` lists the folders convert jobs made: use them as a job's
model, export them back to one file, or delete them.

**Scripts.** `sdaws models ls|info|rm`, `sdaws upload FILE --type T`,
`sdaws jobs ls|show|watch|cancel`, `sdaws generate|train|merge|upscale ...` — add `--json` for machines.
"""


class HelpModal(ModalScreen[None]):
    BINDINGS = keys_of("HelpModal")

    def __init__(self) -> None:
        super().__init__(classes="dialog-screen")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            with VerticalScroll():
                yield Markdown(HELP)
            yield Button("Close", id="close", variant="primary")

    @on(Button.Pressed, "#close")
    def action_dismiss_help(self) -> None:
        self.dismiss(None)
