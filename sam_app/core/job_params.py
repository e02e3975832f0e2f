"""Job params: checked per kind with the job code's own pydantic specs, references resolved.

Two passes, so the client hears about schema mistakes (422) before missing models
(400): first the spec checks everything but the references (masked with a valid
plain name), then the references are resolved against the tree and job inputs and
the spec the job will read is checked once more.
"""

from __future__ import annotations

import copy

from pydantic import ValidationError

from sdaws.contract.errors import Conflict, describe_validation_error
from sdaws.contract.import_spec import KIND as IMPORT_KIND
from sdaws.contract.import_spec import import_destination_folder
from sdaws.contract.model_tree import CONVERTED_PREFIX, REQUIRED_TYPE, normalize_upload_name, strip_model_extension
from sdaws.contract.outputs import result_marker_key
from sdaws.contract.prompts import lora_tag_names
from sdaws.contract.specs import LATENT_UPSCALERS, PIXEL_UPSCALERS, SPECS, parse_submitted

from .job_refs import InvalidParams, ParityRefs, Ref, RefResolver
from .jobs_ports import JobInput, JobInputs
from .ports import ObjectStore

# Reference fields a spec names by plain file name; masked while checking the rest of the params.
_GENERATION_REFS = ("model", "vae", "refiner_checkpoint", "hr_upscaler")
_REF_FIELDS = {
    "txt2img": _GENERATION_REFS,
    "img2img": (*_GENERATION_REFS, "init_image", "mask"),
    "train": ("base_model", "resume_from"),
    "merge": ("model_a", "model_b", "model_c"),
    "convert": ("model",),
    "export": ("model",),
    "upscale": ("image", "upscaler_1", "upscaler_2", "gfpgan_model", "codeformer_model"),
    "import": (),  # fetches from its source itself; nothing is staged
    "hash": (),  # reads its object from the bucket itself
}
# Lists of references: (list field, key inside each item or None for plain strings).
_REF_LISTS = (("loras", "name"), ("controlnet", "model"), ("controlnet", "image"), ("embeddings", None))
# Params the API takes that are not spec fields: they only say what to stage.
_API_ONLY = {"train": ("dataset",)}


