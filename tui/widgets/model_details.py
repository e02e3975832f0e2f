"""The details pane beside the model tree: size, format, hash, architecture, tensors."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from sdaws.client import fmt
from sdaws.client.safe_text import printable


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
        rows = [
            ("Model", f"{info['type']}/{info['name']}"),
            ("Size", f"{fmt.size(info.get('size'))} ({fmt.count(info.get('size') or 0)} bytes)"),
            ("Modified", fmt.timestamp(info.get("modified"))),
            ("Format", str(info.get("format") or "—")),
            ("SHA-256", info.get("sha256") or "not computed yet"),
            ("Architecture", describe_architecture(info)),
        ]
        summary = info.get("safetensors")
        if summary:
            dtypes = ", ".join(f"{k} ×{v}" for k, v in sorted(summary.get("dtypes", {}).items()))
            rows.append(("Tensors", f"{summary.get('tensor_count')}  ({dtypes})"))
            rows.append(("Parameters", fmt.count(summary.get("parameter_count") or 0)))
            for key, value in sorted((summary.get("metadata") or {}).items())[:8]:
                rows.append((f"meta {key}", str(value)[:120]))
        conversions = info.get("conversions")
        rows.append(("Conversions", ", ".join(conversions) if conversions else "none yet"))
        rows.extend(("Warning", warning) for warning in info.get("warnings") or [])
        # Names, metadata and warnings come from the file: shown as plain text, never markup.
        self.rows = [(printable(label, single_line=True), printable(value)) for label, value in rows]
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for label, value in self.rows:
            table.add_row(Text(label), Text(value))
        self.update(table)
