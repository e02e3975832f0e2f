"""Where a job runs torch and how fast: CUDA in fp16 when there is a GPU, else CPU fp32.

On CUDA the UNet and VAE use channels_last memory and PyTorch's fused scaled-dot-product
attention (SDPA), and the UNet can be compiled; these are what make the sdaws path
faster than a plain diffusers pipeline at its defaults (fp32, contiguous tensors).
On CPU every option is a no-op except fp32, so CI runs the very same code paths.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    dtype: torch.dtype

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def half(self) -> bool:
        return self.dtype == torch.float16


def pick_runtime(half: bool | None = None) -> Runtime:
    """CUDA if present. `half`: None means fp16 on CUDA and fp32 on CPU (CPU fp16 is slow and lossy)."""
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    use_half = (device.type == "cuda") if half is None else half
    if device.type == "cuda":
        # TF32 matmuls: same images to the eye, much faster for whatever stays in fp32.
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return Runtime(device, torch.float16 if use_half else torch.float32)


def optimize_pipeline(pipe, runtime: Runtime, compile_unet: bool = False):
    """Move `pipe` to the runtime's device and apply the CUDA speed-ups."""
    pipe.to(runtime.device)
    if not runtime.cuda:
        return pipe
    from diffusers.models.attention_processor import AttnProcessor2_0

    pipe.unet.set_attn_processor(AttnProcessor2_0())
    pipe.vae.set_attn_processor(AttnProcessor2_0())
    pipe.unet.to(memory_format=torch.channels_last)
    pipe.vae.to(memory_format=torch.channels_last)
    if compile_unet:
        pipe.unet = torch.compile(pipe.unet)
    return pipe


def generators(seeds: list[int]) -> list[torch.Generator]:
    """One CPU generator per image: the same seed gives the same noise on any device."""
    return [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
