"""A training dataset: images plus same-stem .txt captions, as kohya and the WebUI lay them out.

`cat.png` + `cat.txt` is one example; an image without a caption file gets the spec's
default caption. Images are resized (shorter side) and centre-cropped to a square of
the training resolution, then scaled to [-1, 1] as the VAE expects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import SpecError
from .model_ref import IMAGE_EXTS


@dataclass
class Example:
    image: Path
    caption: str


def find_examples(channel: Path, default_caption: str) -> list[Example]:
    """Every image under `channel` (sub-folders too: a job-input group may nest)."""
    if not channel.is_dir():
        raise SpecError("the dataset channel is missing: upload training images (and .txt captions)")
    examples = []
    # os.walk, not rglob: the runner may link a job-input group in as a folder symlink.
    paths = sorted(Path(root) / name for root, _, names in os.walk(channel, followlinks=True) for name in names)
    for path in paths:
        if path.is_file() and path.suffix.lower() in IMAGE_EXTS and not path.name.startswith("."):
            caption_file = path.with_suffix(".txt")
            caption = caption_file.read_text(encoding="utf-8").strip() if caption_file.is_file() else default_caption
            examples.append(Example(path, caption))
    if not examples:
        raise SpecError(f"the dataset channel holds no images ({', '.join(IMAGE_EXTS)})")
    return examples


def load_pixels(example: Example, resolution: int):
    """The image as a (3, R, R) float tensor in [-1, 1]."""
    import numpy as np
    import torch
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(example.image) as img:
            img = img.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise SpecError(f"dataset image {example.image.name!r} is not readable: {exc}") from exc
    scale = resolution / min(img.size)
    img = img.resize(
        (max(resolution, round(img.width * scale)), max(resolution, round(img.height * scale))), Image.BICUBIC
    )
    left, top = (img.width - resolution) // 2, (img.height - resolution) // 2
    img = img.crop((left, top, left + resolution, top + resolution))
    array = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1)
