"""Model and input references in job params, resolved to the channels a job reads.

Clients name things as users see them:
  * a file in the tree: `Stable-diffusion/x.safetensors`, or just `x.safetensors`
    for the folder the field implies (`Lora/` for loras, `VAE/` for vae);
  * a converted diffusers folder: `diffusers/x`, or just `x` (no extension);
  * for a training base model also a Hugging Face repo id `org/name[:subfolder]`;
  * job inputs sent through POST /job-inputs: `job-inputs/<group>/<file>` for one
    file (img2img `init_image`, `mask`, a ControlNet image) and `<group>` for a whole
    dataset (train `dataset`); an image a job made is named by its output key;
  * an upscaler: `ESRGAN/x.pth` (or RealESRGAN/, SwinIR/, ScuNET/), or just `x.pth`,
    found in the first of those folders that has it;
  * ControlNet models: `ControlNet/x.safetensors` or a diffusers folder `ControlNet/x`;
  * embeddings: every file in `embeddings/` whose name the prompts use as a word.

Every reference is checked here — no separators beyond the one folder, no `..`,
nothing outside the tree — and each becomes a JobInput plus the plain name the job
code finds in its channel folder, which is what goes into the job's spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sdaws.contract.errors import InvalidInput
from sdaws.contract.model_tree import (
    CONVERTED_PREFIX,
    IMAGE_EXTENSIONS,
    INPUT_EXTENSIONS,
    JOB_INPUTS_PREFIX,
    MODEL_TYPES,
    UPSCALER_TYPES,
    canonical_type,
    check_name,
    extensions_for,
    is_plain_name,
    is_repo_id,
    unsupported_reason,
)
from sdaws.contract.outputs import is_job_output_key
from sdaws.contract.prompts import uses_word

from .jobs_ports import JobInput, JobInputs
from .ports import ObjectStore

_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_TYPES_LOWER = {t.lower() for t in MODEL_TYPES}


class InvalidParams(InvalidInput):
    """Params that do not fit the job kind; answered as 422 like any schema error."""

    code = "validation_error"


@dataclass(frozen=True)
class Ref:
    input: JobInput | None  # None: nothing to stage (a hub repo id)
    spec_value: str  # what the job's spec names


def check_group(group: str) -> str:
    if not isinstance(group, str) or not _GROUP.match(group) or ".." in group:
        raise InvalidParams(
            f"group {group!r} must be 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit"
        )
    return group


def check_input_filename(filename: str) -> str:
    if not is_plain_name(filename):
        raise InvalidParams(f"filename {filename!r} must be a plain file name (no folders, no '..')")
    if not filename.lower().endswith(INPUT_EXTENSIONS):
        raise InvalidParams(f"filename {filename!r} must end in one of {', '.join(INPUT_EXTENSIONS)}")
    return filename


def _plain(value: str, field: str) -> str:
    if not is_plain_name(value):
        raise InvalidParams(f"params.{field}: {value!r} is not a valid name (no '..', no path separators)")
    return value


class RefResolver:
    """Turns params' references into checked JobInputs; `check` also verifies they exist."""

    def __init__(self, store: ObjectStore, inputs: JobInputs) -> None:
        self.store = store
        self.inputs = inputs

    def _converted(self, name: str, field: str, channel: str) -> Ref:
        name = _plain(name, field)
        if self.store.head(f"{CONVERTED_PREFIX}/{name}/model_index.json") is None:
            raise InvalidInput(
                f"params.{field}: no converted model {name!r} ({CONVERTED_PREFIX}/{name}); convert a checkpoint first"
            )
        return Ref(JobInput(channel, f"{CONVERTED_PREFIX}/{name}", folder=True), name)

    def _tree_file(self, folder: str, name: str, field: str, channel: str) -> Ref:
        try:
            key = f"{folder}/{check_name(name, folder)}"
        except InvalidInput as exc:
            raise InvalidParams(f"params.{field}: {exc.message}") from None
        if self.store.head(key) is None:
            raise InvalidInput(f"params.{field}: {key} is not in the model tree; upload it or list {folder}/ for names")
        return Ref(JobInput(channel, key), name)

    def model(self, value, field: str, channel: str, folder: str, converted: bool = True, hub: bool = False) -> Ref:
        """A model reference: tree file, converted folder, or (where `hub`) a Hugging Face repo id."""
        if not isinstance(value, str) or not value.strip():
            raise InvalidParams(f"params.{field}: give a model name such as {folder}/model.safetensors")
        value = value.strip()
        head, sep, rest = value.partition("/")
        if sep and head == CONVERTED_PREFIX and converted and "/" not in rest:
            return self._converted(rest, field, channel)
        if sep and head.lower() in _TYPES_LOWER and "/" not in rest:
            actual = canonical_type(head)
            _refuse_unsupported(actual, field)
            if actual != folder:
                raise InvalidParams(f"params.{field}: expects a model from {folder}/, not {actual}/")
            return self._tree_file(folder, rest, field, channel)
        if sep:
            if hub and is_repo_id(value):
                return Ref(None, value)
            where = f"{folder}/<file>" + (f", {CONVERTED_PREFIX}/<name>" if converted else "")
            where += ", or a Hugging Face repo id org/name" if hub else ""
            raise InvalidParams(f"params.{field}: {value!r} is not a model reference; use {where}")
        if value.lower().endswith(extensions_for(folder)):
            return self._tree_file(folder, value, field, channel)
        if converted:
            return self._converted(value, field, channel)
        raise InvalidParams(f"params.{field}: {value!r} must be a .safetensors or .ckpt file in {folder}/")

    def input_file(self, value, field: str, channel: str, outputs: bool = False) -> Ref:
        """A file sent through POST /job-inputs; where `outputs`, also an image a job made (its output key)."""
        prefix = f"{JOB_INPUTS_PREFIX}/"
        if outputs and isinstance(value, str) and is_job_output_key(value):
            filename = value.rsplit("/", 1)[-1]
            if not filename.lower().endswith(IMAGE_EXTENSIONS) or not is_plain_name(filename):
                raise InvalidParams(f"params.{field}: {value!r} is not an image ({', '.join(IMAGE_EXTENSIONS)})")
            if not self.inputs.exists(value):
                raise InvalidInput(f"params.{field}: {value} is not an output of any job; list the job's outputs")
            return Ref(JobInput(channel, value), filename)
        if not isinstance(value, str) or not value.startswith(prefix) or value.count("/") != 2:
            raise InvalidParams(f"params.{field}: give the key POST /job-inputs returned ({prefix}<group>/<file>)")
        _, group, filename = value.split("/")
        check_group(group)
        try:
            check_input_filename(filename)
        except InvalidParams as exc:
            raise InvalidParams(f"params.{field}: {exc.message}") from None
        if not self.inputs.exists(value):
            raise InvalidInput(f"params.{field}: {value} was not uploaded; POST /job-inputs and PUT the file first")
        return Ref(JobInput(channel, value), filename)

    def input_group(self, value, field: str, channel: str) -> Ref:
        if isinstance(value, str) and value.startswith(f"{JOB_INPUTS_PREFIX}/"):
            value = value[len(JOB_INPUTS_PREFIX) + 1 :].rstrip("/")
        try:
            group = check_group(value)
        except InvalidParams as exc:
            raise InvalidParams(f"params.{field}: {exc.message}") from None
        if not self.inputs.list_group(group):
            raise InvalidInput(
                f"params.{field}: job-input group {group!r} is empty; upload the images with POST /job-inputs first"
            )
        return Ref(JobInput(channel, f"{JOB_INPUTS_PREFIX}/{group}", folder=True), group)


