"""Rules of the model tree, as WebUI users lay it out in S3 or on disk.

Root folders are fixed; `Stable-diffusion/` is the one that must exist. Model
files are `.safetensors` or `.ckpt`, and a file uploaded without an extension
gets `.ckpt` (what users were told to do with Civitai downloads). Names are flat
file names inside a folder: no separators, no `..`, nothing that could address a
key or path outside the tree.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import InvalidInput

MODEL_TYPES: tuple[str, ...] = (
    "CLIP",
    "Codeformer",
    "ControlNet",
    "ESRGAN",
    "GFPGAN",
    "LDSR",
    "Lora",
    "RealESRGAN",
    "ScuNET",
    "Stable-diffusion",
    "SwinIR",
    "VAE",
    "VAE-approx",
    "embeddings",
    "hypernetworks",
)
REQUIRED_TYPE = "Stable-diffusion"
EXTENSIONS: tuple[str, ...] = (".safetensors", ".ckpt")
DEFAULT_EXTENSION = ".ckpt"
# Folders whose files the WebUI reads in other formats too: upscalers and face restorers
# are published as `.pth`, textual inversions and TAESD decoders as `.pt`/`.pth`/`.bin`.
# Pickled formats are only ever read through the job code's safe loader.
_PICKLED = (".pt", ".pth")
EXTENSIONS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "ControlNet": (*EXTENSIONS, ".pth"),
    "embeddings": (".safetensors", ".pt", ".bin"),
    "VAE": (*EXTENSIONS, ".pt"),
    "VAE-approx": (".safetensors", *_PICKLED),
    "hypernetworks": (".safetensors", ".pt"),
    **{t: (".safetensors", *_PICKLED) for t in ("ESRGAN", "RealESRGAN", "SwinIR", "ScuNET", "GFPGAN", "Codeformer")},
    "CLIP": (".safetensors", *_PICKLED),
}
# Converted diffusers folders (the `ckpt_cache` idea) live beside the tree.
CONVERTED_PREFIX = "diffusers"
# Files clients send for jobs (img2img images, training datasets): job-inputs/<group>/<file>.
JOB_INPUTS_PREFIX = "job-inputs"
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
CAPTION_EXTENSIONS: tuple[str, ...] = (".txt", ".caption")
INPUT_EXTENSIONS: tuple[str, ...] = IMAGE_EXTENSIONS + CAPTION_EXTENSIONS
MAX_NAME_LENGTH = 200
# File systems count bytes, not characters: ext4, APFS and NTFS hold 255 (UTF-8 bytes,
# or UTF-16 units, which are never more). New names keep room for a suffix the tools add
# (an output name gets ".safetensors"), so 240.
MAX_NAME_BYTES = 240
# Names Windows cannot hold, whatever the extension: the tree is often synced to (or
# mounted on) a Windows machine running the WebUI.
WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{port}{n}" for port in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")]
)
WINDOWS_FORBIDDEN_CHARACTERS = '<>:"/\\|?*'
# A plain name inside one folder, as job specs and references use it: no separators, a
# word character first (so never hidden, never "..").
PLAIN_NAME = re.compile(r"^[\w][\w .+\-()\[\]]{0,199}$")
# A Hugging Face repo id with an optional ":subfolder".
REPO_ID = re.compile(r"^[\w.\-]+/[\w.\-]+(:[\w.\-/]+)?$")

_BY_LOWER = {t.lower(): t for t in MODEL_TYPES}
# A suffix counts as an extension when it looks like one (".pt", ".bin"), so
# "model_v1.5" still gets ".ckpt" appended while "model.pt" is refused.
_EXTENSION_LIKE = re.compile(r"^\.[A-Za-z][A-Za-z0-9]{0,11}$")


def canonical_type(value: str) -> str:
    """Return the folder name for `value` (case-insensitive), or raise InvalidInput."""
    found = _BY_LOWER.get((value or "").strip().lower())
    if found is None:
        raise InvalidInput(f"unknown model type {value!r}; use one of: {', '.join(MODEL_TYPES)}")
    return found


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def extensions_for(model_type: str | None) -> tuple[str, ...]:
    """The file extensions a folder holds (EXTENSIONS for the checkpoint-like folders)."""
    return EXTENSIONS_BY_TYPE.get(model_type or "", EXTENSIONS)


def check_name(name: str, model_type: str | None = None) -> str:
    """Validate a model file name as stored (in `model_type`'s folder); return it unchanged."""
    if name is None or not name.strip():
        raise InvalidInput("model name is empty; give a file name such as my_model.safetensors")
    if name != name.strip():
        raise InvalidInput(f"model name {name!r} has leading or trailing spaces; remove them")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"model name is {len(name)} characters; use at most {MAX_NAME_LENGTH}")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise InvalidInput(f"model name {name!r} is an absolute path; give only the file name")
    if "/" in name or "\\" in name:
        raise InvalidInput(f"model name {name!r} contains a path separator; give only the file name")
    if ".." in name:
        raise InvalidInput(f"model name {name!r} contains '..'; give a plain file name")
    if name.startswith("."):
        raise InvalidInput(f"model name {name!r} starts with '.'; hidden names are not allowed")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidInput("model name contains control characters; use printable characters only")
    suffix = _suffix(name)
    allowed = extensions_for(model_type)
    if suffix.lower() not in allowed:
        where = f" in {model_type}/" if model_type in EXTENSIONS_BY_TYPE else ""
        raise InvalidInput(f"model name {name!r} must end in {' or '.join(allowed)}{where}")
    return name


