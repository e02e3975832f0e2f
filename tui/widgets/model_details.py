"""The details pane beside the model tree: size, format, hash, architecture, tensors."""

from __future__ import annotations

from rich.table import Table
from textual.widgets import Static

from tui import fmt


def describe_architecture(info: dict) -> str:
    """The server's detection (the conversion engine's rules), in one line."""
    found = info.get("architecture")
    if not found:
        return "— (not a checkpoint the engine recognises)" if info.get("type") == "Stable-diffusion" else "—"
    return f"{found['arch']} · {found['prediction_type']} · {found['image_size']}px"


class ModelDetails(Static):
    """Shows one model's info; empty text when nothing is highlighted.

    ``rows`` keeps what is shown as plain (label, value) pairs for tests and copy.
    """

    rows: list[tuple[str, str]] = []

    def show_nothing(self, hint: str = "Highlight a model to see its details.") -> None:
        self.rows = []
        self.update(hint)

    def show_loading(self, type_: str, name: str) -> None:
        self.update(f"{type_}/{name}\n\nloading…")

    def show_info(self, info: dict) -> None:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        table.add_row("Model", f"{info['type']}/{info['name']}")
        table.add_row("Size", f"{fmt.size(info.get('size'))} ({fmt.count(info.get('size') or 0)} bytes)")
        table.add_row("Modified", fmt.timestamp(info.get("modified")))
        table.add_row("Format", str(info.get("format") or "—"))
        table.add_row("SHA-256", info.get("sha256") or "not computed yet")
        table.add_row("Architecture", describe_architecture(info))
        summary = info.get("safetensors")
        if summary:
            dtypes = ", ".join(f"{k} ×{v}" for k, v in sorted(summary.get("dtypes", {}).items()))
            table.add_row("Tensors", f"{summary.get('tensor_count')}  ({dtypes})")
            table.add_row("Parameters", fmt.count(summary.get("parameter_count") or 0))
            for key, value in sorted((summary.get("metadata") or {}).items())[:8]:
                table.add_row(f"meta {key}", str(value)[:120])
        conversions = info.get("conversions")
        table.add_row("Conversions", ", ".join(conversions) if conversions else "none yet")
        for warning in info.get("warnings") or []:
            table.add_row("Warning", warning)
        self.rows = [(str(r[0]), str(r[1])) for r in zip(*(c._cells for c in table.columns))]
        self.update(table)
