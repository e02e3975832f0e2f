"""diffusers / peft LoRA weights -> kohya-format safetensors for the WebUI's Lora/ folder.

Kohya names a LoRA module by its path in the model it patches with dots turned to
underscores: `lora_unet_<module>`, `lora_te_<module>` (SDXL: `lora_te1_`, `lora_te2_`),
each with `.lora_down.weight` (peft's lora_A), `.lora_up.weight` (lora_B) and `.alpha`.
For SD1/SD2 the UNet path is the diffusers one; for SDXL kohya uses the original sgm
path (`input_blocks.4.1...`), which the UNet name table gives.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import torch

from .atomic import atomic_file
from .errors import ConvertError
from .keymap_unet import UNET_PREFIX, UNetLayout, UNetNames, layout_from_config
from .st_io import write_file
from .writer import tensor_entry

SDXL_LAYOUT = UNetLayout(levels=3, layers=2, attention=(False, True, True))
_COMPONENTS = (
    ("unet.", "unet"),
    ("text_encoder_2.", "te2"),
    ("text_encoder.", "te"),
    ("te2.", "te2"),
    ("te1.", "te"),
    ("te.", "te"),
)
_PART = re.compile(
    r"^(?P<module>.+?)\.(?:lora_(?P<ab>[AB])(?:\.[\w-]+)?|lora\.(?P<du>down|up)|lora_(?P<k>down|up))\.weight$"
)


def _read(src) -> tuple[dict[str, torch.Tensor], dict]:
    if isinstance(src, dict):
        return src, {}
    path = Path(src)
    config = {}
    if path.is_dir():
        if (path / "adapter_config.json").is_file():
            config = json.loads((path / "adapter_config.json").read_text())
        files = sorted(path.glob("*.safetensors"))
        if not files:
            raise ConvertError(f"{path} holds no .safetensors LoRA weights")
        path = files[0]
    from .source import load_checkpoint

    return load_checkpoint(path), config


def _split(key: str) -> tuple[str, str, str] | None:
    """(component, module path, 'down'|'up') for a LoRA weight key, else None."""
    key = key.removeprefix("base_model.model.")
    component = "unet"
    for prefix, name in _COMPONENTS:
        if key.startswith(prefix):
            component, key = name, key[len(prefix) :]
            break
    m = _PART.match(key)
    if not m:
        return None
    which = {"A": "down", "B": "up"}.get(m.group("ab") or "", m.group("du") or m.group("k"))
    return component, m.group("module"), which


def _kohya_name(component: str, module: str, sdxl: bool, unet_names: UNetNames | None) -> str:
    if component == "unet":
        if sdxl:
            original = unet_names.to_original(module + ".weight")
            if original is None:
                raise ConvertError(f"LoRA module {module} is not part of the SDXL UNet")
            module = original[len(UNET_PREFIX) : -len(".weight")]
        return "lora_unet_" + module.replace(".", "_")
    if not module.startswith("text_model."):
        module = "text_model." + module
    head = {"te": "lora_te1_" if sdxl else "lora_te_", "te2": "lora_te2_"}[component]
    return head + module.replace(".", "_")


def export_lora(
    lora,
    output_file: Path,
    *,
    alpha: float | dict | None = None,
    sdxl: bool | None = None,
    unet_config: dict | None = None,
    half: bool = False,
    overwrite: bool = False,
    metadata: dict[str, str] | None = None,
) -> dict:
    """Write a kohya LoRA file from a diffusers/peft LoRA state dict (or a folder holding one).

    `alpha`: peft's lora_alpha (a number, or {module: alpha}); default is the adapter
    config's lora_alpha, else the rank (scale 1.0, which is how diffusers applies a
    LoRA saved without alphas). `sdxl`: default true when text_encoder_2 weights are present.
    """
    started = time.monotonic()
    output_file = Path(output_file)
    if output_file.suffix != ".safetensors":
        raise ConvertError(f"LoRA output must end in .safetensors, not {output_file.name!r}")
    sd, config = _read(lora)
    parts: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        hit = _split(key)
        if hit is None or not isinstance(value, torch.Tensor):
            continue
        parts.setdefault(hit[:2], {})[hit[2]] = value
    if not parts:
        raise ConvertError("no LoRA weights found (expected keys ending in lora_A/lora_B or lora.down/lora.up .weight)")
    if sdxl is None:
        sdxl = any(c == "te2" for c, _ in parts)
    names = UNetNames(layout_from_config(unet_config) if unet_config else SDXL_LAYOUT) if sdxl else None
    default_alpha = alpha if isinstance(alpha, (int, float)) else config.get("lora_alpha")
    per_module = alpha if isinstance(alpha, dict) else config.get("alpha_pattern") or {}
    entries = []
    for (component, module), pair in sorted(parts.items()):
        if set(pair) != {"down", "up"}:
            raise ConvertError(f"LoRA module {module} has only its {'/'.join(pair)} weight")
        name = _kohya_name(component, module, sdxl, names)
        rank = pair["down"].shape[0]
        a = per_module.get(module, default_alpha if default_alpha is not None else rank)
        entries += [
            tensor_entry(f"{name}.lora_down.weight", pair["down"], half),
            tensor_entry(f"{name}.lora_up.weight", pair["up"], half),
            tensor_entry(f"{name}.alpha", torch.tensor(float(a), dtype=torch.float32)),
        ]
    with atomic_file(output_file, overwrite=overwrite) as tmp:
        meta = {"ss_network_module": "networks.lora", "sdaws_format": "kohya", **(metadata or {})}
        written = write_file(tmp, entries, meta)
    return {
        "output": str(output_file),
        "modules": len(parts),
        "sdxl": sdxl,
        "tensors_written": len(entries),
        "bytes_written": written,
        "seconds": round(time.monotonic() - started, 3),
    }
