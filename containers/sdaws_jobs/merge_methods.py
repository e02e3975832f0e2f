"""The merge formulas, one tensor at a time (fp32), with M the multiplier for that tensor:

    weighted_sum      (1 - M)·A + M·B
    add_difference    A + M·(B - C)
    sigmoid           A + (B - A)·s,  s = M²(3 - 2M)                 (the WebUI's old "Sigmoid")
    inverse_sigmoid   A + (B - A)·s,  s = 0.5 - sin(asin(1 - 2M) / 3)
    slerp             sin((1-M)ω)/sin ω · A + sin(Mω)/sin ω · B, ω the angle between A and B
                      flattened (plain weighted sum where they are (anti)parallel or zero)
    ties              C + M·merge(τ_A, τ_B), τ = X - C trimmed to the `density` share of
                      largest magnitudes (with `dare`: each element kept with probability
                      `density`, seeded, and the kept ones divided by `density`); merge takes
                      the sign of τ_A + τ_B per element and averages the τ that agree with it
    no_interpolation  A

Block-weighted (MBW): M is the block's weight for UNet tensors (IN00…IN11, M00,
OUT00…OUT11 of the WebUI MBW extension; SDXL IN00…IN08, M00, OUT00…OUT08) and the spec's
multiplier ("base alpha") for everything else. DARE's mask for tensor `key` comes from
torch.Generator().manual_seed(seed + crc32(f"{i}:{key}")) and torch.rand(shape) < density, i = 0
for τ_A, 1 for τ_B.
"""

from __future__ import annotations

import math
import re
import zlib

from sdaws.contract.specs import MBW_BLOCKS_SD, MBW_BLOCKS_SDXL, MergeSpec

UNET = "model.diffusion_model."
_BLOCK = re.compile(r"^model\.diffusion_model\.(input_blocks|middle_block|output_blocks)\.(\d+)?")
SLERP_PARALLEL = 0.9995


def block_multiplier(spec: MergeSpec, key: str) -> float:
    """M for this tensor: its UNet block's weight under MBW, else the multiplier."""
    weights = spec.block_weights
    if not weights:
        return spec.multiplier
    match = _BLOCK.match(key)
    if not match:
        return spec.multiplier
    names = MBW_BLOCKS_SD if len(weights) == len(MBW_BLOCKS_SD) else MBW_BLOCKS_SDXL
    kind, index = match.group(1), match.group(2)
    if kind == "middle_block":
        name = "M00"
    else:
        name = f"{'IN' if kind == 'input_blocks' else 'OUT'}{int(index or 0):02d}"
    if name not in names:
        raise ValueError(f"{key}: block {name} has no weight in a {len(weights)}-weight MBW list")
    return weights[names.index(name)]


def _smoothstep(m: float) -> float:
    return m * m * (3 - 2 * m)


def _inverse_smoothstep(m: float) -> float:
    return 0.5 - math.sin(math.asin(max(-1.0, min(1.0, 1.0 - 2.0 * m))) / 3.0)


def slerp(a, b, m: float):
    import torch

    fa, fb = a.flatten(), b.flatten()
    na, nb = torch.linalg.vector_norm(fa), torch.linalg.vector_norm(fb)
    if na == 0 or nb == 0:
        return a * (1 - m) + b * m
    dot = torch.clamp(torch.dot(fa / na, fb / nb), -1.0, 1.0)
    if abs(float(dot)) > SLERP_PARALLEL:
        return a * (1 - m) + b * m
    omega = torch.arccos(dot)
    so = torch.sin(omega)
    return (torch.sin((1 - m) * omega) / so) * a + (torch.sin(m * omega) / so) * b


def _sparsify(delta, spec: MergeSpec, key: str, which: int):
    import torch

    if spec.density >= 1:
        return delta
    if spec.dare:
        gen = torch.Generator().manual_seed(spec.seed + zlib.crc32(f"{which}:{key}".encode()))
        keep = torch.rand(delta.shape, generator=gen) < spec.density
        return delta * keep / spec.density
    count = delta.numel()
    k = max(1, math.ceil(spec.density * count))
    if k >= count:
        return delta
    threshold = torch.topk(delta.abs().flatten(), k).values[-1]
    return delta * (delta.abs() >= threshold)


def ties(a, b, c, m: float, spec: MergeSpec, key: str):
    import torch

    deltas = torch.stack([_sparsify(a - c, spec, key, 0), _sparsify(b - c, spec, key, 1)])
    sign = torch.sign(deltas.sum(dim=0))
    agree = (torch.sign(deltas) == sign) & (deltas != 0)
    count = agree.sum(dim=0).clamp(min=1)
    merged = (deltas * agree).sum(dim=0) / count
    return c + m * merged


def merged_tensor(spec: MergeSpec, key: str, a, b, c):
    """The merged fp32 tensor for `key` from A, B (and C where the mode takes it)."""
    m = block_multiplier(spec, key)
    a32 = a.float()
    if spec.mode == "no_interpolation":
        return a32
    b32 = b.float()
    if spec.mode == "weighted_sum":
        return a32 * (1 - m) + b32 * m
    if spec.mode == "add_difference":
        return a32 + (b32 - c.float()) * m
    if spec.mode == "sigmoid":
        return a32 + (b32 - a32) * _smoothstep(m)
    if spec.mode == "inverse_sigmoid":
        return a32 + (b32 - a32) * _inverse_smoothstep(m)
    if spec.mode == "slerp":
        return slerp(a32, b32, m)
    if spec.mode == "ties":
        return ties(a32, b32, c.float(), m, spec, key)
    raise ValueError(f"unknown merge mode {spec.mode!r}")
