"""Architecture detection for model info, by the conversion engine's own rules.

The API reads only a checkpoint's safetensors header; `sdaws_jobs.convert.detection`
needs nothing more (keys and shapes), and ships in the Lambda bundle without torch.
"""

from __future__ import annotations

from pathlib import PurePath


class _HeaderOnly:
    """What `detect` reads from an open checkpoint: tensor infos and the file name."""

    def __init__(self, shapes: dict[str, list[int]], name: str) -> None:
        self.infos = {key: ("", tuple(shape)) for key, shape in shapes.items()}
        self.path = PurePath(name)


def describe_checkpoint(shapes: dict[str, list[int]], name: str) -> dict | None:
    try:
        from sdaws_jobs.convert.detection import detect
        from sdaws_jobs.errors import SpecError
    except ImportError:  # a bundle without the job package: no architecture, nothing else lost
        return None
    try:
        return detect(_HeaderOnly(shapes, name)).as_dict()
    except SpecError:  # a LoRA, VAE or foreign file in the wrong folder: nothing to detect
        return None
