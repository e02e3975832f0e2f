"""Tiny model files in the layouts the WebUI's folders hold, built by the tests.

Each builder follows the format's published description, not sdaws' loaders:
  * textual inversions as the WebUI's trainer saves them (textual_inversion.py
    Embedding.save: string_to_token / string_to_param / name / step / sd_checkpoint…),
    and the one-tensor `emb_params` safetensors layout;
  * a pickle that would run code when loaded the ordinary way.
"""

from __future__ import annotations

import os
from pathlib import Path


class CodeRunningPickle:
    """Pickles to os.system(command): loading it the ordinary way runs the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def webui_embedding_pt(path: Path, vectors) -> Path:
    """A `.pt` exactly as the WebUI's textual-inversion training writes it."""
    import torch

    vec = vectors.clone().requires_grad_(True)  # saved straight from the optimiser, as the WebUI does
    data = {
        "string_to_token": {"*": 265},
        "string_to_param": {"*": vec},
        "name": path.stem,
        "step": 500,
        "sd_checkpoint": "0123456789",
        "sd_checkpoint_name": "tiny",
    }
    torch.save(data, str(path))
    return path


def emb_params_safetensors(path: Path, vectors) -> Path:
    from safetensors.torch import save_file

    save_file({"emb_params": vectors.contiguous()}, str(path))
    return path


def code_running_pt(path: Path, marker: Path) -> Path:
    import torch

    torch.save({"string_to_param": {"*": CodeRunningPickle(f"touch {marker}")}}, str(path))
    return path


# --- upscalers and face restorers, in the layouts their projects publish -------------------


def _conv(state: dict, name: str, n_in: int, n_out: int, gen, kernel: int = 3, bias: bool = True) -> None:
    """Random weights scaled by fan-in, so a signal survives the layers (the output is not flat)."""
    import torch

    std = (1.0 / (n_in * kernel * kernel)) ** 0.5
    state[f"{name}.weight"] = torch.randn(n_out, n_in, kernel, kernel, generator=gen) * std
    if bias:
        state[f"{name}.bias"] = torch.randn(n_out, generator=gen) * 0.1


def _rrdbnet_state(dense: str, tail: tuple[str, str, str, str], nf: int, gc: int, blocks: int, seed: int) -> dict:
    """RRDBNet's weights, which both projects lay out alike and name differently: conv_first,
    `blocks` residual-in-residual blocks of three dense blocks of five convs (`dense` names
    each from b, r, k), `tail` (the trunk conv, the two 2x upsampling convs, the HR conv),
    conv_last."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    state: dict = {}
    _conv(state, "conv_first", 3, nf, gen)
    for b in range(blocks):
        for r in (1, 2, 3):
            for k in range(1, 6):
                _conv(state, dense.format(b=b, r=r, k=k), nf + (k - 1) * gc, nf if k == 5 else gc, gen)
    for name in tail:
        _conv(state, name, nf, nf, gen)
    _conv(state, "conv_last", nf, 3, gen)
    state["conv_last.bias"] += 0.5  # mid-grey output, so pixels vary inside [0, 1] instead of clipping
    return state


def esrgan_4x_state(nf: int = 8, gc: int = 32, blocks: int = 1, seed: int = 0) -> dict:
    """xinntao/ESRGAN's RRDBNet (RRDB_arch.py) as RRDB_ESRGAN_x4.pth holds it: conv_first,
    RRDB_trunk.<i>.RDB<1-3>.conv<1-5>, trunk_conv, upconv1, upconv2 (4x), HRconv, conv_last.
    The growth channels stay the published 32 (loaders assume it); the width and depth shrink."""
    tail = ("trunk_conv", "upconv1", "upconv2", "HRconv")
    return _rrdbnet_state("RRDB_trunk.{b}.RDB{r}.conv{k}", tail, nf, gc, blocks, seed)


def realesrgan_4x_state(nf: int = 8, gc: int = 32, blocks: int = 1, seed: int = 1) -> dict:
    """BasicSR's RRDBNet as RealESRGAN_x4plus.pth holds it, inside "params_ema": conv_first,
    body.<i>.rdb<1-3>.conv<1-5>, conv_body, conv_up1, conv_up2, conv_hr, conv_last."""
    tail = ("conv_body", "conv_up1", "conv_up2", "conv_hr")
    return {"params_ema": _rrdbnet_state("body.{b}.rdb{r}.conv{k}", tail, nf, gc, blocks, seed)}


def swinir_2x_state(seed: int = 2) -> dict:
    """A tiny classical-SR SwinIR (2x, pixelshuffle) as the official releases hold it: {"params": …}.
    Built with the SwinIR code spandrel carries (copied from the SwinIR repository)."""
    import torch

    from sdaws_jobs.upscalers import import_spandrel

    import_spandrel()
    from spandrel.architectures.SwinIR import SwinIR

    torch.manual_seed(seed)
    model = SwinIR(
        img_size=16,
        embed_dim=12,
        depths=[1],
        num_heads=[2],
        window_size=4,
        mlp_ratio=2.0,
        upscale=2,
        upsampler="pixelshuffle",
        resi_connection="1conv",
    )
    return {"params": model.state_dict()}


def gfpgan_state(seed: int = 3) -> dict:
    """GFPGANv1.4.pth's layout ({"params_ema": …}): the full-size GFPGANv1Clean, random weights in fp16."""
    import torch

    from sdaws_jobs.upscalers import import_spandrel

    import_spandrel()
    from spandrel.architectures.GFPGAN import GFPGAN

    torch.manual_seed(seed)
    model = GFPGAN(
        out_size=512,
        num_style_feat=512,
        channel_multiplier=2,
        decoder_load_path=None,
        fix_decoder=False,
        num_mlp=8,
        input_is_latent=True,
        different_w=True,
        narrow=1,
        sft_half=True,
    )
    return {"params_ema": {k: v.half() for k, v in model.state_dict().items()}}