class JobParams:
    def __init__(self, store: ObjectStore, inputs: JobInputs) -> None:
        self.store = store
        self.refs = RefResolver(store, inputs)
        self.parity = ParityRefs(store, self.refs)

    @staticmethod
    def _check_spec(kind: str, spec: dict) -> None:
        try:
            parse_submitted(kind, spec)  # strict: "20" is not a number (see sdaws.contract.specs)
        except ValidationError as exc:
            raise InvalidParams(describe_validation_error(exc, "params")) from None

    def _masked(self, kind: str, params: dict) -> dict:
        """Params with references replaced by a valid plain name: the spec checks everything else first."""
        masked = copy.deepcopy(params)
        for name in _REF_FIELDS[kind]:
            value = masked.get(name)
            # A built-in upscaler's name is no reference: the spec checks where it may be used.
            if isinstance(value, str) and value.strip() and value not in (*LATENT_UPSCALERS, *PIXEL_UPSCALERS):
                masked[name] = "ref"
        for list_field, key in _REF_LISTS:
            items = masked.get(list_field)
            if not isinstance(items, list):
                continue
            for i, item in enumerate(items):
                if key is None and isinstance(item, str) and item.strip():
                    items[i] = "ref"
                elif (
                    key is not None and isinstance(item, dict) and isinstance(item.get(key), str) and item[key].strip()
                ):
                    item[key] = "ref"
        for name in _API_ONLY.get(kind, ()):
            if name not in SPECS[kind].model_fields:
                masked.pop(name, None)
        return masked

    def _resolve(self, kind: str, params: dict) -> tuple[dict, list[JobInput]]:
        spec = copy.deepcopy(params)
        inputs: list[JobInput] = []

        def take(ref: Ref) -> str:
            if ref.input is not None:
                inputs.append(ref.input)
            return ref.spec_value

        r = self.refs
        if kind in ("txt2img", "img2img"):
            spec["model"] = take(r.model(params.get("model"), "model", "model", REQUIRED_TYPE))
            if params.get("vae") is not None:
                spec["vae"] = take(r.model(params["vae"], "vae", "vae", "VAE", converted=False))
            for i, lora in enumerate(params.get("loras") or []):
                spec["loras"][i]["name"] = take(
                    r.model(lora.get("name"), f"loras.{i}.name", "lora", "Lora", converted=False)
                )
            if kind == "img2img":
                spec["init_image"] = take(r.input_file(params.get("init_image"), "init_image", "init_image", True))
            self._resolve_parity(params, spec, take)
        elif kind == "train":
            spec["base_model"] = take(r.model(params.get("base_model"), "base_model", "model", REQUIRED_TYPE, hub=True))
            group = take(r.input_group(params.get("dataset"), "dataset", "dataset"))
            if "dataset" in SPECS[kind].model_fields:
                spec["dataset"] = group
            else:
                spec.pop("dataset", None)
            if params.get("resume_from") is not None:
                spec["resume_from"] = take(
                    r.model(params["resume_from"], "resume_from", "resume", "Lora", converted=False)
                )
        elif kind == "merge":
            for name in ("model_a", "model_b", "model_c"):
                if params.get(name) is not None:
                    spec[name] = take(r.model(params[name], name, name, REQUIRED_TYPE))
            for i, lora in enumerate(params.get("loras") or []):
                spec["loras"][i]["name"] = take(
                    r.model(lora.get("name"), f"loras.{i}.name", "lora", "Lora", converted=False)
                )
        elif kind == "upscale":
            spec["image"] = take(r.input_file(params.get("image"), "image", "image", outputs=True))
            for name in ("upscaler_1", "upscaler_2"):
                if params.get(name) is not None:
                    ref = self.parity.upscaler(params[name], name, "upscaler", PIXEL_UPSCALERS)
                    spec[name] = take(ref) if ref else params[name]
            for name, folder in (("gfpgan_model", "GFPGAN"), ("codeformer_model", "Codeformer")):
                if params.get(name) is not None:
                    spec[name] = take(r.model(params[name], name, "face_restorer", folder, converted=False))
        elif kind == "convert":
            spec["model"] = take(r.model(params.get("model"), "model", "model", REQUIRED_TYPE, converted=False))
        elif kind == "export":
            value = params.get("model")
            if isinstance(value, str) and value.lower().endswith((".safetensors", ".ckpt")):
                raise InvalidParams(
                    "params.model: export takes a converted model (diffusers/<name>); convert the file first"
                )
            spec["model"] = take(r.model(value, "model", "model", REQUIRED_TYPE))
        unique = {(i.channel, i.key): i for i in inputs}  # two units may share a model or an image
        return spec, list(unique.values())

    def _resolve_parity(self, params: dict, spec: dict, take) -> None:
        """ControlNet units, hires-fix upscaler, refiner, mask, embeddings, preview decoders."""
        r, p = self.refs, self.parity
        for i, unit in enumerate(params.get("controlnet") or []):
            if not isinstance(unit, dict):
                continue  # the spec check names the problem
            spec["controlnet"][i]["model"] = take(
                p.folder_model(unit.get("model"), f"controlnet.{i}.model", "controlnet", "ControlNet")
            )
            spec["controlnet"][i]["image"] = take(
                r.input_file(unit.get("image"), f"controlnet.{i}.image", f"control_image_{i}", outputs=True)
            )
        upscaler = params.get("hr_upscaler")
        if params.get("enable_hr") and upscaler is not None:
            ref = p.upscaler(upscaler, "hr_upscaler", "upscaler", (*LATENT_UPSCALERS, *PIXEL_UPSCALERS))
            spec["hr_upscaler"] = take(ref) if ref else upscaler
        if params.get("refiner_checkpoint") is not None:
            spec["refiner_checkpoint"] = take(
                r.model(params["refiner_checkpoint"], "refiner_checkpoint", "refiner", REQUIRED_TYPE)
            )
        if params.get("mask") is not None:
            spec["mask"] = take(r.input_file(params["mask"], "mask", "mask", outputs=True))
        named = {
            strip_model_extension(str(lora.get("name", "")).rsplit("/", 1)[-1]) for lora in spec.get("loras") or []
        }
        prompts = [text for text in (params.get("prompt"), params.get("negative_prompt")) if isinstance(text, str)]
        prompt = params.get("prompt")
        for name in lora_tag_names(prompt if isinstance(prompt, str) else ""):
            if name not in named:  # the job reads `<lora:name:w>` tags too; their files must be staged
                take(r.model(f"{name}.safetensors", "prompt", "lora", "Lora", converted=False))
        found = p.embeddings(params.get("embeddings"), prompts, "embeddings", "embeddings")
        spec["embeddings"] = [take(ref) for ref in found]
        if params.get("preview_every"):
            for ref in p.preview_decoders("vae_approx"):
                take(ref)

    def _check_import_target(self, kind: str, spec: dict) -> None:
        """A named import that would replace a model fails now, not after the download."""
        if kind != IMPORT_KIND or not spec.get("name") or spec.get("overwrite"):
            return
        folder = import_destination_folder(spec["type"])
        name = spec["name"] if folder == CONVERTED_PREFIX else normalize_upload_name(spec["name"])
        marker = f"{folder}/{name}/model_index.json" if folder == CONVERTED_PREFIX else f"{folder}/{name}"
        if self.store.head(marker) is not None:
            raise Conflict(f"{folder}/{name} already exists; choose another name or pass overwrite")

    def validate(self, kind: str, params: dict) -> tuple[dict, list[JobInput]]:
        """Check params for `kind`; returns (spec for the job code, inputs to stage)."""
        if kind not in SPECS:
            raise InvalidParams(f"kind {kind!r} is not a job kind; one of {', '.join(SPECS)}")
        if not isinstance(params, dict):
            raise InvalidParams("params must be a JSON object")
        self._check_spec(kind, self._masked(kind, params))
        spec, inputs = self._resolve(kind, params)
        self._check_spec(kind, spec)
        self._check_import_target(kind, spec)
        marker = result_marker_key(kind, spec)
        if marker is not None and self.store.head(marker) is not None:
            raise Conflict(
                f"{marker.removesuffix('/model_index.json')} already exists; choose another output_name or delete it"
            )
        return spec, inputs
