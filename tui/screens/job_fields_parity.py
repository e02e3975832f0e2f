"""The WebUI-parity parts of the job forms: hires fix, SDXL refiner, ControlNet units, inpainting,
live previews, training buckets/captions/saves/samples/resume, merge methods, and the
`upscale` ("extras") form. Each group is a collapsible section, named as the WebUI names it.

A form's inputs are flat (one per field); `assemble` turns them into the spec's shape
(ControlNet units into a list, the WebUI's dropdown words into its numbers) and leaves out
the fields of a group that is not in use, so a job's params hold only what the user asked
for. The spec (`sdaws.client.job_params.build_params`) then checks them as every field is.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sdaws.client.masks import rectangle_mask
from sdaws.contract.model_tree import FOLDER_USES, UPSCALER_TYPES
from sdaws.contract.outputs import is_job_output_key
from sdaws.contract.specs import CONTROLNET_MODULES, INPAINTING_FILL, LATENT_UPSCALERS, PIXEL_UPSCALERS
from tui.screens.form_field import Field

CONTROLNET_UNITS = 2
# The WebUI's "Mask mode" words for inpainting_mask_invert 0 / 1.
MASK_MODES = ("Inpaint masked", "Inpaint not masked")
UNIT_FIELDS = ("model", "image", "module", "weight", "guidance_start", "guidance_end", "threshold_a", "threshold_b")
SAMPLE_PROMPT_SEPARATOR = "|"


def _unit(i: int) -> tuple[Field, ...]:
    section = f"ControlNet unit {i}"
    return (
        Field(
            f"cn{i}_model", "Model (ControlNet/; none: unit off)", kind="pick", folders=("ControlNet",), section=section
        ),
        Field(f"cn{i}_image", "Control image", kind="file", section=section),
        Field(f"cn{i}_module", "Preprocessor", "none", CONTROLNET_MODULES, section=section),
        Field(f"cn{i}_weight", "Control weight", "1", section=section),
        Field(f"cn{i}_guidance_start", "Starting control step (0..1)", "0", section=section),
        Field(f"cn{i}_guidance_end", "Ending control step (0..1)", "1", section=section),
        Field(f"cn{i}_threshold_a", "Canny low threshold", "100", section=section),
        Field(f"cn{i}_threshold_b", "Canny high threshold", "200", section=section),
    )


HIRES = (
    Field("enable_hr", "Hires. fix (a second pass at a larger size)", False, kind="check", section="Hires. fix"),
    Field(
        "hr_upscaler",
        "Upscaler",
        "Latent",
        kind="pick",
        builtins=(*LATENT_UPSCALERS, *PIXEL_UPSCALERS),
        folders=UPSCALER_TYPES,
        section="Hires. fix",
    ),
    Field("hr_scale", "Upscale by", "2", section="Hires. fix"),
    Field("hr_second_pass_steps", "Hires steps (0: as many as sampling steps)", "0", section="Hires. fix"),
    Field("denoising_strength", "Denoising strength", "0.7", section="Hires. fix"),
    Field("hr_resize_x", "Resize width to (0: by Upscale by)", "0", section="Hires. fix"),
    Field("hr_resize_y", "Resize height to (0: by Upscale by)", "0", section="Hires. fix"),
)
REFINER = (
    Field("refiner_checkpoint", "Refiner checkpoint (SDXL, Stable-diffusion/)", kind="model", section="Refiner"),
    Field("refiner_switch_at", "Switch at (fraction of the steps)", "0.8", section="Refiner"),
)
PREVIEWS = (Field("preview_every", "Live preview every N steps (0: none)", "0", section="Live previews"),)
CONTROLNET = tuple(f for i in range(1, CONTROLNET_UNITS + 1) for f in _unit(i))
INPAINT = (
    Field("mask", "Mask image (white: repaint; blank: no inpainting)", kind="file", section="Inpaint"),
    Field("mask_rect", "…or draw a rectangle to repaint: x,y,w,h in the init image's pixels", section="Inpaint"),
    Field("mask_blur", "Mask blur", "4", section="Inpaint"),
    Field("inpainting_mask_invert", "Mask mode", MASK_MODES[0], MASK_MODES, section="Inpaint"),
    Field("inpainting_fill", "Masked content", "original", INPAINTING_FILL, section="Inpaint"),
    Field("inpaint_full_res", "Inpaint area: only masked", False, kind="check", section="Inpaint"),
    Field("inpaint_full_res_padding", "Only masked padding, pixels", "32", section="Inpaint"),
)
TXT2IMG_PARITY = (*HIRES, *REFINER, *PREVIEWS, *CONTROLNET)
IMG2IMG_PARITY = (*INPAINT, *REFINER, *PREVIEWS, *CONTROLNET)

TRAIN_PARITY = (
    Field("enable_bucket", "Aspect-ratio buckets (enable_bucket)", False, kind="check", section="Buckets"),
    Field("min_bucket_reso", "Min bucket resolution", "256", section="Buckets"),
    Field("max_bucket_reso", "Max bucket resolution", "1024", section="Buckets"),
    Field("bucket_reso_steps", "Bucket resolution steps", "64", section="Buckets"),
    Field("caption_extension", "Caption files read first", ".txt", (".txt", ".caption"), section="Captions"),
    Field("shuffle_caption", "Shuffle caption tags", False, kind="check", section="Captions"),
    Field("keep_tokens", "Keep N leading tags in place", "0", section="Captions"),
    Field("save_every_n_steps", "Save a checkpoint every N steps (0: only the result)", "0", section="Saves, samples"),
    Field("sample_every", "Sample images every N steps (0: never)", "0", section="Saves, samples"),
    Field("sample_prompts", f"Sample prompts (separate with {SAMPLE_PROMPT_SEPARATOR})", section="Saves, samples"),
    Field("sample_steps", "Sample steps", "20", section="Saves, samples"),
    Field(
        "resume_from", "Resume from a LoRA an sdaws training saved", kind="pick", folders=("Lora",), section="Resume"
    ),
)
MERGE_PARITY = (
    Field("density", "TIES: density (share of each difference kept)", "0.2", section="Method parameters"),
    Field("dare", "TIES: DARE drop (random share, rescaled)", False, kind="check", section="Method parameters"),
    Field("seed", "TIES with DARE: seed of the drop", "0", section="Method parameters"),
    Field(
        "block_weights",
        "Block weights (MBW): 25 numbers IN00..OUT11, SDXL 19; comma-separated",
        section="Method parameters",
    ),
    Field("loras", "LoRAs baked into the result", kind="loras", section="Bake LoRAs"),
)
UPSCALE = (
    Field("image", "Image (a file here, or a job output: job-outputs/…)", kind="file"),
    Field("upscaler_1", "Upscaler", "Lanczos", kind="pick", builtins=PIXEL_UPSCALERS[1:], folders=UPSCALER_TYPES),
    Field("upscaling_resize", "Resize (scale factor)", "2"),
    Field("tile", "Tile size, pixels (0: whole image)", "192"),
    Field("tile_overlap", "Tile overlap, pixels", "8"),
    Field(
        "upscaler_2",
        "Upscaler 2",
        kind="pick",
        builtins=PIXEL_UPSCALERS[1:],
        folders=UPSCALER_TYPES,
        section="Upscaler 2",
    ),
    Field("extras_upscaler_2_visibility", "Upscaler 2 visibility", "0.5", section="Upscaler 2"),
    Field("gfpgan_model", "GFPGAN model", kind="pick", folders=("GFPGAN",), section="Face restoration"),
    Field("gfpgan_visibility", "GFPGAN visibility", "1", section="Face restoration"),
    Field("codeformer_model", "CodeFormer model", kind="pick", folders=("Codeformer",), section="Face restoration"),
    Field("codeformer_visibility", "CodeFormer visibility", "1", section="Face restoration"),
    Field("codeformer_weight", "CodeFormer weight (0: strongest effect)", "0.5", section="Face restoration"),
)

# Fields of a group that mean nothing unless the group's switch is on: (switch, the fields).
_NEEDS = {
    "txt2img": (
        (
            "enable_hr",
            ("hr_upscaler", "hr_scale", "hr_second_pass_steps", "denoising_strength", "hr_resize_x", "hr_resize_y"),
        ),
    ),
    "img2img": (
        (
            "mask",
            ("mask_blur", "inpainting_mask_invert", "inpainting_fill", "inpaint_full_res", "inpaint_full_res_padding"),
        ),
    ),
    "train": (("enable_bucket", ("min_bucket_reso", "max_bucket_reso", "bucket_reso_steps")),),
    "upscale": (
        ("upscaler_2", ("extras_upscaler_2_visibility",)),
        ("gfpgan_model", ("gfpgan_visibility",)),
        ("codeformer_model", ("codeformer_visibility", "codeformer_weight")),
    ),
}
_SWITCHED_OFF = {"refiner_checkpoint": ("refiner_switch_at",)}
# Check boxes whose spec default is off: sent only when ticked.
_OFF_BY_DEFAULT = ("enable_hr", "inpaint_full_res", "enable_bucket", "shuffle_caption", "dare")


def _blank(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, str) and not value.strip())


def assemble(kind: str, flat: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """The form's flat values in the spec's shape; also which form unit each ControlNet entry is.

    Raises ValueError "field: problem" for what the spec cannot say in the form's words."""
    values = dict(flat)
    rect = values.pop("mask_rect", None)
    if not _blank(rect):
        if not _blank(values.get("mask")):
            raise ValueError("mask_rect: give a mask image or a rectangle, not both")
        if _blank(values.get("init_image")) or is_job_output_key(str(values["init_image"]).strip()):
            raise ValueError("mask_rect: the rectangle is drawn on the init image: choose it on this machine first")
        try:
            values["mask"] = str(rectangle_mask(Path(str(values["init_image"]).strip()), str(rect)))
        except ValueError as exc:
            raise ValueError(f"mask_rect: {exc}") from None
    needs = dict(_NEEDS.get(kind, ())) | _SWITCHED_OFF
    for switch, fields in needs.items():
        if switch in values and _blank(values[switch]):
            for name in fields:
                values.pop(name, None)
    for name in _OFF_BY_DEFAULT:
        if values.get(name) is False:
            values.pop(name)
    if kind == "merge" and values.get("mode") != "ties":
        for name in ("density", "dare", "seed"):
            values.pop(name, None)
    if "inpainting_fill" in values:
        values["inpainting_fill"] = INPAINTING_FILL.index(values["inpainting_fill"])
    if "inpainting_mask_invert" in values:
        values["inpainting_mask_invert"] = MASK_MODES.index(values["inpainting_mask_invert"])
    if isinstance(values.get("block_weights"), str) and values["block_weights"].strip():
        values["block_weights"] = _numbers("block_weights", values["block_weights"])
    if isinstance(values.get("sample_prompts"), str):
        prompts = [p.strip() for p in values["sample_prompts"].split(SAMPLE_PROMPT_SEPARATOR) if p.strip()]
        values["sample_prompts"] = prompts or None
    units, numbers = [], []
    for i in range(1, CONTROLNET_UNITS + 1):
        unit = {name: values.pop(f"cn{i}_{name}", None) for name in UNIT_FIELDS}
        if _blank(unit["model"]):
            if not _blank(unit["image"]):
                raise ValueError(f"cn{i}_model: choose the ControlNet model for this unit's image")
            continue
        if unit["module"] != "canny":
            unit.pop("threshold_a"), unit.pop("threshold_b")
        units.append({k: v.strip() if isinstance(v, str) else v for k, v in unit.items() if not _blank(v)})
        units[-1].setdefault("image", "")  # take_local_files says it is missing
        numbers.append(i)
    if units:
        values["controlnet"] = units
    return values, numbers


def _numbers(field: str, text: str) -> list[float]:
    out = []
    for part in text.replace(";", ",").split(","):
        try:
            out.append(float(part))
        except ValueError:
            raise ValueError(f"{field}: {part.strip()!r} is not a number") from None
    return out


_UNIT_PROBLEM = re.compile(r"(?:params\.)?controlnet\.(\d+)(?:\.(\w+))?")


def in_form_words(message: str, unit_numbers: list[int]) -> str:
    """Problems of ControlNet entry K (`controlnet.0.weight: …`) named by the form's field (`cn1_weight`)."""

    def field(match: re.Match) -> str:
        index = int(match.group(1))
        unit = unit_numbers[index] if index < len(unit_numbers) else index + 1
        return f"cn{unit}_{match.group(2) or 'guidance_start'}"

    return _UNIT_PROBLEM.sub(field, message)


def folders_used(kind: str) -> list[str]:
    """The tree folders a job of this kind reads (from the contract's FOLDER_USES)."""
    return [
        folder
        for folder, uses in FOLDER_USES.items()
        if any(kind in use.split(":", 1)[0].replace(",", "/").replace(" ", "/").split("/") for use in uses)
    ]
