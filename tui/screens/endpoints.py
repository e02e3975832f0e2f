"""The Endpoints view (`e`): the inference endpoints txt2img and img2img run on.

On AWS each row is a SageMaker async endpoint with its status and scaling (the first
txt2img creates "default"; a new one takes about ten minutes before it serves); `+`/`-`
change its maximum instances, `d` deletes it (asks first). Locally there is one row,
`local`: this machine. The list is asked for again every REFRESH_S only while an
endpoint is changing (Creating, Updating, Deleting…): a settled list sends nothing. Untrusted text is shown as plain text, never as markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label

from sdaws.client.api import ApiClient
from sdaws.client.safe_text import printable
from tui.keymap import keys_of
from tui.screens.confirm import ConfirmModal
from tui.workers import io_worker

COLUMNS = ("Name", "Status", "Instance type", "Min", "Max", "Now")
REFRESH_S = 10.0
# SageMaker's EndpointStatus values that change no more by themselves.
SETTLED = frozenset({"InService", "Failed", "OutOfService", "UpdateRollbackFailed"})


class EndpointsScreen(ModalScreen[None]):
    BINDINGS = keys_of("EndpointsScreen")

    def __init__(self, client: ApiClient) -> None:
        super().__init__(classes="dialog-screen")
        self.client = client
        self.endpoints: list[dict] = []
        self.mode = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Endpoints", classes="dialog-title")
            yield DataTable(id="endpoints-table", cursor_type="row", zebra_stripes=True)
            yield Label("", id="endpoints-note", classes="dialog-body", markup=False)
            yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.action_refresh()
        self.set_interval(REFRESH_S, self._tick)  # a new endpoint goes Creating -> InService

    def changing(self) -> bool:
        return self.mode != "local" and any(e.get("status") not in SETTLED for e in self.endpoints)

    def _tick(self) -> None:
        if self.changing():
            self.action_refresh()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)

    @io_worker(group="endpoints", title="Endpoints")
    def action_refresh(self) -> None:
        listed = self.client.list_endpoints()
        self.app.call_from_thread(self._show, listed)

    def _show(self, listed: dict) -> None:
        self.endpoints, self.mode = listed.get("endpoints", []), listed.get("mode", "")
        table = self.query_one(DataTable)
        table.clear()
        for e in self.endpoints:
            now = e.get("current_instances")
            row = (
                e["name"],
                e.get("status", ""),
                e.get("instance_type", ""),
                e.get("min_instances"),
                e.get("max_instances"),
                now if now is not None else "-",
            )
            table.add_row(*(printable(v, single_line=True) for v in row), key=e["name"])
        if not self.endpoints:
            note = "No endpoints yet: the first txt2img creates 'default' (about 10 minutes before it serves)."
        elif self.mode == "local":
            note = "Local mode: jobs run on this machine; there is nothing to create or scale."
        else:
            note = "+/- max instances · d delete · r refresh (min 0: an idle endpoint costs nothing)"
        self.query_one("#endpoints-note", Label).update(note)

    def _highlighted(self) -> dict | None:
        table = self.query_one(DataTable)
        if not self.endpoints or table.cursor_row is None or table.cursor_row >= len(self.endpoints):
            return None
        return self.endpoints[table.cursor_row]

    def action_scale(self, step: int) -> None:
        endpoint = self._highlighted()
        if endpoint is None or self.mode == "local":
            return
        wanted = max(1, int(endpoint.get("max_instances") or 1) + step)
        self._put(endpoint, max(wanted, int(endpoint.get("min_instances") or 0)))

    @io_worker(group="endpoint-change", title="Endpoint")
    def _put(self, endpoint: dict, max_instances: int) -> None:
        self.client.put_endpoint(
            endpoint["name"], endpoint["instance_type"], endpoint.get("min_instances"), max_instances
        )
        self.app.call_from_thread(self.notify, f"{endpoint['name']}: up to {max_instances} instances", markup=False)
        self.action_refresh()

    def action_delete(self) -> None:
        endpoint = self._highlighted()
        if endpoint is None or self.mode == "local":
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(endpoint["name"])

        question = f"Delete endpoint {printable(endpoint['name'])}? Jobs sent to it afterwards create it again."
        self.app.push_screen(ConfirmModal(question, yes="Delete endpoint", title="Delete endpoint"), answered)

    @io_worker(group="endpoint-change", title="Endpoint")
    def _delete(self, name: str) -> None:
        self.client.delete_endpoint(name)
        self.app.call_from_thread(self.notify, f"Deleted endpoint {name}", markup=False)
        self.action_refresh()
