"""What the CLI tests type for tiny jobs on the test models: one place, so each test shows
only what it is about (the prompt, the input, the flag under test)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

# `tiny-sd` is the checkpoint tests.support.job_server builds; 32 px and 2 steps keep a CPU job short.
TINY_IMAGE = ("--model", "tiny-sd", "--steps", "2", "--width", "32", "--height", "32")
TINY_TRAIN = ("--model", "tiny-sd", "--resolution", "32")


def captioned_dataset(folder: Path, colours: tuple[str, ...] = ("red", "blue")) -> Path:
    """A training folder as a user keeps one: a 32 px image per colour, each with its caption."""
    folder.mkdir()
    for i, colour in enumerate(colours):
        Image.new("RGB", (32, 32), colour).save(folder / f"img{i}.png")
        (folder / f"img{i}.txt").write_text(f"a {colour} square")
    return folder


def solid_image(path: Path, colour: str) -> Path:
    Image.new("RGB", (32, 32), colour).save(path)
    return path
