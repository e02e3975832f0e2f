"""Job specs: the params of each job kind, validated with pydantic v2.

The API validates submissions with these very models, the job code runs them and the
client's forms check them before sending, so the three cannot drift.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from .architecture import ARCHS, PREDICTION_TYPES
from .model_tree import MAX_NAME_LENGTH, is_plain_name, portable_name_problem

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
SchedulerName = Literal["euler_a", "euler", "dpmpp_2m", "dpmpp_2m_karras", "ddim", "pndm", "lms", "heun", "unipc"]
_SCHEDULER_ALIASES = {v.lower(): k for k, v in SCHEDULERS.items()} | {"pndm": "pndm"}

MAX_SEED = 2**32 - 1


def _check_file_name(value: str) -> str:
    value = value.strip()
    if not is_plain_name(value):
        raise ValueError(f"{value!r} is not a plain file name (letters, digits, ' ._-+()[]', no slashes, no '..')")
    return value


def _check_output_name(value: str) -> str:
    """A plain name that becomes a new file or folder in the tree (`<name>.safetensors`,
    `diffusers/<name>`): it must also be one every WebUI platform can hold."""
    value = _check_file_name(value)
    problem = portable_name_problem(value, ".safetensors")
    if problem is not None:
        raise ValueError(f"{value[:60]!r} {problem}")
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
PlainName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_check_file_name)]
OutputName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_check_output_name)]
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
    output_name: OutputName
    train_text_encoder: bool = False
    default_caption: str = Field("", description="caption for images without a .txt file")


class MergeSpec(_Spec):
    mode: Literal["weighted_sum", "add_difference"] = "weighted_sum"
    multiplier: float = Field(0.5, ge=-10, le=10, description="M")
    model_a: Ref
    model_b: Ref
    model_c: Ref | None = None
    half: bool = False
    output_name: OutputName

    @model_validator(mode="after")
    def _c_for_add_difference(self) -> MergeSpec:
        if self.mode == "add_difference" and not self.model_c:
            raise ValueError("add_difference needs model_c (A + M*(B - C))")
        return self


class ConvertSpec(_Spec):
    """Single file -> diffusers folder (options of the conversion engine)."""

    model: Ref | None = Field(None, description="file name in the model channel")

    arch: Literal["auto", *ARCHS] = Field("auto", description="architecture name; auto detects it")  # type: ignore[valid-type]
    prediction_type: Literal[*PREDICTION_TYPES] | None = None  # type: ignore[valid-type]
    image_size: int | None = Field(None, ge=64, le=4096)
    upcast_attention: bool | None = None
    half: bool = False
    ema: bool = False
    output_name: OutputName


class ExportSpec(_Spec):
    """Diffusers folder -> single .safetensors file in the original layout."""

    model: Ref | None = Field(None, description="diffusers folder (converted name) in the model channel")
    half: bool = False
    output_name: OutputName


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
