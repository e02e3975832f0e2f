"""Model files and sidecars laid out as the WebUI, kohya's sd-scripts and Civitai write them.

Layouts come from independent sources, never from sdaws's own writers:
  * kohya LoRA keys: sd-scripts' naming rule (networks/lora.py: "lora_unet" / "lora_te"
    / "lora_te1" / "lora_te2" + the module path with dots as underscores, then
    `.lora_down.weight` [rank, in], `.lora_up.weight` [out, rank], `.alpha`) applied
    to the module lists sd-mecha publishes for kohya's SD1 and SDXL models ("sd1-kohya",
    "sdxl-kohya", read as data). SD2 has no published list: the SD1 list with SD2's
    documented widths (1024-wide context and OpenCLIP-H text encoder).
  * kohya metadata: every value a string (sd-scripts stringifies all), JSON-valued keys
    (ss_tag_frequency, ss_dataset_dirs) as json.dumps wrote them.
  * VAE: the first_stage_model.* list of sd-mecha's "sd1-ldm" / "sdxl-sgm", prefix
    stripped as standalone VAE files ship, spatial/channel widths shrunk but the latent
    channel count kept.
  * embeddings: A1111 safetensors embeddings (`emb_params` [n, 768|1024]); SDXL ones
    hold `clip_l` [n, 768] and `clip_g` [n, 1280].
  * NAME.json: the WebUI's write_user_metadata, `json.dump(metadata, file, indent=4,
    ensure_ascii=False)`; NAME.civitai.info: Civitai's model-version JSON.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from tests.support.env import need
from tests.support.sd_mecha import published_keys, sd_mecha_configs


@cache
def published_shapes(name: str) -> dict[str, tuple[int, ...]]:
    need(sd_mecha_configs() is not None, "sd-mecha's published key lists (run .ci/convert_test_data.sh)")
    return {key: tuple(spec["shape"]) for key, spec in published_keys(name).items()}


def _targets(shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, int]]:
    """Module path -> (out, in) for the layers kohya's LoRA wraps (Transformer2DModel in the
    UNet, CLIPAttention and CLIPMLP in the text encoders)."""
    out = {}
    for key, shape in shapes.items():
        if not key.endswith(".weight") or len(shape) not in (2, 4) or (len(shape) == 4 and shape[2:] != (1, 1)):
            continue
        module = key.removesuffix(".weight")
        in_unet = module.startswith("unet.") and (
            "transformer_blocks" in module or module.endswith(("proj_in", "proj_out"))
        )
        in_te = module.startswith(("te.", "te1.", "te2.")) and (".self_attn." in module or ".mlp." in module)
        if in_unet or in_te:
            out[module] = (shape[0], shape[1])
    return out


def _lora_name(module: str) -> str:
    head, _, rest = module.partition(".")
    prefix = {"unet": "lora_unet", "te": "lora_te", "te1": "lora_te1", "te2": "lora_te2"}[head]
    return f"{prefix}_{rest.replace('.', '_')}"


def kohya_lora_tensors(base: str, rank: int = 1) -> dict[str, np.ndarray]:
    """A kohya LoRA for base "sd1", "sd2" or "sdxl" (zeros: only names and shapes matter)."""
    source = "sdxl-kohya" if base == "sdxl" else "sd1-kohya"
    targets = _targets(published_shapes(source))
    if base == "sd2":  # SD2: 1024-wide context and text encoder
        targets = {
            m: (
                1024 if m.startswith("te.") else o,
                1024 if (m.startswith("te.") or ".attn2.to_k" in m or ".attn2.to_v" in m) else i,
            )
            for m, (o, i) in targets.items()
        }
    tensors = {}
    for module, (out_f, in_f) in targets.items():
        name = _lora_name(module)
        tensors[f"{name}.lora_down.weight"] = np.zeros((rank, in_f), dtype=np.float16)
        tensors[f"{name}.lora_up.weight"] = np.zeros((out_f, rank), dtype=np.float16)
        tensors[f"{name}.alpha"] = np.array(float(rank), dtype=np.float16)
    return tensors


def kohya_metadata(
    base_version: str, dim: int = 16, alpha: float = 8.0, resolution: str = "512,512", tags=None, output_name="sks_cat"
) -> dict:
    tags = tags if tags is not None else {"10_sks cat": {"sks cat": 40, "sitting": 12, "orange fur": 30}}
    meta = {
        "ss_session_id": "1234567",
        "ss_training_started_at": 1726639674.9215708,
        "ss_output_name": output_name,
        "ss_base_model_version": base_version,
        "ss_network_module": "networks.lora",
        "ss_network_dim": dim,
        "ss_network_alpha": alpha,
        "ss_resolution": resolution,
        "ss_clip_skip": None,
        "ss_num_train_images": 82,
        "ss_sd_model_name": "v1-5-pruned-emaonly.safetensors",
        "ss_v2": base_version.startswith("sd_v2"),
        "ss_tag_frequency": json.dumps(tags),
        "ss_dataset_dirs": json.dumps({"10_sks cat": {"n_repeats": 10, "img_count": 8}}),
    }
    return {k: str(v) for k, v in meta.items()}  # sd-scripts: metadata = {k: str(v) ...}


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def vae_tensors(source: str = "sd1-ldm", latent: int = 4) -> dict[str, np.ndarray]:
    """A standalone VAE (first_stage_model.* stripped), widths shrunk, latent channels kept."""
    shrink = {128: 8, 256: 8, 512: 8}
    tensors = {}
    for key, shape in published_shapes(source).items():
        if not key.startswith("first_stage_model."):
            continue
        name = key.removeprefix("first_stage_model.")
        small = tuple(shrink.get(d, d) for d in shape)
        if name == "decoder.conv_in.weight":
            small = (small[0], latent, *small[2:])
        tensors[name] = np.zeros(small, dtype=np.float16)
    return tensors


def embedding_tensors(family: str, vectors: int = 2) -> dict[str, np.ndarray]:
    if family == "SDXL":
        return {
            "clip_l": np.zeros((vectors, 768), dtype=np.float16),
            "clip_g": np.zeros((vectors, 1280), dtype=np.float16),
        }
    width = {"SD1": 768, "SD2": 1024}[family]
    return {"emb_params": np.zeros((vectors, width), dtype=np.float16)}


def write_webui_user_metadata(model_path: Path, metadata: dict) -> Path:
    """What the WebUI's UserMetadataEditor.write_user_metadata does for this model."""
    basename = str(model_path)[: -len(model_path.suffix)] if model_path.suffix else str(model_path)
    target = Path(basename + ".json")
    with open(target, "w", encoding="utf8") as file:
        json.dump(metadata, file, indent=4, ensure_ascii=False)
    return target


