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
from sdaws.contract.model_tree import REQUIRED_TYPE
from sdaws.contract.outputs import result_marker_key
from sdaws.contract.specs import SPECS, parse_submitted

from .job_refs import InvalidParams, Ref, RefResolver
from .jobs_ports import JobInput, JobInputs
from .ports import ObjectStore

# Reference fields a spec names by plain file name; masked while checking the rest of the params.
_REF_FIELDS = {
    "txt2img": ("model", "vae"),
    "img2img": ("model", "vae", "init_image"),
    "train": ("base_model",),
    "merge": ("model_a", "model_b", "model_c"),
    "convert": ("model",),
    "export": ("model",),
}
# Params the API takes that are not spec fields: they only say what to stage.
_API_ONLY = {"train": ("dataset",)}


class JobParams:
    def __init__(self, store: ObjectStore, inputs: JobInputs) -> None:
        self.store = store
        self.refs = RefResolver(store, inputs)

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
            if isinstance(masked.get(name), str) and masked[name].strip():
                masked[name] = "ref"
        for lora in masked.get("loras") or []:
            if isinstance(lora, dict) and isinstance(lora.get("name"), str) and lora["name"].strip():
                lora["name"] = "ref"
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
                spec["init_image"] = take(r.input_file(params.get("init_image"), "init_image", "init_image"))
        elif kind == "train":
            spec["base_model"] = take(r.model(params.get("base_model"), "base_model", "model", REQUIRED_TYPE, hub=True))
            group = take(r.input_group(params.get("dataset"), "dataset", "dataset"))
            if "dataset" in SPECS[kind].model_fields:
                spec["dataset"] = group
            else:
                spec.pop("dataset", None)
        elif kind == "merge":
            for name in ("model_a", "model_b", "model_c"):
                if params.get(name) is not None:
                    spec[name] = take(r.model(params[name], name, name, REQUIRED_TYPE))
        elif kind == "convert":
            spec["model"] = take(r.model(params.get("model"), "model", "model", REQUIRED_TYPE, converted=False))
        elif kind == "export":
            value = params.get("model")
            if isinstance(value, str) and value.lower().endswith((".safetensors", ".ckpt")):
                raise InvalidParams(
                    "params.model: export takes a converted model (diffusers/<name>); convert the file first"
                )
            spec["model"] = take(r.model(value, "model", "model", REQUIRED_TYPE))
        return spec, inputs

    def validate(self, kind: str, params: dict) -> tuple[dict, list[JobInput]]:
        """Check params for `kind`; returns (spec for the job code, inputs to stage)."""
        if kind not in SPECS:
            raise InvalidParams(f"kind {kind!r} is not a job kind; one of {', '.join(SPECS)}")
        if not isinstance(params, dict):
            raise InvalidParams("params must be a JSON object")
        self._check_spec(kind, self._masked(kind, params))
        spec, inputs = self._resolve(kind, params)
        self._check_spec(kind, spec)
        marker = result_marker_key(kind, spec)
        if marker is not None and self.store.head(marker) is not None:
            raise Conflict(
                f"{marker.removesuffix('/model_index.json')} already exists; choose another output_name or delete it"
            )
        return spec, inputs
