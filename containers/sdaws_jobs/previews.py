"""Live previews while denoising: every N steps a small image of the current latents.

Two decoders, as the WebUI has them (modules/sd_vae_taesd.py, sd_samplers_common.py):
  * TAESD, when `VAE-approx/` holds `taesd_decoder.pth` (SD1/SD2) or
    `taesdxl_decoder.pth` (SDXL): madebyollin's tiny decoder, full-size previews;
  * otherwise the WebUI's "Approx cheap": a fixed 4x3 linear map from latent channels
    to RGB, previews at latent size, no weights needed.
Each preview is written to previews/<image>-step-<n>.png and announced by an `output`
event (type "previews", with `step` and `image`) the moment it exists, so a client sees
it while the job still runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sdaws.contract.outputs import PREVIEWS_FOLDER

from . import progress
from .errors import SpecError
from .model_files import read_model_file

# Latent channel -> RGB weights of the WebUI's cheap approximation.
CHEAP_SD = ((0.298, 0.207, 0.208), (0.187, 0.286, 0.173), (-0.158, 0.189, 0.264), (-0.184, -0.271, -0.473))
CHEAP_SDXL = (
    (0.3448, 0.4168, 0.4395),
    (-0.1953, -0.0290, 0.0250),
    (0.1074, 0.0886, -0.0163),
    (-0.3730, -0.2499, -0.2088),
)
TAESD_NAMES = {False: "taesd_decoder", True: "taesdxl_decoder"}
TAESD_WIDTH = 64


def taesd_decoder(latent_channels: int = 4):
    """The TAESD decoder as published (taesd.py): its state-dict keys are the Sequential indices."""
    import torch
    from torch import nn

    def conv(n_in, n_out, **kwargs):
        return nn.Conv2d(n_in, n_out, 3, padding=1, **kwargs)

    class Clamp(nn.Module):
        def forward(self, x):
            return torch.tanh(x / 3) * 3

    class Block(nn.Module):
        def __init__(self, n_in, n_out):
            super().__init__()
            self.conv = nn.Sequential(conv(n_in, n_out), nn.ReLU(), conv(n_out, n_out), nn.ReLU(), conv(n_out, n_out))
            self.skip = nn.Conv2d(n_in, n_out, 1, bias=False) if n_in != n_out else nn.Identity()
            self.fuse = nn.ReLU()

        def forward(self, x):
            return self.fuse(self.conv(x) + self.skip(x))

    w = TAESD_WIDTH
    layers = [Clamp(), conv(latent_channels, w), nn.ReLU()]
    for _ in range(3):
        layers += [Block(w, w), Block(w, w), Block(w, w), nn.Upsample(scale_factor=2), conv(w, w, bias=False)]
    layers += [Block(w, w), conv(w, 3)]
    return nn.Sequential(*layers)


def load_taesd(path: Path):
    import torch

    state = read_model_file(path, "preview decoder ")
    channels = state.get("1.weight")
    if not isinstance(channels, torch.Tensor) or channels.dim() != 4:
        raise SpecError(f"{path.name!r} is not a TAESD decoder (no 1.weight conv)")
    decoder = taesd_decoder(channels.shape[1])
    try:
        decoder.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise SpecError(f"{path.name!r} is not a TAESD decoder: {str(exc).splitlines()[0]}") from exc
    return decoder.eval()


def cheap_approximation(latents, sdxl: bool):
    """(B, 4, h, w) latents -> (B, 3, h, w) in [-1, 1], the WebUI's "Approx cheap"."""
    import torch

    coefs = torch.tensor(CHEAP_SDXL if sdxl else CHEAP_SD, dtype=torch.float32, device=latents.device)
    return torch.einsum("...lxy,lr -> ...rxy", latents.float(), coefs)


class Previews:
    """Decodes latents to preview PNGs every `every` steps and announces each."""

    def __init__(self, every: int, layout, sdxl: bool, decoder=None) -> None:
        self.every = every
        self.layout = layout
        self.sdxl = sdxl
        self.decoder = decoder
        self.method = "TAESD" if decoder is not None else "Approx cheap"
        # Called with each preview file once written (the serving container uploads it at once).
        self.on_written: Callable[[Path], object] | None = None

    @classmethod
    def for_job(cls, every: int, layout, sdxl: bool, channel: Path | None) -> Previews | None:
        if every <= 0:
            return None
        decoder = None
        if channel is not None and channel.is_dir():
            wanted = TAESD_NAMES[sdxl]
            found = [p for p in sorted(channel.iterdir()) if p.name.rsplit(".", 1)[0] == wanted]
            if found:
                decoder = load_taesd(found[0])
        previews = cls(every, layout, sdxl, decoder)
        progress.message(f"live previews every {every} steps ({previews.method})")
        return previews

    def images(self, latents) -> list:
        import numpy as np
        import torch
        from PIL import Image

        with torch.no_grad():
            if self.decoder is not None:
                self.decoder.to(latents.device)
                rgb = self.decoder(latents.float()).clamp(0, 1)
            else:
                rgb = ((cheap_approximation(latents, self.sdxl) + 1) / 2).clamp(0, 1)
        arrays = (rgb.permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
        return [Image.fromarray(a) for a in arrays]

    def emit(self, step: int, latents, first_index: int) -> None:
        """At every `every`-th step: one preview per image of the batch whose first image is `first_index`."""
        if step % self.every:
            return
        for j, image in enumerate(self.images(latents)):
            name = f"{first_index + j:05d}-step-{step:04d}.png"
            target = self.layout.output_path(PREVIEWS_FOLDER, name)
            partial = target.with_suffix(".png.partial")
            image.save(partial, format="PNG")
            partial.replace(target)  # a reader never sees half a PNG
            if self.on_written is not None:
                self.on_written(target)
            progress.output(self.layout.relative(target), PREVIEWS_FOLDER, name, step=step, image=first_index + j)