def civitai_version_info(sha256: str, name: str = "Sks Cat", words=("sks cat",), base_model: str = "SD 1.5") -> dict:
    """A model version as Civitai's GET /api/v1/model-versions/by-hash/{hash} returns it."""
    return {
        "id": 2514310,
        "modelId": 827184,
        "name": "v1.0",
        "createdAt": "2025-12-18T08:55:00.000Z",
        "updatedAt": "2025-12-18T09:16:12.062Z",
        "trainedWords": list(words),
        "baseModel": base_model,
        "baseModelType": "Standard",
        "description": "<p>a cat</p>",
        "stats": {"downloadCount": 10, "thumbsUpCount": 2},
        "model": {"name": name, "type": "LORA", "nsfw": False, "poi": False},
        "files": [
            {
                "id": 1,
                "sizeKB": 1024.5,
                "name": "sks_cat.safetensors",
                "type": "Model",
                "metadata": {"format": "SafeTensor", "size": None, "fp": None},
                "hashes": {"AutoV2": sha256[:10].upper(), "SHA256": sha256.upper(), "CRC32": "DEADBEEF"},
                "primary": True,
                "downloadUrl": "https://civitai.com/api/download/models/2514310",
            }
        ],
        "images": [{"url": "https://image.civitai.com/x.jpeg", "nsfw": "None", "width": 512, "height": 512}],
        "downloadUrl": "https://civitai.com/api/download/models/2514310",
    }


# The smallest valid PNG (1x1, RGBA), as a literal so no image library writes it.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"


def write_webui_lora(
    path: Path,
    family: str,
    *,
    kohya_base: str | None = None,
    notes: dict | None = None,
    civitai: dict | None = None,
    preview_suffix: str = ".preview.png",
) -> str:
    """A kohya LoRA for `family` ("sd1", "sdxl") at `path`, with what a WebUI user's folder holds
    beside it: sd-scripts' metadata (for `kohya_base`), the WebUI's user metadata (`notes`), a
    preview (NAME.preview.png, or NAME.png with `preview_suffix` ".png") and Civitai Helper's
    NAME.civitai.info (`civitai`: civitai_version_info's fields; it names the file by its hash).
    Returns the file's sha256."""
    write_safetensors(path, kohya_lora_tensors(family), kohya_metadata(kohya_base) if kohya_base else None)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if notes is not None:
        write_webui_user_metadata(path, notes)
    path.with_suffix(preview_suffix).write_bytes(PNG_1X1)
    if civitai is not None:
        path.with_suffix(".civitai.info").write_text(json.dumps(civitai_version_info(sha, **civitai)))
    return sha
