"""What a model file says about itself: its kind (checkpoint, LoRA, VAE, embedding), the
base family it belongs to (SD1 / SD2 / SDXL, read from tensor shapes), kohya's `ss_*`
training metadata for LoRAs, and whether it fits a given checkpoint.

Shapes are the ground truth where they differ between families:
  * LoRA: the cross-attention key projection takes the text encoder's width: 768 (SD1,
    CLIP ViT-L), 1024 (SD2, OpenCLIP ViT-H), 2048 (SDXL, CLIP-L + OpenCLIP-bigG
    concatenated), 1280 (the SDXL refiner, bigG alone). Text-encoder-only LoRAs tell
    by the encoder's width (and SDXL's two encoders by kohya's te1/te2 prefixes).
  * Embedding: the vector width (768 / 1024), SDXL embeddings hold `clip_l` + `clip_g`.
  * VAE: SD1, SD2 and SDXL VAEs have the very same shapes (4 latent channels); only
    their weights differ. The shapes say "an SD-family VAE", the file name or metadata
    may say which; SD3/Flux VAEs (16 latent channels) are told apart by shape.
Checkpoints keep the detection in architecture.py; family_of_architecture maps it here.
Only names, shapes and the header's metadata are read, so the API works from a
safetensors header alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .architecture import detect_architecture
from .errors import InvalidInput

SD1, SD2, SDXL, SDXL_REFINER, SD3, FLUX = "SD1", "SD2", "SDXL", "SDXL-refiner", "SD3", "Flux"
FAMILIES: tuple[str, ...] = (SD1, SD2, SDXL, SDXL_REFINER, SD3, FLUX)
SD_FAMILY_VAE = (SD1, SD2, SDXL, SDXL_REFINER)  # one VAE shape for all of them
KINDS = ("checkpoint", "lora", "vae", "embedding", "unknown")
# Tree folder -> the kind a file there is expected to be.
FOLDER_KINDS = {"Stable-diffusion": "checkpoint", "Lora": "lora", "VAE": "vae", "embeddings": "embedding"}
TOP_TAGS = 24  # the WebUI's edit dialog shows the 24 most frequent training tags

_CONTEXT_WIDTH = {768: SD1, 1024: SD2, 2048: SDXL, 1280: SDXL_REFINER}
_EMBEDDING_WIDTH = {768: SD1, 1024: SD2}
_TE_WIDTH = {768: SD1, 1024: SD2}
_DOWN = re.compile(r"(lora_down|lora_A|lora\.down|down)\.weight$")
_CROSS_ATTN_K = re.compile(r"attn2[._]to_k[._]")
_TE_Q = re.compile(r"(self_attn[._]q_proj|attn[._]in_proj)")


@dataclass
class FamilyGuess:
    """The families a file fits; one when the file tells, several when it cannot."""

    kind: str
    families: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def family(self) -> str | None:
        return self.families[0] if len(self.families) == 1 else None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "family": self.family, "families": list(self.families), "reasons": self.reasons}


def _shape(value: object) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)) and all(type(d) is int for d in value):
        return tuple(value)
    return ()


def family_of_architecture(arch: str) -> str:
    """architecture.py's names -> family."""
    if arch.startswith("sd1"):
        return SD1
    if arch.startswith("sd2"):
        return SD2
    if arch == "sdxl-refiner":
        return SDXL_REFINER
    if arch == "sdxl":
        return SDXL
    raise InvalidInput(f"unknown architecture {arch!r}")


def detect_kind(shapes: Mapping[str, object]) -> str:
    keys = list(shapes)
    if any(k.startswith(("model.diffusion_model.", "cond_stage_model.", "conditioner.")) for k in keys):
        return "checkpoint"
    if any(k.startswith(("lora_unet_", "lora_te", "lycoris_")) or _DOWN.search(k) or ".hada_" in k for k in keys):
        return "lora"
    if any(k.startswith(("encoder.conv_in.", "first_stage_model.encoder.", "decoder.conv_in.")) for k in keys):
        return "vae"
    if "clip_l" in shapes and "clip_g" in shapes:
        return "embedding"
    if 1 <= len(keys) <= 4 and all(1 <= len(_shape(v)) <= 2 for v in shapes.values()):
        return "embedding"  # emb_params, string_to_param.*, or a diffusers concept "<token>"
    return "unknown"


