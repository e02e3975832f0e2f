"""Where a job reads its spec and inputs and writes its outputs.

Every job kind runs against one directory tree shaped like SageMaker's /opt/ml, so the
very same command runs in a SageMaker container and as a local subprocess:

    WORKDIR/
      input/
        config/
          spec.json              the job's params, a JSON object (see specs.py)
          hyperparameters.json   SageMaker training jobs, used when spec.json is
                                 absent: {"spec_channel": C} points at
                                 input/data/C/spec.json (what the launcher sends:
                                 hyperparameter values are capped at 2,500
                                 characters); or string values, one key per field
                                 or one key "spec" holding the whole JSON
        data/<channel>/          inputs, one folder per channel:
          model/                 base model: a single .safetensors/.ckpt file or a
                                 diffusers folder (model_index.json)
          vae/ lora/             files named by the spec (vae, loras[].name)
          init_image/            img2img source image named by spec.init_image
          dataset/               training images + same-stem .txt captions
          model_a/ model_b/ model_c/   merge inputs
      output/                    results; files land under <type>/<name>, e.g.
                                 images/00000-123.png, Lora/x.safetensors,
                                 Stable-diffusion/x.safetensors, diffusers/x/,
                                 samples/step-000010-0.png

    python -m sdaws_jobs <kind> --workdir WORKDIR

Variants:
  * no --workdir: WORKDIR is /opt/ml (SageMaker). When the spec comes from
    hyperparameters.json (a SageMaker training job) results go to /opt/ml/model,
    which SageMaker uploads, unless --output or $SDAWS_OUTPUT_DIR says otherwise;
    on failure the message is also written to /opt/ml/output/failure, which
    SageMaker shows as the job's FailureReason.
  * SageMaker processing jobs: `--workdir /opt/ml/processing` with the processing
    inputs mounted at input/config and input/data/<channel> and the output at
    output/; or any mount points with `--input DIR` (holding config/ and data/)
    and `--output DIR`.
  * `--spec FILE` reads the spec from FILE instead of input/config/.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdaws.contract.hyperparameters import SPEC_FILE, from_sagemaker_hyperparameters, spec_channel
from sdaws.contract.outputs import result_folder, result_name

from .errors import SpecError

DEFAULT_WORKDIR = Path("/opt/ml")


@dataclass(frozen=True)
class Layout:
    input_dir: Path
    output_dir: Path
    spec_file: Path | None = None
    failure_file: Path | None = None

    @classmethod
    def resolve(
        cls,
        workdir: str | Path | None = None,
        input_dir: str | Path | None = None,
        output_dir: str | Path | None = None,
        spec_file: str | Path | None = None,
    ) -> Layout:
        root = Path(workdir) if workdir else DEFAULT_WORKDIR
        inp = Path(input_dir) if input_dir else root / "input"
        config = inp / "config"
        sagemaker_training = (
            spec_file is None and not (config / "spec.json").exists() and (config / "hyperparameters.json").exists()
        )
        out = output_dir or os.environ.get("SDAWS_OUTPUT_DIR")
        if out:
            out_path = Path(out)
        elif sagemaker_training:
            out_path = root / "model"
        else:
            out_path = root / "output"
        failure = root / "output" / "failure" if sagemaker_training else None
        return cls(inp, out_path, Path(spec_file) if spec_file else None, failure)

    def channel(self, name: str) -> Path:
        return self.input_dir / "data" / name

    def load_spec(self, kind: str) -> dict[str, Any]:
        config = self.input_dir / "config"
        candidates = [self.spec_file] if self.spec_file else [config / "spec.json", config / "hyperparameters.json"]
        for path in candidates:
            if path is not None and path.is_file():
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                except ValueError as exc:
                    raise SpecError(f"{path} is not valid JSON: {exc}") from exc
                if not isinstance(data, dict):
                    raise SpecError(f"{path} must hold a JSON object")
                if path.name == "hyperparameters.json":
                    try:
                        channel = spec_channel(data)
                        if channel is not None:
                            return self._channel_spec(channel)
                        data = from_sagemaker_hyperparameters(kind, data)
                    except ValueError as exc:
                        raise SpecError(f"{path}: {exc}") from exc
                return data
        raise SpecError(f"no spec found: expected {' or '.join(str(c) for c in candidates)}")

    def _channel_spec(self, channel: str) -> dict[str, Any]:
        path = self.channel(channel) / SPEC_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise SpecError(f"the hyperparameters name the spec channel {channel!r} but {path} is missing") from exc
        except ValueError as exc:
            raise SpecError(f"{path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise SpecError(f"{path} must hold a JSON object")
        return data

    def output_path(self, *parts: str) -> Path:
        """A path under output/, its parent folder created."""
        path = self.output_dir.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path: Path) -> str:
        return path.relative_to(self.output_dir).as_posix()

    def result_path(self, kind: str, spec: dict[str, Any]) -> tuple[Path, str, str]:
        """(path, tree folder, name) of the job's named result, placed by sdaws.contract.outputs."""
        folder, name = result_folder(kind, spec), result_name(kind, spec)
        if folder is None or name is None:
            raise SpecError(f"a {kind} job has no named result")
        return self.output_path(folder, name), folder, name
