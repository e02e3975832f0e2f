"""Single-file checkpoint -> diffusers folder, offline, streamed, atomic."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from .atomic import atomic_dir
from .configs import configs_root, fit_clip_l, fit_open_clip, fit_unet, fit_vae, shipped
from .detection import detect
from .errors import ConvertError, CorruptCheckpointError, deep_input_is_convert_error
from .identity import quick_fingerprint
from .plan import TEXT_ENCODERS, family, make_plan
from .source import Source
from .st_io import write_file
from .writer import entry, write_component

PREDICTION_TYPES = ("epsilon", "v_prediction")
EXTRAS_FILE = "sdaws_original_extras.safetensors"  # source tensors diffusers does not keep
CONVERSION_RECORD = "sdaws_conversion.json"  # what was converted from what, with which options
WEIGHT_FILES = {
    "unet": "diffusion_pytorch_model.safetensors",
    "vae": "diffusion_pytorch_model.safetensors",
    "text_encoder": "model.safetensors",
    "text_encoder_2": "model.safetensors",
}


def _dump(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def _write_tokenizers(tmp: Path, arch: str) -> None:
    root = configs_root()
    for name in ("tokenizer", "tokenizer_2"):
        cfg = root / arch / name / "tokenizer_config.json"
        if cfg.is_file():
            (tmp / name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cfg, tmp / name / "tokenizer_config.json")
            for f in ("vocab.json", "merges.txt"):
                shutil.copyfile(root / "tokenizer" / f, tmp / name / f)
            special = json.loads(cfg.read_text())
            _dump(
                tmp / name / "special_tokens_map.json",
                {k: special[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token")},
            )


def _configs(arch: str, shapes: dict, det) -> dict[str, dict]:
    out = {
        "unet": fit_unet(shipped(arch, "unet"), shapes, det.image_size, det.upcast_attention, det.prediction_type),
        "vae": fit_vae(shipped(arch, "vae"), shapes, det.image_size),
    }
    for component, kind, prefix in TEXT_ENCODERS[family(arch)]:
        base = shipped(arch, component)
        if kind == "clip_l":
            out[component] = fit_clip_l(base, shapes, prefix)
        else:
            out[component] = fit_open_clip(base, shapes, prefix, drop_last=kind == "open_clip")
    return out


@deep_input_is_convert_error
def convert_checkpoint(
    src: Path,
    output: Path,
    *,
    arch: str | None = None,
    prediction_type: str | None = None,
    image_size: int | None = None,
    upcast_attention: bool | None = None,
    half: bool = False,
    ema: bool = False,
    progress=None,
    source_sha256: str | None = None,
) -> dict:
    """Convert `src` (.safetensors/.ckpt) into a diffusers folder at `output`; returns a summary.

    The folder's sdaws_conversion.json records the source's size, mtime and quick
    fingerprint (and its sha256 when the caller knows it), so the converted-model cache can recognise a
    tree's diffusers/ folder as the conversion of a given file and reuse it.
    """
    started = time.monotonic()
    src, output = Path(src), Path(output)
    if prediction_type is not None and prediction_type not in PREDICTION_TYPES:
        raise ConvertError(f"--prediction-type must be one of {', '.join(PREDICTION_TYPES)}, not {prediction_type!r}")
    if image_size is not None and (image_size <= 0 or image_size % 8):
        raise ConvertError(f"--image-size must be a positive multiple of 8, not {image_size}")
    if output.exists():
        raise ConvertError(f"{output} already exists; remove it or choose another --output")
    with Source(src) as source:
        det = detect(source, arch)
        if prediction_type:
            det.prediction_type = prediction_type
            det.reasons.append(f"prediction type {prediction_type} given by the caller")
        if image_size:
            det.image_size = image_size
            det.reasons.append(f"image size {image_size} given by the caller")
        if upcast_attention is not None:
            det.upcast_attention = upcast_attention
        shapes = {k: v[1] for k, v in source.infos.items()}
        try:
            configs = _configs(det.arch, shapes, det)
        except KeyError as exc:
            raise ConvertError(
                f"{src.name} lacks {exc.args[0]}, which a {det.arch} model must have; "
                "the file is incomplete or not this architecture (see --arch)"
            ) from None
        text_layers = {c: cfg["num_hidden_layers"] for c, cfg in configs.items() if c.startswith("text_encoder")}
        plan = make_plan(shapes, det.arch, text_layers, ema=ema)
        total, done = plan.tensor_count, 0

        def tick(name):
            nonlocal done
            done += 1
            if progress:
                progress(done, total, name)

        written = 0
        with atomic_dir(output) as tmp:
            arch_dir = configs_root() / det.arch
            index = json.loads((arch_dir / "model_index.json").read_text())
            _dump(tmp / "model_index.json", index)
            sched = shipped(det.arch, "scheduler", "scheduler_config.json")
            sched["prediction_type"] = det.prediction_type
            _dump(tmp / "scheduler" / "scheduler_config.json", sched)
            _write_tokenizers(tmp, det.arch)
            try:
                for component, moves in plan.components.items():
                    _dump(tmp / component / "config.json", configs[component])
                    written += write_component(tmp / component / WEIGHT_FILES[component], source, moves, half, tick)
                if plan.extras:
                    from .plan import Move

                    entries = [entry(source, Move(k, k), False) for k in plan.extras]
                    written += write_file(tmp / EXTRAS_FILE, entries, {"sdaws_arch": det.arch}, on_tensor=tick)
            except OSError as exc:
                raise ConvertError(f"writing {output} failed: {exc.strerror or exc}; check free disk space") from None
            except (RuntimeError, ValueError) as exc:
                raise CorruptCheckpointError(f"{src.name} could not be read ({exc}); the file may be damaged") from None
            stat = src.stat()
            identity = {
                "source_bytes": stat.st_size,
                "source_mtime_ns": stat.st_mtime_ns,
                "source_quick": quick_fingerprint(src),
            }
            if source_sha256:
                identity["source_sha256"] = source_sha256
            record = {**det.as_dict(), "source": src.name, "half": half, "ema": ema, **identity}
            _dump(tmp / CONVERSION_RECORD, record)
    return {
        **det.as_dict(),
        "source": str(src),
        "output": str(output),
        "tensors_written": total,
        "bytes_written": written,
        "half": half,
        "ema": ema,
        "seconds": round(time.monotonic() - started, 3),
    }
