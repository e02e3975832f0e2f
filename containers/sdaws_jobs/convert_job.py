"""The convert and export jobs: thin wrappers over the conversion engine.

convert: single file in the model channel -> output/diffusers/<name>/ (a folder).
export:  diffusers folder in the model channel -> output/Stable-diffusion/<name>.safetensors.
The engine writes atomically and raises SpecError subclasses for bad input, which the
entrypoint turns into exit code 2 with the message.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from sdaws.contract.specs import ConvertSpec, ExportSpec

from . import progress
from .errors import SpecError
from .layout import Layout
from .model_ref import find_model


def _tensor_progress():
    bar: list[progress.Progress] = []

    def report(done: int, total: int, name: str) -> None:
        if not bar:
            bar.append(progress.Progress(total))
        bar[0].advance(done - bar[0].step, message=name)

    return report


def _same_file(a, b) -> bool:
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_dev, b.st_ino, b.st_size, b.st_mtime_ns)


def _sha256_alongside(src: Path) -> Callable[[], str | None]:
    """Hash `src` on another core while it converts; the returned call waits for the hash
    (None when the file changed meanwhile or could not be read: then nothing is claimed)."""
    from .convert.identity import file_sha256

    before, result = src.stat(), {}

    def work() -> None:
        with contextlib.suppress(OSError):
            result["sha256"] = file_sha256(src)

    thread = threading.Thread(target=work, name="sdaws-convert-hash", daemon=True)
    thread.start()

    def wait() -> str | None:
        thread.join()
        return result.get("sha256") if _same_file(before, src.stat()) else None

    return wait


def run_convert(spec: ConvertSpec, layout: Layout, kind: str) -> None:
    from .convert import convert_checkpoint
    from .model_cache import job_model_cache, stamp_source_sha256

    ref = find_model(layout.channel("model"), spec.model.rsplit("/", 1)[-1] if spec.model else None)
    if ref.kind != "single_file":
        raise SpecError("convert takes a single .safetensors/.ckpt file; this model is already a diffusers folder")
    target, folder, name = layout.result_path(kind, spec.model_dump())
    sha256 = _sha256_alongside(ref.path)
    summary = convert_checkpoint(
        ref.path,
        target,
        arch=None if spec.arch == "auto" else spec.arch,
        prediction_type=spec.prediction_type,
        image_size=spec.image_size,
        upcast_attention=spec.upcast_attention,
        half=spec.half,
        ema=spec.ema,
        progress=_tensor_progress(),
    )
    sha = sha256()
    if sha:
        # txt2img/img2img/train on this file then load this folder instead of converting again.
        stamp_source_sha256(target, sha)
        job_model_cache().remember(ref.path, ref.path.stat(), sha)
    reasons = "; ".join(summary.get("reasons", []))
    progress.message(f"detected {summary.get('arch')}: {reasons}" if reasons else f"detected {summary.get('arch')}")
    progress.output(
        layout.relative(target),
        folder,
        name,
        arch=summary.get("arch"),
        prediction_type=summary.get("prediction_type"),
        image_size=summary.get("image_size"),
    )


def run_export(spec: ExportSpec, layout: Layout, kind: str) -> None:
    from .convert import export_pipeline

    ref = find_model(layout.channel("model"), spec.model.rsplit("/", 1)[-1] if spec.model else None)
    if ref.kind != "diffusers":
        raise SpecError("export takes a diffusers folder (model_index.json); this model is a single file already")
    target, folder, name = layout.result_path(kind, spec.model_dump())
    export_pipeline(ref.path, target, half=spec.half)
    progress.output(layout.relative(target), folder, name)