def _lora_family(shapes: Mapping[str, object]) -> FamilyGuess:
    guess = FamilyGuess("lora")
    widths = {
        _shape(v)[-1] for k, v in shapes.items() if _CROSS_ATTN_K.search(k) and _DOWN.search(k) and len(_shape(v)) >= 2
    }
    if len(widths) == 1 and (width := next(iter(widths))) in _CONTEXT_WIDTH:
        family = _CONTEXT_WIDTH[width]
        guess.families = [family]
        guess.reasons.append(f"cross-attention keys take {width}-wide text embeddings ({family})")
        return guess
    keys = list(shapes)
    if any(k.startswith(("lora_te1_", "lora_te2_", "text_encoder_2.", "te2.")) for k in keys):
        guess.families = [SDXL]
        guess.reasons.append("it adapts two text encoders (te1/te2), as SDXL has")
        return guess
    te = {_shape(v)[-1] for k, v in shapes.items() if k.startswith(("lora_te_", "text_encoder.")) and _TE_Q.search(k)}
    te = {w for w in te if w}
    if len(te) == 1 and (width := next(iter(te))) in _TE_WIDTH:
        guess.families = [_TE_WIDTH[width]]
        guess.reasons.append(f"its text-encoder layers are {width} wide ({_TE_WIDTH[width]})")
        return guess
    guess.reasons.append("no cross-attention or text-encoder layer whose width names a family")
    return guess


def _vae_family(shapes: Mapping[str, object], name: str) -> FamilyGuess:
    guess = FamilyGuess("vae")
    prefix = "first_stage_model." if any(k.startswith("first_stage_model.") for k in shapes) else ""
    conv = _shape(shapes.get(f"{prefix}decoder.conv_in.weight"))
    latent = conv[1] if len(conv) == 4 else None
    if latent == 16:
        guess.families = [SD3, FLUX]
        guess.reasons.append("16 latent channels: an SD3 / Flux VAE")
    elif latent == 4:
        lowered = name.lower()
        if re.search(r"sd_?xl|(?<![a-z])xl(?![a-z])", lowered):
            guess.families = [SDXL, SDXL_REFINER]
            guess.reasons.append("4 latent channels (the shape SD1, SD2 and SDXL VAEs share); the name says SDXL")
        else:
            guess.families = list(SD_FAMILY_VAE)
            guess.reasons.append(
                "4 latent channels: SD1, SD2 and SDXL VAEs share this shape, so the file cannot say which it was trained for"
            )
    else:
        guess.reasons.append("no decoder.conv_in weight with a latent channel count")
    return guess


def _embedding_family(shapes: Mapping[str, object]) -> FamilyGuess:
    guess = FamilyGuess("embedding")
    if "clip_l" in shapes and "clip_g" in shapes:
        guess.families = [SDXL]
        guess.reasons.append("it holds clip_l and clip_g vectors (SDXL's two text encoders)")
        return guess
    widths = {_shape(v)[-1] for v in shapes.values() if _shape(v)}
    if len(widths) == 1 and (width := next(iter(widths))) in _EMBEDDING_WIDTH:
        guess.families = [_EMBEDDING_WIDTH[width]]
        guess.reasons.append(f"its vectors are {width} wide ({_EMBEDDING_WIDTH[width]})")
    else:
        guess.reasons.append(f"vector widths {sorted(widths)} name no family")
    return guess


def _checkpoint_family(shapes: Mapping[str, object], name: str) -> FamilyGuess:
    guess = FamilyGuess("checkpoint")
    try:
        detection = detect_architecture(shapes, name)
    except InvalidInput as exc:
        guess.reasons.append(str(exc))
        return guess
    guess.families = [family_of_architecture(detection.arch)]
    guess.reasons.extend(detection.reasons)
    return guess


