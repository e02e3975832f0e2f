"""Architecture detection for the conversion engine: the contract's rules on an open checkpoint."""

from __future__ import annotations

from pathlib import Path

from sdaws.contract.architecture import ARCHS, Detection, detect_architecture

__all__ = ["ARCHS", "Detection", "detect"]


def _shapes_and_name(path_or_state_dict) -> tuple[dict[str, tuple], str]:
    if isinstance(path_or_state_dict, dict):
        return {k: tuple(v.shape) for k, v in path_or_state_dict.items() if hasattr(v, "shape")}, ""
    if hasattr(path_or_state_dict, "infos"):  # an open Source
        return {k: v[1] for k, v in path_or_state_dict.infos.items()}, path_or_state_dict.path.name
    from .source import Source

    with Source(Path(path_or_state_dict)) as src:
        return {k: v[1] for k, v in src.infos.items()}, src.path.name


def detect(path_or_state_dict, arch: str | None = None) -> Detection:
    """Detect the architecture of a checkpoint file, an open Source or a state dict."""
    shapes, name = _shapes_and_name(path_or_state_dict)
    return detect_architecture(shapes, name, arch)
