"""Upscalers and face restorers as the WebUI's "extras" and hires fix use them.

Model files (ESRGAN/, RealESRGAN/, SwinIR/, ScuNET/, GFPGAN/, Codeformer/) are loaded by
spandrel, which recognises these architectures by their state-dict keys and shapes;
`.pth`/`.pt`/`.ckpt` go through the conversion engine's safe unpickler first. The
built-in "Lanczos" and "Nearest" resample with PIL, "None" leaves the image alone.

Sizes follow the WebUI's Upscaler.upscale: the target is the scaled size rounded down
to a multiple of 8; the model runs (at most three times) until the image is at least
that big, and LANCZOS resizes the result to the target exactly.

Large images are upscaled in tiles of `tile` pixels; each tile reads `tile_overlap`
pixels of its neighbours as context and only its own part of the output is kept, so
with an overlap at least the model's receptive field the seams are invisible (the
result equals the untiled one).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

from .errors import SpecError
from .model_files import read_model_file
from .model_ref import find_file

MODEL_EXTS = (".pth", ".pt", ".safetensors", ".ckpt")
MAX_PASSES = 3


def _torchvision_stand_in() -> list[str]:
    """Modules that let spandrel import where torchvision cannot (see import_spandrel)."""

    def unavailable(*_args, **_kwargs):
        raise SpecError("this model architecture needs torchvision, which is not installed in this environment")

    functional = types.ModuleType("torchvision.transforms.functional")
    functional.normalize = unavailable  # type: ignore[attr-defined]
    functional.rotate = unavailable  # type: ignore[attr-defined]
    functional.InterpolationMode = types.SimpleNamespace(BILINEAR="bilinear", NEAREST="nearest")  # type: ignore[attr-defined]
    transforms = types.ModuleType("torchvision.transforms")
    transforms.functional = functional  # type: ignore[attr-defined]
    root = types.ModuleType("torchvision")
    root.transforms = transforms  # type: ignore[attr-defined]
    stand_ins = {
        "torchvision": root,
        "torchvision.transforms": transforms,
        "torchvision.transforms.functional": functional,
    }
    sys.modules.update(stand_ins)
    return list(stand_ins)


def import_spandrel():
    """spandrel, imported even where torchvision cannot be.

    spandrel imports torchvision for two architectures we never load (LaMa inpainting and
    RestoreFormer). The CPU torch wheel CI pins has no matching torchvision on PyPI (the
    one there is built for CUDA and fails to import), so where torchvision is missing or
    broken a stand-in is put in place for spandrel's import only and removed right after:
    diffusers and transformers, which check for torchvision themselves, never see it.
    """
    try:
        return importlib.import_module("spandrel")
    except ImportError as exc:
        if "torchvision" not in str(exc) and importlib.util.find_spec("spandrel") is None:
            raise SpecError(
                "spandrel is not installed: the upscalers need it (pip install --no-deps spandrel==0.4.2)"
            ) from exc
    except RuntimeError:
        pass  # a torchvision built for another torch fails while registering its operators
    for name in [
        m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.") or m.startswith("spandrel")
    ]:
        del sys.modules[name]
    added = _torchvision_stand_in()
    try:
        return importlib.import_module("spandrel")
    finally:
        for name in added:
            sys.modules.pop(name, None)


def read_state_dict(path: Path) -> dict:
    spandrel = import_spandrel()
    # spandrel unwraps the publishers' containers (params_ema, …) itself.
    return spandrel.canonicalize_state_dict(read_model_file(path, unwrap=False))


def _extra_architectures(spandrel) -> None:
    """CodeFormer and friends live in spandrel-extra-arches (non-commercial licences): used where installed."""
    try:
        extra = importlib.import_module("spandrel_extra_arches")
    except ImportError:
        return
    try:
        extra.install()
    except ValueError:
        pass  # already installed into the registry


def load_descriptor(path: Path, device, half: bool):
    spandrel = import_spandrel()
    _extra_architectures(spandrel)
    try:
        descriptor = spandrel.ModelLoader().load_from_state_dict(read_state_dict(path))
    except spandrel.UnsupportedModelError as exc:
        raise SpecError(
            f"{path.name!r} is not a model architecture spandrel knows (ESRGAN, Real-ESRGAN, SwinIR, SCUNet, "
            "GFPGAN, …; CodeFormer needs spandrel-extra-arches)"
        ) from exc
    except (KeyError, RuntimeError, ValueError) as exc:
        raise SpecError(f"{path.name!r} could not be loaded: {str(exc).splitlines()[0][:300]}") from exc
    descriptor.to(device).eval()
    if half and descriptor.supports_half:
        descriptor.half()
    return descriptor


def target_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """The WebUI's destination size: scaled, rounded down to a multiple of 8."""
    return max(8, int(width * scale) // 8 * 8), max(8, int(height * scale) // 8 * 8)


def tiled(run, x, scale: int, tile: int, overlap: int):
    """`run` (a model on a (1, C, h, w) tensor) over `x` in tiles with `overlap` pixels of context."""
    import torch

    _, _, h, w = x.shape
    if tile <= 0 or (h <= tile and w <= tile):
        return run(x)
    out = None
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            py0, px0, py1, px1 = max(y0 - overlap, 0), max(x0 - overlap, 0), min(y1 + overlap, h), min(x1 + overlap, w)
            piece = run(x[:, :, py0:py1, px0:px1])
            if out is None:
                out = torch.zeros((1, piece.shape[1], h * scale, w * scale), dtype=piece.dtype, device=piece.device)
            oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
            out[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = piece[
                :, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
            ]
    return out


def to_tensor(image, device, dtype):
    import numpy as np
    import torch

    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).to(device, dtype)


def to_image(tensor):
    import numpy as np
    from PIL import Image

    array = tensor.squeeze(0).permute(1, 2, 0).float().clamp(0, 1).cpu().numpy()
    return Image.fromarray((array * 255).round().astype(np.uint8))


class ModelUpscaler:
    """An upscaler model file, run like the WebUI runs it."""

    def __init__(self, path: Path, device, half: bool = False) -> None:
        self.path = path
        self.name = path.name.rsplit(".", 1)[0]
        self.descriptor = load_descriptor(path, device, half)
        self.scale = int(self.descriptor.scale)
        self.device = device
        self.dtype = next(self.descriptor.model.parameters()).dtype

    def once(self, image, tile: int, overlap: int):
        import torch

        with torch.no_grad():
            out = tiled(self.descriptor, to_tensor(image, self.device, self.dtype), self.scale, tile, overlap)
        return to_image(out)

    def upscale(self, image, scale: float, tile: int = 0, overlap: int = 0):
        from PIL import Image

        dest = target_size(image.width, image.height, scale)
        for _ in range(MAX_PASSES):
            if image.width >= dest[0] and image.height >= dest[1]:
                break
            before = image.size
            image = self.once(image, tile, overlap)
            if image.size == before:  # a 1x model: one pass is all it does
                break
        return image if image.size == dest else image.resize(dest, Image.LANCZOS)


def resample(image, name: str, scale: float):
    """The built-in upscalers: None, Lanczos, Nearest."""
    from PIL import Image

    if name == "None":
        return image
    dest = target_size(image.width, image.height, scale)
    return image.resize(dest, Image.LANCZOS if name == "Lanczos" else Image.NEAREST)


def find_upscaler(channel: Path, name: str) -> Path:
    return find_file(channel, name.rsplit("/", 1)[-1], MODEL_EXTS, "upscaler")


class FaceRestorer:
    """GFPGAN (or CodeFormer) on the whole image as one face crop, blended by visibility.

    The WebUI first finds and aligns each face with facexlib; sdaws has no face detector,
    so the restorer sees the image resized to its 512x512 input: right for portrait
    crops and aligned faces, not for small faces in a larger picture.
    """

    SIZE = 512

    def __init__(self, path: Path, device, weight: float | None = None) -> None:
        self.descriptor = load_descriptor(path, device, half=False)
        self.name = path.name.rsplit(".", 1)[0]
        self.device = device
        self.weight = weight
        self.dtype = next(self.descriptor.model.parameters()).dtype

    def restore(self, image, visibility: float):
        import torch
        from PIL import Image

        if visibility <= 0:
            return image
        face = image.convert("RGB").resize((self.SIZE, self.SIZE), Image.LANCZOS)
        x = to_tensor(face, self.device, self.dtype) * 2 - 1  # these restorers take [-1, 1]
        with torch.no_grad():
            model = self.descriptor.model
            out = model(x, weight=self.weight)[0] if self.weight is not None else model(x)[0]
        restored = to_image((out + 1) / 2).resize(image.size, Image.LANCZOS)
        return Image.blend(image.convert("RGB"), restored, visibility)
