"""Suggest the model-tree folder for a local file from its safetensors header.

Only the header is read (8-byte length + JSON), so this is instant even for a
7 GB checkpoint. The key prefixes are the ones the A1111 / kohya / diffusers
single-file layouts use; anything unrecognised gets no suggestion and the user
picks the folder.
"""

from __future__ import annotations

from pathlib import Path

from sdaws.contract.safetensors_header import HeaderError, read_file_header


def read_safetensors_header(path: Path) -> dict | None:
    """The parsed header of a .safetensors file, or None if it is not one."""
    try:
        return read_file_header(path)
    except (OSError, HeaderError):
        return None


def classify_keys(keys: list[str]) -> str | None:
    """Folder name for a set of tensor names, or None when unsure."""
    if not keys:
        return None
    if any(
        k.startswith(("lora_unet_", "lora_te", "lora_te1_", "lora_te2_"))
        or ".lora_down." in k
        or ".lora_A." in k
        or "lora.down" in k
        for k in keys
    ):
        return "Lora"
    if any(k.startswith(("control_model.", "input_hint_block")) or ".input_hint_block." in k for k in keys):
        return "ControlNet"
    if any(k.startswith("model.diffusion_model.") for k in keys):
        return "Stable-diffusion"
    if any(k.startswith(("first_stage_model.", "encoder.", "decoder.")) for k in keys) and all(
        k.startswith(("first_stage_model.", "encoder.", "decoder.", "quant_conv.", "post_quant_conv.", "model_ema."))
        or k in ("model_ema.decay", "model_ema.num_updates")
        for k in keys
    ):
        return "VAE"
    if len(keys) <= 4 and any(k in ("emb_params", "clip_l", "clip_g") or k.startswith("string_to_param") for k in keys):
        return "embeddings"
    return None


def suggest_type(path: Path) -> str | None:
    """Suggested folder for ``path`` (header first, then the file name as a hint)."""
    path = Path(path)
    header = read_safetensors_header(path) if path.suffix.lower() == ".safetensors" else None
    if header is not None:
        found = classify_keys([k for k in header if k != "__metadata__"])
        if found:
            return found
    lowered = path.name.lower()
    for hint, folder in (("lora", "Lora"), ("vae", "VAE"), ("controlnet", "ControlNet"), ("embedding", "embeddings")):
        if hint in lowered:
            return folder
    if path.suffix.lower() in (".ckpt", ".safetensors", ""):
        try:
            if path.stat().st_size > 1_000_000_000:  # only full checkpoints are this large
                return "Stable-diffusion"
        except OSError:
            return None
    return None
