"""Where a job runs torch and how fast: CUDA in fp16 when there is a GPU, else CPU fp32.

On CUDA the UNet and VAE use channels_last memory and PyTorch's fused scaled-dot-product
attention (SDPA), and the UNet can be compiled; these are what make the sdaws path
faster than a plain diffusers pipeline at its defaults (fp32, contiguous tensors).
On CPU every option is a no-op except fp32, so CI runs the very same code paths.

On a SageMaker GPU instance the job never falls back to the CPU silently: an image whose
CUDA build the host's NVIDIA driver cannot run (an async endpoint's default AMI has
driver 470) would otherwise generate for hours on the CPU. The instance type comes from
SDAWS_INSTANCE_TYPE (the launcher sets it) or SageMaker's resourceconfig.json.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

GPU_INSTANCE_FAMILIES = ("ml.g", "ml.p")  # ml.g4dn, ml.g5, ml.g6, ml.p3 … carry NVIDIA GPUs
RESOURCE_CONFIG = Path("/opt/ml/input/config/resourceconfig.json")


class NoGpu(RuntimeError):
    """A GPU instance whose GPU torch cannot use."""


def instance_type() -> str | None:
    """The SageMaker instance type this job runs on, or None (local runs, tests)."""
    named = os.environ.get("SDAWS_INSTANCE_TYPE")
    if named:
        return named
    try:
        return json.loads(RESOURCE_CONFIG.read_text()).get("current_instance_type") or None
    except (OSError, ValueError, AttributeError):
        return None


def require_gpu_where_expected() -> None:
    """Raise NoGpu on a GPU instance type when CUDA is not available to torch."""
    kind = instance_type()
    if not kind or not kind.startswith(GPU_INSTANCE_FAMILIES) or torch.cuda.is_available():
        return
    raise NoGpu(
        f"{kind} has an NVIDIA GPU but torch {torch.__version__} (built for CUDA {torch.version.cuda or 'none'}) "
        "cannot use it: the host's NVIDIA driver is older than this CUDA build, or this is a CPU build of torch. "
        "Refusing to run on the CPU. Async endpoints need InferenceAmiVersion "
        "al2023-ami-sagemaker-inference-gpu-4-1 (driver 580); check the image's torch with "
        "python -c 'import torch; print(torch.version.cuda)'."
    )


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
    require_gpu_where_expected()
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