# TAESD decoders by the names the WebUI looks for in VAE-approx/ (SD1/SD2, SDXL).
PREVIEW_DECODERS = ("taesd_decoder", "taesdxl_decoder")


def _refuse_unsupported(folder: str, field: str) -> None:
    reason = unsupported_reason(folder)
    if reason:
        raise InvalidParams(f"params.{field}: {folder}/ is not used by any job: {reason}")


def _folder_and_name(value: str, field: str, usage: str) -> tuple[str | None, str]:
    """("Folder", "name") for a "Folder/name" reference (the folder's canonical spelling),
    (None, value) for a bare name; anything deeper is refused, showing `usage`."""
    head, sep, rest = value.partition("/")
    if not sep:
        return None, value
    if head.lower() not in _TYPES_LOWER or "/" in rest:
        raise InvalidParams(f"params.{field}: {value!r} is not a model reference; use {usage}")
    folder = canonical_type(head)
    _refuse_unsupported(folder, field)
    return folder, rest


class ParityRefs:
    """References of the WebUI-parity fields: upscalers, ControlNet models, embeddings."""

    def __init__(self, store: ObjectStore, refs: RefResolver) -> None:
        self.store = store
        self.refs = refs

    def upscaler(self, value, field: str, channel: str, builtin: tuple[str, ...]) -> Ref | None:
        """None for a built-in upscaler (`builtin`); else the model file in an upscaler folder."""
        if not isinstance(value, str) or not value.strip():
            raise InvalidParams(f"params.{field}: give {', '.join(builtin)} or a model such as ESRGAN/4x.pth")
        value = value.strip()
        if value in builtin:
            return None
        folder, name = _folder_and_name(value, field, "ESRGAN/<file>")
        if folder is not None:
            if folder not in UPSCALER_TYPES:
                raise InvalidParams(
                    f"params.{field}: an upscaler comes from {', '.join(UPSCALER_TYPES)}, not {folder}/"
                )
            return self.refs._tree_file(folder, name, field, channel)
        for folder in UPSCALER_TYPES:
            if value.lower().endswith(extensions_for(folder)) and self.store.head(f"{folder}/{value}") is not None:
                return self.refs._tree_file(folder, value, field, channel)
        raise InvalidInput(
            f"params.{field}: {value!r} is neither a built-in upscaler ({', '.join(builtin)}) "
            f"nor a model file in {', '.join(f + '/' for f in UPSCALER_TYPES)}"
        )

    def folder_model(self, value, field: str, channel: str, folder: str) -> Ref:
        """A model in `folder`: a file, or a diffusers folder (config.json) of that name."""
        if not isinstance(value, str) or not value.strip():
            raise InvalidParams(f"params.{field}: give a model name such as {folder}/model.safetensors")
        value = value.strip()
        actual, value = _folder_and_name(value, field, f"{folder}/<name>")
        if actual is not None and actual != folder:
            raise InvalidParams(f"params.{field}: expects a model from {folder}/, not {actual}/")
        if value.lower().endswith(extensions_for(folder)):
            return self.refs._tree_file(folder, value, field, channel)
        name = _plain(value, field)
        if self.store.head(f"{folder}/{name}/config.json") is None:
            raise InvalidInput(
                f"params.{field}: {folder}/{name} is neither a model file nor a diffusers folder (config.json)"
            )
        return Ref(JobInput(channel, f"{folder}/{name}", folder=True), name)

    def _listing(self, folder: str) -> list[str]:
        names, after = [], None
        while True:
            page, more = self.store.list_files(f"{folder}/", after, 1000)
            names += [o.key.split("/", 1)[1] for o in page]
            if not more or not page:
                return names
            after = page[-1].key

    def preview_decoders(self, channel: str) -> list[Ref]:
        """The TAESD decoders in VAE-approx/ (none: previews use the cheap latent-to-RGB approximation)."""
        folder = "VAE-approx"
        found = []
        for name in self._listing(folder):
            stem, _, ext = name.rpartition(".")
            if stem in PREVIEW_DECODERS and f".{ext.lower()}" in extensions_for(folder):
                found.append(Ref(JobInput(channel, f"{folder}/{name}"), name))
        return found

    def embeddings(self, explicit, prompts: list[str], field: str, channel: str) -> list[Ref]:
        """The embeddings named in `explicit` plus every file of embeddings/ whose name the prompts use."""
        folder = "embeddings"
        refs: dict[str, Ref] = {}
        for i, value in enumerate(explicit or []):
            ref = self.refs.model(value, f"{field}.{i}", channel, folder, converted=False)
            refs[ref.spec_value] = ref
        text = " ".join(p for p in prompts if isinstance(p, str))
        if not text.strip():
            return list(refs.values())
        allowed = extensions_for(folder)
        for name in self._listing(folder):
            stem = name.rsplit(".", 1)[0]  # the WebUI's name for the embedding: the file name without extension
            if name not in refs and name.lower().endswith(allowed) and uses_word(text, stem):
                refs[name] = Ref(JobInput(channel, f"{folder}/{name}"), name)
        return list(refs.values())
