"""Job specs: the params of each job kind, validated with pydantic v2.

The API validates submissions with these very models, so this module must stay
light: pydantic and the standard library only (no torch, no diffusers).
"""

from __future__ import annotations

import json
import re
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# Spec key -> the name WebUI shows in infotext ("Sampler: Euler a").
SCHEDULERS: dict[str, str] = {
    "euler_a": "Euler a",
    "euler": "Euler",
    "dpmpp_2m": "DPM++ 2M",
    "dpmpp_2m_karras": "DPM++ 2M Karras",
    "ddim": "DDIM",
    "pndm": "PLMS",
    "lms": "LMS",
    "heun": "Heun",
    "unipc": "UniPC",
}
SchedulerName = Literal[
    "euler_a", "euler", "dpmpp_2m", "dpmpp_2m_karras", "ddim", "pndm", "lms", "heun", "unipc"
]
_SCHEDULER_ALIASES = {v.lower(): k for k, v in SCHEDULERS.items()} | {"pndm": "pndm"}

_SAFE_NAME = re.compile(r"^[\w][\w .+\-()\[\]]*$")
MAX_SEED = 2**32 - 1


def _check_file_name(value: str) -> str:
    value = value.strip()
    if not value or "/" in value or "\\" in value or value in (".", "..") or not _SAFE_NAME.match(value):
        raise ValueError(f"{value!r} is not a plain file name (letters, digits, ' ._-+()[]', no slashes)")
    return value


def _check_ref(value: str) -> str:
    """A model-tree or job-input reference: "x.safetensors", "Lora/x.safetensors",
    "job-inputs/<group>/<file>". Relative, no "..", each part a plain name."""
    value = value.strip()
    parts = value.split("/")
    if value.startswith("/") or len(parts) > 3:
        raise ValueError(f"{value!r} is not a relative reference of at most 3 parts")
    for part in parts:
        _check_file_name(part)
    return value


def _check_base_model(value: str) -> str:
    # A repo id may carry ":subfolder"; what matters is that it cannot escape a folder.
    value = value.strip()
    parts = value.replace(":", "/").split("/")
    if value.startswith("/") or "\\" in value or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{value!r} is not a model name, tree reference or repo id")
    return value


def _check_multiple_of_8(value: int) -> int:
    # Latents are 1/8 of the image size; anything else is silently cropped by diffusers.
    if value % 8:
        raise ValueError(f"{value} is not a multiple of 8")
    return value


Pixels = Annotated[int, AfterValidator(_check_multiple_of_8)]
PlainName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_check_file_name)]
Ref = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_check_ref)]
BaseModelRef = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_check_base_model)]


class _Spec(BaseModel):
    # Unknown keys are typos ("stpes") that would otherwise be silently ignored.
    model_config = ConfigDict(extra="forbid")


class LoraRef(_Spec):
    name: Ref
    weight: float = Field(1.0, ge=-10, le=10)


class Txt2ImgSpec(_Spec):
    prompt: str
    negative_prompt: str = ""
    steps: int = Field(20, ge=1, le=500)
    cfg_scale: float = Field(7.0, ge=0, le=50)
    scheduler: SchedulerName = "euler_a"
    seed: int = Field(-1, ge=-1, le=MAX_SEED, description="-1: random, resolved and recorded")
    width: Pixels = Field(512, ge=8, le=4096)
    height: Pixels = Field(512, ge=8, le=4096)
    batch_count: int = Field(1, ge=1, le=100)
    batch_size: int = Field(1, ge=1, le=16)
    model: Ref = Field(description="name of the model in the tree (file or converted folder)")
    loras: list[LoraRef] = Field(default_factory=list)
    vae: Ref | None = None
    half: bool | None = Field(None, description="fp16; default: on CUDA yes, on CPU no")
    clip_skip: int = Field(1, ge=1, le=12, description="WebUI meaning: 1 = last CLIP layer")
    compile: bool = Field(False, description="torch.compile the UNet (CUDA only)")

    @field_validator("scheduler", mode="before")
    @classmethod
    def _scheduler_alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower()
            return _SCHEDULER_ALIASES.get(key, key.replace(" ", "_").replace("+", "p"))
        return value


class Img2ImgSpec(Txt2ImgSpec):
    init_image: Ref = Field(description="file name (or job-input key) in the init_image channel")
    denoising_strength: float = Field(0.75, gt=0, le=1)


