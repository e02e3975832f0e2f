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

from . import hash_spec, import_spec
from .architecture import ARCHS, PREDICTION_TYPES
from .model_tree import MAX_NAME_LENGTH, is_plain_name, portable_name_problem
from .outputs import is_job_output_key

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
    if is_job_output_key(value):  # an image a job made, named by its output key (longer than 3 parts)
        return value
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


# --- WebUI parity: the fields of the WebUI's txt2img/img2img/extras that sdaws runs ---------
# Names are the WebUI API's (and its ControlNet extension's), so a request written for the
# WebUI reads the same here and the infotext (pngmeta) writes them back the WebUI's way.

# Hires-fix upscalers that work on latents, and how each resizes (torch interpolate mode, antialias).
LATENT_UPSCALERS: dict[str, tuple[str, bool]] = {
    "Latent": ("bilinear", False),
    "Latent (antialiased)": ("bilinear", True),
    "Latent (bicubic)": ("bicubic", False),
    "Latent (bicubic antialiased)": ("bicubic", True),
    "Latent (nearest)": ("nearest", False),
    "Latent (nearest-exact)": ("nearest-exact", False),
}
# Upscalers on pixels that need no model file (PIL resampling); anything else names a model file.
PIXEL_UPSCALERS: tuple[str, ...] = ("None", "Lanczos", "Nearest")
CONTROLNET_MODULES: tuple[str, ...] = ("none", "canny")
# WebUI's inpainting_fill values, in its order (the ones sdaws offers).
INPAINTING_FILL: tuple[str, ...] = ("fill", "original")


def is_model_upscaler(name: str | None) -> bool:
    """Whether an upscaler name refers to a model file (ESRGAN/x.pth) rather than a built-in one."""
    return bool(name) and name not in LATENT_UPSCALERS and name not in PIXEL_UPSCALERS


def _check_hires_size(value: int) -> int:
    return _check_multiple_of_8(value) if value else 0


class ControlNetUnit(_Spec):
    """One ControlNet unit (the WebUI ControlNet extension's unit fields)."""

    model: Ref = Field(description="ControlNet/<file> (single file) or ControlNet/<folder> (diffusers)")
    image: Ref = Field(description="control image: the key POST /job-inputs returned")
    module: Literal[*CONTROLNET_MODULES] = Field("none", description="preprocessor")  # type: ignore[valid-type]
    weight: float = Field(1.0, ge=0, le=2)
    guidance_start: float = Field(0.0, ge=0, le=1)
    guidance_end: float = Field(1.0, ge=0, le=1)
    threshold_a: float = Field(100, ge=1, le=255, description="canny: low threshold")
    threshold_b: float = Field(200, ge=1, le=255, description="canny: high threshold")

    @model_validator(mode="after")
    def _start_before_end(self) -> ControlNetUnit:
        if self.guidance_start >= self.guidance_end:
            raise ValueError("guidance_start must be below guidance_end")
        return self


class _GenerationParity(_Spec):
    embeddings: list[Ref] = Field(
        default_factory=list,
        max_length=64,
        description="textual inversions from embeddings/; the API adds every one whose name the prompts use",
    )
    controlnet: list[ControlNetUnit] = Field(default_factory=list, max_length=4)
    enable_hr: bool = Field(False, description="hires fix: a second pass at a larger size")
    hr_scale: float = Field(2.0, ge=1, le=8)
    hr_resize_x: Annotated[int, AfterValidator(_check_hires_size)] = Field(0, ge=0, le=8192, description="0: by scale")
    hr_resize_y: Annotated[int, AfterValidator(_check_hires_size)] = Field(0, ge=0, le=8192, description="0: by scale")
    hr_upscaler: Ref = Field("Latent", description="Latent…, None, Lanczos, Nearest, or a model in ESRGAN/ etc.")
    hr_second_pass_steps: int = Field(0, ge=0, le=500, description="0: as many as the first pass")
    refiner_checkpoint: Ref | None = Field(None, description="SDXL refiner from Stable-diffusion/")
    refiner_switch_at: float = Field(0.8, gt=0, lt=1, description="fraction of the steps before the refiner")
    preview_every: int = Field(0, ge=0, le=500, description="live preview every N steps; 0: none")

    @model_validator(mode="after")
    def _bounded_hires_work(self) -> _GenerationParity:
        """The hires pass is more work at a larger size: held to the same bounds as the first pass."""
        if not self.enable_hr:
            return self
        width, height = self.hires_size(getattr(self, "width", 512), getattr(self, "height", 512))
        batch, images = getattr(self, "batch_size", 1), getattr(self, "batch_count", 1) * getattr(self, "batch_size", 1)
        if max(width, height) > 8192 or batch * width * height > MAX_BATCH_PIXELS:
            raise ValueError(
                f"the hires pass at {width}x{height} (batch of {batch}) is over {MAX_BATCH_PIXELS:,} pixels at once "
                "or 8192 on a side: lower hr_scale, the hires size or batch_size"
            )
        steps = self.hr_second_pass_steps or getattr(self, "steps", 20)
        work = images * steps * width * height / PIXELS_512
        if work > MAX_GENERATION_WORK:
            raise ValueError(
                f"the hires pass is {work:,.0f} steps of a 512x512 image; at most {MAX_GENERATION_WORK:,} per job"
            )
        return self

    def hires_size(self, width: int, height: int) -> tuple[int, int]:
        """The second pass's size, as the WebUI computes it (resize fields win over the scale)."""
        x, y = self.hr_resize_x, self.hr_resize_y
        if not x and not y:
            return _round8(width * self.hr_scale), _round8(height * self.hr_scale)
        if not x:
            return _round8(y * width / height), y
        if not y:
            return x, _round8(x * height / width)
        return x, y


