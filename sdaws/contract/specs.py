"""Job specs: the params of each job kind, validated with pydantic v2.

The API validates submissions with these very models, the job code runs them and the
client's forms check them before sending, so the three cannot drift.

Types: the API validates what clients send *strictly* (`parse_submitted`): a number must
be a JSON number (`"steps": "20"` is refused, not read as 20), an integer an integer
(20, not 20.0), a boolean `true`/`false`. A float field takes an integer (7 for 7.0),
as JSON has one number type. The client's forms, whose fields are text, parse leniently
(`parse_spec`) and send the JSON types the API wants; so does the job code, which also
reads SageMaker's string-valued hyperparameters.

Work is bounded: prompts at most MAX_PROMPT_CHARS (the text encoder reads 77 tokens, a
few hundred characters; the tokenizer drops the rest), and a request's total work —
images × steps × pixels, or training steps × batch × pixels — at most what a long day
on one GPU does, so a typo cannot queue a week of compute.
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
# CLIP reads 77 tokens (75 of text); a token spans at most ~20 characters of text, so
# anything past ~1,500 characters is truncated unread. 3,000 leaves room for <lora:…>
# tags (taken out before CLIP) and whitespace (collapsed); megabytes are a mistake.
MAX_PROMPT_CHARS = 3000
MAX_SAMPLE_PROMPTS = 16
MAX_SAMPLE_IMAGES = 1000
# Work in "512² steps": one denoising step of one 512x512 image. 100,000 is 1,600 images
# of 512² at 62 steps, or 100 of 1024² at 250; hours on one GPU.
MAX_GENERATION_WORK = 100_000
# One batch at once on the GPU: 16 images of 1024², or one of 4096².
MAX_BATCH_PIXELS = 16 * 1024 * 1024
# Training steps × batch × (resolution/512)²: 100,000 steps of batch 4 at 1024² is 1.6M.
MAX_TRAINING_WORK = 2_000_000
PIXELS_512 = 512 * 512


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
Prompt = Annotated[
    str, Field(max_length=MAX_PROMPT_CHARS, description=f"at most {MAX_PROMPT_CHARS} characters (CLIP reads 77 tokens)")
]
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
    prompt: Prompt
    negative_prompt: Prompt = ""
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

    @model_validator(mode="after")
    def _bounded_work(self) -> Txt2ImgSpec:
        pixels = self.width * self.height
        if self.batch_size * pixels > MAX_BATCH_PIXELS:
            raise ValueError(
                f"a batch of {self.batch_size} at {self.width}x{self.height} is {self.batch_size * pixels:,} pixels at "
                f"once; at most {MAX_BATCH_PIXELS:,} (16 images of 1024x1024): lower batch_size, raise batch_count"
            )
        images = self.batch_count * self.batch_size
        work = images * self.steps * pixels / PIXELS_512
        if work > MAX_GENERATION_WORK:
            raise ValueError(
                f"{images} images of {self.width}x{self.height} at {self.steps} steps is {work:,.0f} steps of a 512x512 "
                f"image; at most {MAX_GENERATION_WORK:,} per job: ask for fewer images, steps or pixels, "
                "or split it into several jobs"
            )
        return self


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
    sample_prompts: list[Prompt] = Field(default_factory=list, max_length=MAX_SAMPLE_PROMPTS)
    sample_steps: int = Field(20, ge=1, le=150)
    output_name: OutputName
    train_text_encoder: bool = False
    default_caption: Prompt = Field("", description="caption for images without a .txt file")

    @model_validator(mode="after")
    def _bounded_work(self) -> TrainSpec:
        work = self.steps * self.batch_size * self.resolution**2 / PIXELS_512
        if work > MAX_TRAINING_WORK:
            raise ValueError(
                f"{self.steps} steps of batch {self.batch_size} at {self.resolution}px is {work:,.0f} image-steps at "
                f"512px; at most {MAX_TRAINING_WORK:,} per job: fewer steps, a smaller batch or resolution"
            )
        if self.sample_every and self.sample_prompts:
            samples = (self.steps // self.sample_every) * len(self.sample_prompts)
            if samples > MAX_SAMPLE_IMAGES:
                raise ValueError(
                    f"sampling every {self.sample_every} steps with {len(self.sample_prompts)} prompts makes {samples} "
                    f"images; at most {MAX_SAMPLE_IMAGES}: sample less often"
                )
        return self


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
    """Validate `data` for job `kind`, converting text to numbers where a field wants one
    (forms, hyperparameters). Raises pydantic.ValidationError / KeyError."""
    return SPECS[kind].model_validate(data)


def parse_submitted(kind: str, data: dict[str, Any]) -> _Spec:
    """Validate params as the API receives them: JSON types as they are, nothing coerced."""
    return SPECS[kind].model_validate(data, strict=True)
