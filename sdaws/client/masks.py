"""An inpainting mask drawn as a rectangle (the TUI's Inpaint section, `generate --mask-rect`):
a PNG the size of the init image, white (repaint) inside the rectangle, black elsewhere."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path


def parse_rect(text: str) -> tuple[int, int, int, int]:
    """``"x,y,w,h"`` (pixels) -> the four numbers; ValueError says what to write."""
    parts = [p.strip() for p in text.replace("x", ",").split(",")] if text.count(",") == 3 else []
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{text!r} is not x,y,w,h (four whole numbers of pixels, e.g. 16,16,32,24)")
    x, y, w, h = (int(p) for p in parts)
    if not w or not h:
        raise ValueError("the rectangle's width and height must be above 0")
    return x, y, w, h


def rectangle_mask(init_image: Path, rect: str) -> Path:
    """A mask PNG for ``init_image`` with ``rect`` ("x,y,w,h") to repaint, in a fresh temp folder
    that goes when this process exits (the mask is uploaded with the job before then)."""
    from PIL import Image, UnidentifiedImageError

    x, y, w, h = parse_rect(rect)
    try:
        with Image.open(Path(init_image).expanduser()) as image:
            size = image.size
    except (OSError, UnidentifiedImageError):
        raise ValueError(
            f"the init image {Path(init_image).name} cannot be read, so the rectangle has no size"
        ) from None
    if x >= size[0] or y >= size[1]:
        raise ValueError(f"the rectangle starts outside the {size[0]}x{size[1]} init image")
    mask = Image.new("L", size, 0)
    mask.paste(255, (x, y, min(x + w, size[0]), min(y + h, size[1])))
    folder = Path(tempfile.mkdtemp(prefix="sdaws-mask-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "mask-rect.png"
    mask.save(path)
    return path