def _round8(value: float) -> int:
    return max(8, int(value) // 8 * 8)


class _InpaintParity(_Spec):
    mask: Ref | None = Field(None, description="inpainting mask (white = repaint): the key POST /job-inputs returned")
    mask_blur: int = Field(4, ge=0, le=64)
    inpainting_fill: int = Field(
        1,
        ge=0,
        le=1,
        description="masked content: 0 fill, 1 original (the WebUI's latent noise/nothing are not offered)",
    )
    inpaint_full_res: bool = Field(False, description="inpaint area: only masked (at full resolution)")
    inpaint_full_res_padding: int = Field(32, ge=0, le=256)
    inpainting_mask_invert: int = Field(0, ge=0, le=1, description="1: repaint what is not masked")


class UpscaleSpec(_Spec):
    """The WebUI's "extras": upscale an image with a model (or a resampler), restore faces."""

    image: Ref = Field(description="the key POST /job-inputs returned, or an image output of a job")
    upscaler_1: Ref = Field(description="a model in ESRGAN/, RealESRGAN/, SwinIR/ or ScuNET/, or Lanczos/Nearest")
    upscaling_resize: float = Field(2.0, gt=0, le=8, description="scale factor")
    upscaler_2: Ref | None = None
    extras_upscaler_2_visibility: float = Field(0.0, ge=0, le=1)
    gfpgan_visibility: float = Field(0.0, ge=0, le=1)
    gfpgan_model: Ref | None = Field(None, description="a model in GFPGAN/")
    codeformer_visibility: float = Field(0.0, ge=0, le=1)
    codeformer_model: Ref | None = Field(None, description="a model in Codeformer/")
    codeformer_weight: float = Field(0.5, ge=0, le=1, description="0: strongest effect, 1: weakest")
    tile: int = Field(192, ge=0, le=4096, description="tile size in pixels; 0: the whole image at once")
    tile_overlap: int = Field(8, ge=0, le=256, description="context pixels each tile reads from its neighbours")
    half: bool | None = None

    @model_validator(mode="after")
    def _models_for_restorers(self) -> UpscaleSpec:
        if self.upscaler_1 in LATENT_UPSCALERS or (self.upscaler_2 or "") in LATENT_UPSCALERS:
            raise ValueError("latent upscalers work inside a generation (hires fix), not on an image")
        if self.gfpgan_visibility > 0 and not self.gfpgan_model:
            raise ValueError("gfpgan_visibility needs gfpgan_model (a model in GFPGAN/)")
        if self.codeformer_visibility > 0 and not self.codeformer_model:
            raise ValueError("codeformer_visibility needs codeformer_model (a model in Codeformer/)")
        if self.extras_upscaler_2_visibility > 0 and not self.upscaler_2:
            raise ValueError("extras_upscaler_2_visibility needs upscaler_2")
        return self


# --- end of the WebUI parity section -----------------------------------------------------


class Txt2ImgSpec(_GenerationParity):
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
    denoising_strength: float = Field(0.7, ge=0, le=1, description="txt2img: the hires-fix pass's strength")

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


class Img2ImgSpec(_InpaintParity, Txt2ImgSpec):
    init_image: Ref = Field(description="file name (or job-input key) in the init_image channel")
    denoising_strength: float = Field(0.75, gt=0, le=1)

    @model_validator(mode="after")
    def _no_hires_in_img2img(self) -> Img2ImgSpec:
        if self.enable_hr:
            raise ValueError("enable_hr (hires fix) is a txt2img option, as in the WebUI")
        return self


class _TrainParity(_Spec):
    """kohya sd-scripts' names for bucketing, captions, intermediate saves and resuming."""

    enable_bucket: bool = Field(False, description="aspect-ratio buckets instead of centre-cropped squares")
    min_bucket_reso: Pixels = Field(256, ge=8, le=4096)
    max_bucket_reso: Pixels = Field(1024, ge=8, le=4096)
    bucket_reso_steps: int = Field(64, ge=8, le=512, multiple_of=8)
    caption_extension: Literal[".txt", ".caption"] = Field(".txt", description="read first; the other one next")
    shuffle_caption: bool = Field(False, description="shuffle the comma-separated tags of each caption every step")
    keep_tokens: int = Field(0, ge=0, le=75, description="leading tags that shuffling leaves in place")
    save_every_n_steps: int = Field(0, ge=0, description="intermediate checkpoints; 0: only the result")
    resume_from: Ref | None = Field(None, description="a LoRA an sdaws training saved (Lora/…): continue from its step")

    @model_validator(mode="after")
    def _bucket_range(self) -> _TrainParity:
        if self.min_bucket_reso > self.max_bucket_reso:
            raise ValueError("min_bucket_reso must not exceed max_bucket_reso")
        return self


class TrainSpec(_TrainParity):
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


# --- merge methods beyond the WebUI's two (see sdaws_jobs/merge_methods.py for each formula) ---
MERGE_MODES = (
    "weighted_sum",
    "add_difference",
    "sigmoid",
    "inverse_sigmoid",
    "slerp",
    "ties",
    "no_interpolation",
)
MergeMode = Literal[*MERGE_MODES]  # type: ignore[valid-type]
# Block-weighted merges (MBW): one multiplier per UNet block, in the WebUI MBW extension's order.
MBW_BLOCKS_SD = (*(f"IN{i:02d}" for i in range(12)), "M00", *(f"OUT{i:02d}" for i in range(12)))
MBW_BLOCKS_SDXL = (*(f"IN{i:02d}" for i in range(9)), "M00", *(f"OUT{i:02d}" for i in range(9)))


class _MergeParity(_Spec):
    block_weights: list[float] | None = Field(
        None,
        description="MBW: 25 multipliers IN00-IN11, M00, OUT00-OUT11 (SDXL: 19, IN00-IN08, M00, OUT00-OUT08); "
        "`multiplier` is then the base alpha for everything outside the UNet blocks",
    )
    density: float = Field(0.2, gt=0, le=1, description="ties: fraction of each difference kept")
    dare: bool = Field(False, description="ties: keep a random `density` share, rescaled (DARE), not the largest")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="ties with dare: the drop mask's seed")
    loras: list[LoraRef] = Field(default_factory=list, max_length=16, description="LoRAs baked into the result")

    @field_validator("block_weights")
    @classmethod
    def _block_count(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and len(value) not in (len(MBW_BLOCKS_SD), len(MBW_BLOCKS_SDXL)):
            raise ValueError(f"give {len(MBW_BLOCKS_SD)} (SD1/SD2) or {len(MBW_BLOCKS_SDXL)} (SDXL) block weights")
        if value is not None and any(not -10 <= w <= 10 for w in value):
            raise ValueError("block weights must be between -10 and 10")
        return value


class MergeSpec(_MergeParity):
    mode: MergeMode = "weighted_sum"
    multiplier: float = Field(0.5, ge=-10, le=10, description="M")
    model_a: Ref
    model_b: Ref | None = Field(None, description="needed by every mode but no_interpolation")
    model_c: Ref | None = None
    half: bool = False
    output_name: OutputName

    @model_validator(mode="after")
    def _models_for_the_mode(self) -> MergeSpec:
        if self.mode in ("add_difference", "ties") and not self.model_c:
            what = "A + M*(B - C)" if self.mode == "add_difference" else "the base model the differences are taken from"
            raise ValueError(f"{self.mode} needs model_c ({what})")
        if self.mode != "no_interpolation" and not self.model_b:
            raise ValueError(f"{self.mode} needs model_b")
        if self.mode == "no_interpolation" and not self.loras:
            raise ValueError("no_interpolation copies model_a; give loras to bake into it")
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


# import and hash are utility kinds from the catalog (import_spec.py, hash_spec.py); their
# specs forbid unknown keys like _Spec but live beside the rules they share.
SPECS: dict[str, type[BaseModel]] = {
    "txt2img": Txt2ImgSpec,
    "img2img": Img2ImgSpec,
    "train": TrainSpec,
    "merge": MergeSpec,
    "convert": ConvertSpec,
    "export": ExportSpec,
    "upscale": UpscaleSpec,
    import_spec.KIND: import_spec.ImportSpec,
    hash_spec.KIND: hash_spec.HashSpec,
}
JOB_KINDS = tuple(SPECS)


def parse_spec(kind: str, data: dict[str, Any]) -> BaseModel:
    """Validate `data` for job `kind`, converting text to numbers where a field wants one
    (forms, hyperparameters). Raises pydantic.ValidationError / KeyError."""
    return SPECS[kind].model_validate(data)


def parse_submitted(kind: str, data: dict[str, Any]) -> BaseModel:
    """Validate params as the API receives them: JSON types as they are, nothing coerced."""
    return SPECS[kind].model_validate(data, strict=True)