def save_pth(state: dict, path: Path) -> Path:
    import torch

    torch.save(state, str(path))
    return path


# --- TAESD: madebyollin/taesd's decoder, keys named by its nn.Sequential indices ----------


def taesd_decoder_state(latent_channels: int = 4, seed: int = 4) -> dict:
    """taesd_decoder.pth's keys, written out from taesd.py's Decoder: Clamp, conv, ReLU, then three
    times (3 Blocks, Upsample, conv without bias), a last Block and the RGB conv."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    state: dict = {}
    _conv(state, "1", latent_channels, 64, gen)
    index = 3
    for stage in range(4):
        for _ in range(3 if stage < 3 else 1):
            for k in (0, 2, 4):  # Block.conv = conv, ReLU, conv, ReLU, conv
                _conv(state, f"{index}.conv.{k}", 64, 64, gen)
            index += 1
        if stage < 3:
            index += 1  # Upsample: no weights
            _conv(state, f"{index}", 64, 64, gen, bias=False)
            index += 1
    _conv(state, f"{index}", 64, 3, gen)
    return state


# --- ControlNet: the WebUI ControlNet extension's single-file layout ------------------------


def random_controlnet(unet, seed: int = 5):
    """A diffusers ControlNetModel shaped for `unet`, every weight random (its zero convs too, so
    the control image matters from the first step)."""
    import torch
    from diffusers import ControlNetModel

    torch.manual_seed(seed)
    model = ControlNetModel.from_unet(unet, load_weights_from_unet=False)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * 0.1)
    return model


def _controlnet_only_names(key: str) -> str | None:
    """cldm.py's names for what a ControlNet has beyond the UNet's encoder: input_hint_block is
    conv, SiLU, … (convs at 0, 2, …, 14), zero_convs.<i>.0 and middle_block_out.0 are 1x1 convs."""
    import re

    if key.startswith("controlnet_cond_embedding.conv_in."):
        return "input_hint_block.0." + key.rsplit(".", 1)[1]
    if m := re.match(r"controlnet_cond_embedding\.blocks\.(\d+)\.(\w+)$", key):
        return f"input_hint_block.{2 * (int(m.group(1)) + 1)}.{m.group(2)}"
    if key.startswith("controlnet_cond_embedding.conv_out."):
        return "input_hint_block.14." + key.rsplit(".", 1)[1]
    if m := re.match(r"controlnet_down_blocks\.(\d+)\.(\w+)$", key):
        return f"zero_convs.{m.group(1)}.0.{m.group(2)}"
    if key.startswith("controlnet_mid_block."):
        return "middle_block_out.0." + key.rsplit(".", 1)[1]
    return None


def webui_controlnet_file(model, path: Path) -> Path:
    """Write `model` as the WebUI extension's single files are (control_model.<ldm names>).

    The encoder part is the UNet's, so it is named by the original UNet layout (sdaws'
    table); the ControlNet's own layers by cldm.py. Reading it back goes through
    diffusers' converter, which is independent of both.
    """
    from safetensors.torch import save_file

    from sdaws_jobs.convert.keymap_unet import UNET_PREFIX, UNetNames, layout_from_config

    names = UNetNames(layout_from_config(dict(model.config)))
    out = {}
    for key, tensor in model.state_dict().items():
        original = _controlnet_only_names(key) or names.to_original(key)
        if original is None:
            raise KeyError(f"no original name for {key}")
        original = original.removeprefix(UNET_PREFIX)
        out[f"control_model.{original}"] = tensor.contiguous()
    save_file(out, str(path))
    return path
