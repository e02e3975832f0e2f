"""Keys and flows at a glance (F1 / ?)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Markdown

HELP = """\
# sdaws

Stable Diffusion model operations — on this machine (embedded server) or on your AWS stack.

| Key | Where | Does |
| --- | --- | --- |
| `m` `u` `j` | anywhere | Models · Uploads · Jobs tab |
| `n` | anywhere | new job: txt2img, img2img, train, merge |
| `ctrl+p` | anywhere | command palette: every action by name |
| `s` | anywhere | settings: API URL, token, Test Connection |
| `/` | Models | filter by name prefix as you type |
| `enter` | Models | open a folder; the next page loads as you reach its end |
| `c` | Models | convert the highlighted checkpoint to diffusers |
| `d` / `delete` | Models | delete the highlighted model (asks first) |
| `r` | Models, Jobs | refresh |
| `a` | Uploads | upload a file; its folder is suggested from the file header |
| `x` | Uploads | stop the upload (it can resume, even after a restart) |
| `ctrl+r` | Uploads | resume stopped or interrupted uploads |
| `enter` | Jobs | job detail: live log, progress, images |
| `x` | Jobs, Job detail | cancel the job (asks first) |
| `o` | Job detail | save outputs to a local folder |
| `ctrl+s` | job forms | submit |
| `f1` `?` | anywhere | this help |
| `q` | anywhere | quit |

**Connecting.** With nothing configured sdaws runs its API on this machine over the
local model root. `sdaws --api URL --token T`, Settings (saved to the user config
dir), or a `sagemaker_ui.json` with `api_gateway_url` and `api_token` in the current
folder connect to a deployed stack instead.

**Model tree.** Folders as the WebUI lays them out; `Stable-diffusion/` must exist.
Files are `.safetensors` or `.ckpt`; a file without extension gets `.ckpt`.

**Scripts.** `sdaws models ls|info|rm`, `sdaws upload FILE --type T`,
`sdaws jobs ls|show|watch|cancel`, `sdaws generate ...` — add `--json` for machines.
"""


class HelpModal(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss_help", "Close")]

    def __init__(self) -> None:
        super().__init__(classes="dialog-screen")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            with VerticalScroll():
                yield Markdown(HELP)
            yield Button("Close", id="close", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