def detect_family(shapes: Mapping[str, object], name: str = "", kind: str | None = None) -> FamilyGuess:
    """The kind and family of a file with these tensor shapes; `kind` when the caller knows it."""
    kind = kind or detect_kind(shapes)
    if kind == "lora":
        return _lora_family(shapes)
    if kind == "vae":
        return _vae_family(shapes, name)
    if kind == "embedding":
        return _embedding_family(shapes)
    if kind == "checkpoint":
        return _checkpoint_family(shapes, name)
    return FamilyGuess("unknown", reasons=["the tensors match no checkpoint, LoRA, VAE or embedding layout"])


# -- kohya ss_* metadata ------------------------------------------------------------------


@dataclass
class KohyaFacts:
    base_model_version: str | None = None
    family: str | None = None
    network_module: str | None = None
    network_dim: int | None = None
    network_alpha: float | None = None
    resolution: list[int] | None = None  # [width, height]
    trigger_tags: list[list[Any]] = field(default_factory=list)  # [[tag, count], ...] most frequent first
    output_name: str | None = None
    sd_model_name: str | None = None
    clip_skip: int | None = None
    num_train_images: int | None = None
    training_started_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _decode_json_values(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The WebUI's read_metadata_from_safetensors: string values that start with '{' are JSON."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        out[key] = value
        if isinstance(value, str) and value[:1] == "{":
            try:
                out[key] = json.loads(value)
            except (ValueError, RecursionError):
                pass
    return out


def _num(value: Any, cast: type) -> Any:
    if value is None or str(value).strip() in ("", "None", "none", "null"):
        return None
    try:
        return cast(float(value)) if cast is int else cast(value)
    except (TypeError, ValueError):
        return None


def family_from_base_version(version: str | None, v2: Any = None) -> str | None:
    """kohya's ss_base_model_version ("sd_v1", "sd_v2_v", "sdxl_base_v1-0", …) or, in
    files older than that key, ss_v2, as a family."""
    text = (version or "").lower()
    if not text and str(v2) in ("True", "False"):
        return SD2 if str(v2) == "True" else SD1
    return _by_prefix(text, (("sdxl", SDXL), ("sd_v2", SD2), ("sd_v1", SD1), ("sd3", SD3), ("flux", FLUX)))


def family_from_modelspec(architecture: str | None) -> str | None:
    """The SAI model spec's `modelspec.architecture` ("stable-diffusion-xl-v1-base/lora")."""
    prefixes = (
        ("stable-diffusion-xl-v1-refiner", SDXL_REFINER),  # before the plain SDXL prefix it starts with
        ("stable-diffusion-xl", SDXL),
        ("stable-diffusion-v2", SD2),
        ("stable-diffusion-v1", SD1),
        ("stable-diffusion-3", SD3),
        ("flux", FLUX),
    )
    return _by_prefix((architecture or "").lower(), prefixes)


def _by_prefix(text: str, prefixes: tuple[tuple[str, str], ...]) -> str | None:
    """The family of the first prefix `text` starts with (the order matters)."""
    return next((family for prefix, family in prefixes if text.startswith(prefix)), None)


def _resolution(meta: Mapping[str, Any]) -> list[int] | None:
    for raw in (meta.get("ss_resolution"), meta.get("modelspec.resolution")):
        numbers = [int(n) for n in re.findall(r"\d+", str(raw or ""))]
        if len(numbers) == 1:
            return [numbers[0], numbers[0]]
        if len(numbers) == 2:
            return numbers
    datasets = meta.get("ss_datasets")
    if isinstance(datasets, str):
        try:
            datasets = json.loads(datasets)
        except (ValueError, RecursionError):
            datasets = None
    if isinstance(datasets, list) and datasets and isinstance(datasets[0], dict):
        res = datasets[0].get("resolution")
        if isinstance(res, list) and len(res) == 2 and all(isinstance(n, int) for n in res):
            return list(res)
    return None


def trigger_tags(tag_frequency: Any, limit: int = TOP_TAGS) -> list[list[Any]]:
    """The WebUI's build_tags: counts summed over dataset folders; when the 'tags' are long
    sentences (average >= 16 characters), counted per word of 3+ letters instead."""
    tags: dict[str, int] = {}
    if isinstance(tag_frequency, Mapping):
        for folder in tag_frequency.values():
            if not isinstance(folder, Mapping):
                continue
            for tag, count in folder.items():
                text = str(tag).strip()
                if not text:
                    continue
                try:
                    tags[text] = tags.get(text, 0) + int(count)
                except (TypeError, ValueError):
                    continue
    if tags and sum(len(t) for t in tags) / len(tags) >= 16:
        words: dict[str, int] = {}
        for text, count in tags.items():
            for word in re.findall(r"[-_\w']+", text):
                if len(word) >= 3:
                    words[word] = words.get(word, 0) + count
        tags = words
    ordered = sorted(tags.items(), key=lambda item: (-item[1], item[0]))
    return [[tag, count] for tag, count in ordered[:limit]]


def kohya_facts(metadata: Mapping[str, Any]) -> KohyaFacts | None:
    """Training facts from a LoRA's safetensors metadata; None when it has no kohya keys."""
    meta = _decode_json_values(metadata)
    if not any(k.startswith(("ss_", "modelspec.")) for k in meta):
        return None
    version = meta.get("ss_base_model_version")
    version_text = str(version) if version not in (None, "") else None
    family = family_from_base_version(version_text, meta.get("ss_v2")) or family_from_modelspec(
        meta.get("modelspec.architecture")
    )
    started = _num(meta.get("ss_training_started_at"), float)
    return KohyaFacts(
        base_model_version=version_text,
        family=family,
        network_module=_text_or_none(meta.get("ss_network_module")),
        network_dim=_num(meta.get("ss_network_dim"), int),
        network_alpha=_num(meta.get("ss_network_alpha"), float),
        resolution=_resolution(meta),
        trigger_tags=trigger_tags(meta.get("ss_tag_frequency")),
        output_name=_text_or_none(meta.get("ss_output_name")),
        sd_model_name=_text_or_none(meta.get("ss_sd_model_name")),
        clip_skip=_num(meta.get("ss_clip_skip"), int),
        num_train_images=_num(meta.get("ss_num_train_images"), int),
        training_started_at=started,
    )


def _text_or_none(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text if text and text != "None" else None


# -- civitai baseModel -> family ------------------------------------------------------------


def family_from_civitai(base_model: str | None) -> str | None:
    """Civitai's baseModel ("SD 1.5", "SDXL 1.0", "Pony", "Illustrious" …) as a family."""
    text = (base_model or "").strip().lower()
    if not text:
        return None
    if text.startswith("sd 1") or text in ("sd1", "sd 1.x"):
        return SD1
    if text.startswith("sd 2") or text in ("sd2",):
        return SD2
    if text.startswith(("sdxl", "pony", "illustrious", "noobai")):
        return SDXL
    if text.startswith(("sd 3", "sd3")):
        return SD3
    if text.startswith("flux"):
        return FLUX
    return None


def family_from_sd_version(sd_version: str | None) -> str | None:
    """The WebUI's "sd version" user field (SD1/SD2/SDXL/SD3/Unknown) as a family."""
    return {"SD1": SD1, "SD2": SD2, "SDXL": SDXL, "SD3": SD3}.get(sd_version or "")


# -- does it fit? ----------------------------------------------------------------------------


@dataclass
class Fit:
    verdict: str  # "fits" | "will_not_load" | "unknown"
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


_KIND_WORD = {"lora": "LoRA", "vae": "VAE", "embedding": "embedding", "checkpoint": "checkpoint"}


def fits(kind: str, families: list[str], checkpoint_family: str | None) -> Fit:
    """Whether a LoRA / VAE / embedding of these families loads on a checkpoint of
    `checkpoint_family`, as one sentence for the UI."""
    what = _KIND_WORD.get(kind, "model")
    if not checkpoint_family:
        return Fit("unknown", "the checkpoint's family is not known")
    if not families:
        return Fit("unknown", f"this {what}'s family is not known")
    if checkpoint_family in families:
        if len(families) == 1:
            return Fit("fits", f"fits your {checkpoint_family} checkpoint")
        return Fit(
            "fits",
            f"loads on your {checkpoint_family} checkpoint (the file fits {' / '.join(families)}; "
            "it cannot say which it was made for)",
        )
    made_for = " / ".join(families)
    return Fit("will_not_load", f"will not load on {checkpoint_family}: this {what} is for {made_for}")
