"""Convert a checkpoint to diffusers: prefilled with what the engine detects, editable.

Only what the user changed is sent: values the dialog filled in from the detection are
left for the job to detect again, so its result line says "detected …", not "given by
the caller".
"""

from __future__ import annotations

from typing import get_args

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select

from sdaws.client.job_params import default_output_name
from sdaws.contract.specs import ConvertSpec
from tui.keymap import keys_of
from tui.screens.checked_params import checked_params

# The engine's architecture names, as the API's convert spec lists them ("auto" detects).
ARCHS = get_args(ConvertSpec.model_fields["arch"].annotation)
PREDICTIONS = ("epsilon", "v_prediction")


def detect_defaults(detected: dict | None) -> tuple[dict, str]:
    """(prefill, why) from what the server detected (the conversion engine's rules)."""
    if not detected:
        return {}, "The architecture could not be read from the file's header: the job detects it (arch auto)."
    prefill = {k: detected[k] for k in ("arch", "prediction_type", "image_size")}
    why = "; ".join([*detected.get("reasons", []), *detected.get("defaults_taken", [])]) or "from keys and shapes"
    return prefill, f"Detected {detected['arch']}: {why}"


class ConvertDialog(ModalScreen[dict | None]):
    """Dismisses with validated ``convert`` job params, or None."""

    BINDINGS = keys_of("ConvertDialog")
    AUTO_FOCUS = "#arch"

    def __init__(self, model_name: str, detected: dict | None) -> None:
        super().__init__(classes="dialog-screen")
        self.model_name = model_name
        self.prefill, self.why = detect_defaults(detected)

    def compose(self) -> ComposeResult:
        arch = self.prefill.get("arch")
        arch = arch if arch in ARCHS else "auto"
        prediction = self.prefill.get("prediction_type")
        with Vertical(classes="dialog wide tall short"):
            yield Label(f"Convert {self.model_name} to diffusers", classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-fields"):
                yield from self._fields(arch, prediction)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Convert (ctrl+s)", id="convert", variant="primary")

    def _fields(self, arch: str, prediction) -> ComposeResult:
        yield Label(self.why, classes="dim dialog-body", markup=False)
        yield Label("Architecture")
        yield Select([(a, a) for a in ARCHS], value=arch, allow_blank=False, id="arch")
        yield Label("Prediction type (blank: from the architecture)")
        yield Select(
            [(p, p) for p in PREDICTIONS],
            value=prediction if prediction in PREDICTIONS else Select.NULL,
            id="prediction",
            prompt="auto",
        )
        yield Label("Image size")
        yield Input(str(self.prefill.get("image_size") or ""), placeholder="auto", id="image-size")
        yield Label("Output name (the short name jobs use as base model)")
        yield Input(default_output_name(self.model_name), id="output-name")
        with Horizontal(classes="checks"):
            yield Checkbox("fp16 (--half)", id="half")
            yield Checkbox("EMA weights", id="ema")

    def changed(self, name: str, value):
        """``value`` when the user changed it from what the detection filled in, else None."""
        return None if str(value) == str(self.prefill.get(name) or "") else value

    @on(Button.Pressed, "#convert")
    def action_convert(self) -> None:
        prediction = self.query_one("#prediction", Select).value
        arch = self.query_one("#arch", Select).value
        values = {
            "model": self.model_name,
            "arch": self.changed("arch", arch) if arch != "auto" else None,
            "prediction_type": None if prediction is Select.NULL else self.changed("prediction_type", prediction),
            "image_size": self.changed("image_size", self.query_one("#image-size", Input).value.strip()),
            "output_name": self.query_one("#output-name", Input).value,
            "half": self.query_one("#half", Checkbox).value,
            "ema": self.query_one("#ema", Checkbox).value,
        }
        params = checked_params(self, "convert", values, "Convert")
        if params is not None:
            self.dismiss(params)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