class TrainSpec(_Spec):
    base_model: BaseModelRef = Field(description="tree model, converted name or Hugging Face repo id")
    dataset: PlainName | None = Field(None, description="job-input group holding the dataset channel")
    kind: Literal["lora", "dreambooth"] = "lora"
    rank: int = Field(4, ge=1, le=256)
    alpha: float = Field(4.0, gt=0, le=1024)
    learning_rate: float = Field(1e-4, gt=0, le=1)
    steps: int = Field(ge=1, le=100_000)
    resolution: Pixels = Field(512, ge=8, le=2048)
    batch_size: int = Field(1, ge=1, le=64)
    seed: int = Field(-1, ge=-1, le=MAX_SEED)
    sample_every: int = Field(0, ge=0, description="0: no samples")
    sample_prompts: list[str] = Field(default_factory=list)
    sample_steps: int = Field(20, ge=1, le=150)
    output_name: PlainName
    train_text_encoder: bool = False
    default_caption: str = Field("", description="caption for images without a .txt file")


class MergeSpec(_Spec):
    mode: Literal["weighted_sum", "add_difference"] = "weighted_sum"
    multiplier: float = Field(0.5, ge=-10, le=10, description="M")
    model_a: Ref
    model_b: Ref
    model_c: Ref | None = None
    half: bool = False
    output_name: PlainName

    @model_validator(mode="after")
    def _c_for_add_difference(self) -> "MergeSpec":
        if self.mode == "add_difference" and not self.model_c:
            raise ValueError("add_difference needs model_c (A + M*(B - C))")
        return self


class ConvertSpec(_Spec):
    """Single file -> diffusers folder (options of the conversion engine)."""

    model: Ref | None = Field(None, description="file name in the model channel")

    # The conversion engine's architecture names (sdaws_jobs.convert.ARCHS); "auto" detects.
    arch: Literal["auto", "sd1", "sd1-inpaint", "sd2-512", "sd2-768", "sd2-inpaint", "sdxl", "sdxl-refiner"] = "auto"
    prediction_type: Literal["epsilon", "v_prediction"] | None = None
    image_size: int | None = Field(None, ge=64, le=4096)
    upcast_attention: bool | None = None
    half: bool = False
    ema: bool = False
    output_name: PlainName


class ExportSpec(_Spec):
    """Diffusers folder -> single .safetensors file in the original layout."""

    model: Ref | None = Field(None, description="diffusers folder (converted name) in the model channel")
    half: bool = False
    output_name: PlainName


SPECS: dict[str, type[_Spec]] = {
    "txt2img": Txt2ImgSpec,
    "img2img": Img2ImgSpec,
    "train": TrainSpec,
    "merge": MergeSpec,
    "convert": ConvertSpec,
    "export": ExportSpec,
}
JOB_KINDS = tuple(SPECS)


def parse_spec(kind: str, data: dict[str, Any]) -> _Spec:
    """Validate `data` for job `kind` (raises pydantic.ValidationError / KeyError)."""
    return SPECS[kind].model_validate(data)


def _is_str_field(annotation: Any) -> bool:
    """True for str, Optional[str] and string Literals: fields whose raw text is the value."""
    if annotation is str:
        return True
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _is_str_field(args[0])
    if origin is Literal:
        return all(isinstance(a, str) for a in args)
    if origin in (Union, UnionType):
        return any(_is_str_field(a) for a in args if a is not type(None))
    return False


def from_sagemaker_hyperparameters(kind: str, hp: dict[str, Any]) -> dict[str, Any]:
    """Turn SageMaker's string-valued hyperparameters back into a spec dict.

    SageMaker only carries strings. Two encodings are accepted: one key "spec" holding
    the whole spec as JSON, or one key per field. Per-field strings are decoded as JSON
    only where the field is not a string (lists, objects, null); numbers and booleans
    are left to pydantic's coercion, so a prompt like "42" stays a string.
    """
    data = {k: v for k, v in hp.items() if not k.startswith("sagemaker_")}
    if "spec" in data:
        inner = data.pop("spec")
        inner = json.loads(inner) if isinstance(inner, str) else inner
        if not isinstance(inner, dict):
            raise ValueError("hyperparameter 'spec' must be a JSON object")
        data = {**inner, **data}
    fields = SPECS[kind].model_fields
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = fields.get(key)
        if isinstance(value, str) and field is not None:
            stripped = value.strip()
            if field.default is None and stripped in ("", "null", "None"):
                value = None
            elif not _is_str_field(field.annotation) and (stripped[:1] in ("[", "{") or stripped == "null"):
                try:
                    value = json.loads(stripped)
                except ValueError:
                    pass
        out[key] = value
    return out