def portable_name_problem(name: str, suffix: str = "") -> str | None:
    """Why a new file named `name` (+ `suffix`, which the tools add) could not live in a tree
    used on Linux, macOS and Windows alike (WebUI runs on all three), or None when it can."""
    size, limit = len(name.encode("utf-8", "surrogatepass")), MAX_NAME_BYTES - len(suffix.encode())
    if size > limit:
        return f"is {size} bytes in UTF-8; file systems hold 255, and names here may use at most {limit}"
    if any(ch in WINDOWS_FORBIDDEN_CHARACTERS for ch in name):
        return f"contains one of {WINDOWS_FORBIDDEN_CHARACTERS}, which Windows does not allow in file names"
    if name.endswith((" ", ".")):
        return "ends with a space or a dot, which Windows drops (the file would not be found)"
    stem = name.split(".", 1)[0].rstrip(" ")
    if stem.upper() in WINDOWS_RESERVED:
        return f"is a device name on Windows ({stem.upper()}), with or without an extension; rename it"
    return None


def check_new_name(name: str, model_type: str | None = None) -> str:
    """check_name, and the name must be one every WebUI platform can hold (a new file)."""
    check_name(name, model_type)
    problem = portable_name_problem(name)
    if problem is not None:
        raise InvalidInput(f"model name {name[:60]!r}{'…' if len(name) > 60 else ''} {problem}")
    return name


def normalize_upload_name(filename: str, model_type: str | None = None) -> str:
    """Name an uploaded file gets in `model_type`'s folder: `.ckpt` added when it has no extension."""
    if filename is None or not filename.strip():
        raise InvalidInput("filename is empty; give the model's file name")
    if filename != filename.strip():
        raise InvalidInput(f"filename {filename!r} has leading or trailing spaces; remove them")
    suffix = _suffix(filename)
    allowed = extensions_for(model_type)
    if suffix.lower() in allowed:
        return check_new_name(filename, model_type)
    if suffix and _EXTENSION_LIKE.match(suffix) and not suffix[1:].isdigit():
        where = f" in {model_type}/" if model_type in EXTENSIONS_BY_TYPE else ""
        raise InvalidInput(
            f"extension {suffix!r} is not supported{where}; models must be "
            f"{' or '.join(allowed)} (a file without extension gets {DEFAULT_EXTENSION})"
        )
    # check_name catches separators, '..' and the rest on the final name.
    return check_new_name(filename + DEFAULT_EXTENSION, model_type)


def model_key(model_type: str, name: str) -> str:
    """Storage key of a model: `<Type>/<name>`, both validated."""
    folder = canonical_type(model_type)
    return f"{folder}/{check_name(name, folder)}"


def model_format(name: str) -> str:
    return "safetensors" if name.lower().endswith(".safetensors") else "ckpt"


def is_plain_name(value: str) -> bool:
    """Whether `value` is one plain name (PLAIN_NAME, and no '..' anywhere in it)."""
    return isinstance(value, str) and bool(PLAIN_NAME.match(value)) and ".." not in value


def is_repo_id(value: str) -> bool:
    return isinstance(value, str) and bool(REPO_ID.match(value)) and ".." not in value


def strip_model_extension(name: str) -> str:
    """`x.safetensors` / `x.ckpt` -> `x` (any case); other names unchanged."""
    for ext in EXTENSIONS:
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


# Which folders each job reads, and through which spec field: the API resolves references
# with it, the README's table and the TUI's hints are written from it.
UPSCALER_TYPES: tuple[str, ...] = ("ESRGAN", "RealESRGAN", "SwinIR", "ScuNET")
FACE_RESTORER_TYPES: tuple[str, ...] = ("GFPGAN", "Codeformer")
FOLDER_USES: dict[str, tuple[str, ...]] = {
    "Stable-diffusion": (
        "txt2img/img2img: model, refiner_checkpoint",
        "train: base_model",
        "merge: model_a, model_b, model_c",
        "convert: model",
        "merge, export, train (dreambooth): results",
    ),
    "Lora": (
        "txt2img/img2img: loras and the prompt's lora tags",
        "merge: loras (baked into model_a)",
        "train: resume_from, results",
    ),
    "VAE": ("txt2img/img2img: vae",),
    "VAE-approx": ("txt2img/img2img: live previews (taesd_decoder / taesdxl_decoder)",),
    "embeddings": ("txt2img/img2img: names used in prompt and negative_prompt",),
    "ControlNet": ("txt2img/img2img: controlnet[].model",),
    **{t: ("upscale: upscaler_1, upscaler_2", "txt2img: hr_upscaler") for t in UPSCALER_TYPES},
    "GFPGAN": ("upscale: gfpgan_model",),
    "Codeformer": ("upscale: codeformer_model (where spandrel-extra-arches is installed)",),
}
# Folders no job reads, and why; a reference into one is refused with this reason.
UNSUPPORTED_FOLDERS: dict[str, str] = {
    "LDSR": "LDSR (latent diffusion super-resolution) is not supported: it is a full diffusion model per "
    "upscale, slower than every ESRGAN-family upscaler; use a model from ESRGAN/, RealESRGAN/ or SwinIR/",
    "hypernetworks": "hypernetworks are a legacy WebUI format that diffusers cannot load; "
    "use a LoRA from Lora/ instead",
    "CLIP": "CLIP/ holds the WebUI's interrogator models; interrogation is not a job here",
}


def unsupported_reason(folder: str) -> str | None:
    return UNSUPPORTED_FOLDERS.get(folder)
