"""Settings: API URL and token (saved to the user config dir) with Test Connection."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from sdaws.client.api import ApiClient, ApiError
from sdaws.client.config import Settings, Target
from tui.keymap import keys_of
from tui.workers import io_worker


class SettingsModal(ModalScreen[Settings | None]):
    """Dismisses with the new Settings on Save, None on Cancel."""

    BINDINGS = keys_of("SettingsModal")

    def __init__(self, settings: Settings, target: Target | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.settings = settings
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Settings", classes="dialog-title")
            if self.target is not None:
                yield Label(f"Now connected via: {self.target.source}", classes="dim", markup=False)
            yield Label("API URL (empty: run the API on this machine)")
            yield Input(self.settings.api_url, placeholder="https://….execute-api.….amazonaws.com/prod", id="api-url")
            yield Label("API token (x-api-key)")
            yield Input(self.settings.api_token, password=True, placeholder="token", id="api-token")
            yield Label("Local model root (local mode; empty: default)")
            yield Input(self.settings.models_dir, placeholder="e.g. ~/stable-diffusion-webui/models", id="models-dir")
            yield Label("", id="test-result", classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Test Connection", id="test")
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def _values(self) -> Settings:
        return Settings(
            api_url=self.query_one("#api-url", Input).value.strip(),
            api_token=self.query_one("#api-token", Input).value.strip(),
            models_dir=self.query_one("#models-dir", Input).value.strip(),
        )

    @on(Button.Pressed, "#test")
    def _test_pressed(self) -> None:
        values = self._values()
        if not values.api_url:
            self._result("Local mode: the API runs inside sdaws, nothing to test.", ok=True)
            return
        self._result("Testing…", ok=True)
        self._test(values)

    @io_worker(group="settings-test", title="Test Connection")
    def _test(self, values: Settings) -> None:
        try:
            with ApiClient(values.api_url, values.api_token, timeout=8.0) as client:
                ping = client.ping()
        except ApiError as exc:
            self.app.call_from_thread(self._result, f"✗ {exc}", False)
            return
        self.app.call_from_thread(
            self._result, f"✓ Connected: sdaws {ping.get('version')} ({ping.get('mode')} mode)", True
        )

    def _result(self, text: str, ok: bool) -> None:
        label = self.query_one("#test-result", Label)
        label.update(text)
        label.set_class(ok, "ok")
        label.set_class(not ok, "error")

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.dismiss(self._values())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
