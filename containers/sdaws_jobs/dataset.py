"""A training dataset: images plus same-stem captions, as kohya and the WebUI lay them out.

`cat.png` + `cat.txt` (or `cat.caption`; the spec's caption_extension is read first) is
one example; an image without a caption file gets the spec's default caption.

Without bucketing every image is resized (shorter side) and centre-cropped to a square
of the training resolution. With `enable_bucket`, kohya's buckets: every size with
sides between min_bucket_reso and max_bucket_reso in bucket_reso_steps steps and an area
up to resolution², each image in the bucket whose aspect ratio is nearest to its own,
resized to cover it and centre-cropped. Pixels are scaled to [-1, 1] as the VAE expects.

`shuffle_caption` shuffles the comma-separated tags of a caption each time it is used,
leaving the first `keep_tokens` tags in place (kohya's names and rule).
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from pathlib import Path

from .errors import SpecError
from .model_ref import IMAGE_EXTS

CAPTION_EXTS = (".txt", ".caption")


@dataclass
class Example:
    image: Path
    caption: str
    size: tuple[int, int] = (0, 0)  # (width, height) it trains at


def _caption(image: Path, default: str, first: str) -> str:
    for ext in (first, *(e for e in CAPTION_EXTS if e != first)):
        path = image.with_suffix(ext)
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    return default


def find_examples(channel: Path, default_caption: str, caption_extension: str = ".txt") -> list[Example]:
    """Every image under `channel` (sub-folders too: a job-input group may nest)."""
    if not channel.is_dir():
        raise SpecError("the dataset channel is missing: upload training images (and .txt/.caption captions)")
    examples = []
    # os.walk, not rglob: the runner may link a job-input group in as a folder symlink.
    paths = sorted(Path(root) / name for root, _, names in os.walk(channel, followlinks=True) for name in names)
    for path in paths:
        if path.is_file() and path.suffix.lower() in IMAGE_EXTS and not path.name.startswith("."):
            examples.append(Example(path, _caption(path, default_caption, caption_extension)))
    if not examples:
        raise SpecError(f"the dataset channel holds no images ({', '.join(IMAGE_EXTS)})")
    return examples


def make_buckets(resolution: int, min_reso: int, max_reso: int, steps: int) -> list[tuple[int, int]]:
    """kohya's make_bucket_resolutions: the square of the resolution plus every (w, h) pair
    with both sides in [min_reso, max_reso] on the step grid and w·h ≤ resolution²."""
    max_area = resolution * resolution
    side = int(math.sqrt(max_area) // steps) * steps
    found = {(side, side)}
    width = min_reso
    while width <= max_reso:
        height = min(max_reso, int((max_area // width) // steps) * steps)
        if height >= min_reso:
            found.add((width, height))
            found.add((height, width))
        width += steps
    return sorted(found)


def nearest_bucket(size: tuple[int, int], buckets: list[tuple[int, int]]) -> tuple[int, int]:
    aspect = size[0] / size[1]
    return min(buckets, key=lambda b: (abs(b[0] / b[1] - aspect), -b[0] * b[1]))


def assign_sizes(examples: list[Example], spec) -> None:
    """Give every example the size it trains at (a bucket, or the square of the resolution)."""
    from PIL import Image, UnidentifiedImageError

    if not spec.enable_bucket:
        for example in examples:
            example.size = (spec.resolution, spec.resolution)
        return
    buckets = make_buckets(spec.resolution, spec.min_bucket_reso, spec.max_bucket_reso, spec.bucket_reso_steps)
    for example in examples:
        try:
            with Image.open(example.image) as img:
                example.size = nearest_bucket(img.size, buckets)
        except (UnidentifiedImageError, OSError) as exc:
            raise SpecError(f"dataset image {example.image.name!r} is not readable: {exc}") from exc


def shuffle_caption(caption: str, keep_tokens: int, rng: random.Random) -> str:
    tags = [t.strip() for t in caption.split(",")]
    fixed, rest = tags[:keep_tokens], tags[keep_tokens:]
    rng.shuffle(rest)
    return ", ".join(t for t in fixed + rest if t)


def load_pixels(example: Example, size: tuple[int, int] | int):
    """The image as a (3, H, W) float tensor in [-1, 1], resized to cover `size` and centre-cropped."""
    import numpy as np
    import torch
    from PIL import Image, UnidentifiedImageError

    width, height = (size, size) if isinstance(size, int) else size
    try:
        with Image.open(example.image) as img:
            img = img.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise SpecError(f"dataset image {example.image.name!r} is not readable: {exc}") from exc
    scale = max(width / img.width, height / img.height)
    img = img.resize((max(width, round(img.width * scale)), max(height, round(img.height * scale))), Image.BICUBIC)
    left, top = (img.width - width) // 2, (img.height - height) // 2
    img = img.crop((left, top, left + width, top + height))
    array = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1)
