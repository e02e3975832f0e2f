"""Diffusers folder -> single-file safetensors in the original (ldm/sgm) layout.

The inverse of conversion, streamed the same way: names come from the same prefix
tables, q/k/v of OpenCLIP blocks are stacked back into `in_proj` by writing their
bytes one after the other, and the tensors conversion set aside
(`sdaws_original_extras.safetensors`) are put back, so export(convert(x)) == x.
"""

from __future__ import annotations

import time
from pathlib import Path

from sdaws.contract.json_limits import TooDeep, loads_bounded

from .atomic import atomic_file
from .convert import EXTRAS_FILE
from .errors import ConvertError, deep_input_is_convert_error
from .keymap_clip import open_clip_to_original
from .keymap_unet import UNetNames, layout_from_config
from .keymap_vae import VaeNames
from .plan import TEXT_ENCODERS, Move
from .source import Source
from .st_io import OutEntry, emit, write_file
from .writer import entry


def _read_json(path: Path) -> dict:
    try:
        value = loads_bounded(path.read_bytes())
    except FileNotFoundError:
        raise ConvertError(f"{path.parent} is not a diffusers model folder: {path.name} is missing") from None
    except TooDeep as exc:
        raise ConvertError(f"{path}: {exc}; a diffusers config is a flat object") from None
    except (OSError, ValueError):
        raise ConvertError(f"{path} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ConvertError(f"{path} is not a JSON object")
    return value


def _family(src_dir: Path) -> str:
    index = _read_json(src_dir / "model_index.json")
    if "XL" in index.get("_class_name", ""):
        te = index.get("text_encoder") or [None]
        return "sdxl" if te[0] else "sdxl-refiner"
    te_cfg = _read_json(src_dir / "text_encoder" / "config.json")
    return "sd2" if te_cfg.get("hidden_act") == "gelu" else "sd1"


class _Component:
    """All weight files of one component folder, key -> the Source holding it."""

    def __init__(self, folder: Path):
        files = sorted(p for p in folder.glob("*.safetensors") if p.name.count(".") == 1)
        if not files:
            files = sorted(p for p in folder.glob("*.bin") if p.name.count(".") == 1)
        if not files:
            raise ConvertError(f"{folder} has no weights (.safetensors or .bin)")
        self.sources = [Source(p) for p in files]
        self.where = {k: s for s in self.sources for k in s.infos}

    def close(self):
        for s in self.sources:
            s.close()


def _qkv_entry(name: str, comp: _Component, parts: list[str], half: bool) -> OutEntry:
    entries = [entry(comp.where[p], Move(p, p), half) for p in parts]
    shape = (sum(e.shape[0] for e in entries), *entries[0].shape[1:])

    def produce(out):
        for e in entries:
            emit(e, out)

    return OutEntry(name, entries[0].dtype, shape, produce, entries[0].order, source=entries[0].source)


def _text_entries(comp: _Component, kind: str, prefix: str, half: bool) -> list[OutEntry]:
    out, stacked = [], {}
    for key in comp.where:
        full = key if key.startswith(("text_model.", "text_projection")) else "text_model." + key
        if kind == "clip_l":
            out.append(entry(comp.where[key], Move(prefix + full, key), half))
            continue
        hit = open_clip_to_original(full)
        if hit is None:
            continue  # e.g. a stray position_ids buffer
        name, op = hit
        if isinstance(op, tuple):
            stacked.setdefault(prefix + name, [None, None, None])[op[1]] = key
        else:
            out.append(entry(comp.where[key], Move(prefix + name, key, op), half))
    for name, parts in stacked.items():
        if None in parts:
            raise ConvertError(f"text encoder is missing one of q/k/v for {name}")
        out.append(_qkv_entry(name, comp, parts, half))
    return out


@deep_input_is_convert_error
def export_pipeline(
    src_dir: Path, output_file: Path, *, half: bool = False, overwrite: bool = False, progress=None
) -> dict:
    """Write the diffusers pipeline in `src_dir` as one original-layout .safetensors file."""
    started = time.monotonic()
    src_dir, output_file = Path(src_dir), Path(output_file)
    if output_file.suffix != ".safetensors":
        raise ConvertError(f"--output must end in .safetensors, not {output_file.name!r}")
    fam = _family(src_dir)
    opened: list[_Component] = []
    try:
        entries: list[OutEntry] = []
        unet = _Component(src_dir / "unet")
        opened.append(unet)
        names = UNetNames(layout_from_config(_read_json(src_dir / "unet" / "config.json")))
        for key, source in unet.where.items():
            original = names.to_original(key)
            if original is None:
                raise ConvertError(f"unet weight {key} has no place in the original layout")
            entries.append(entry(source, Move(original, key), half))
        vae = _Component(src_dir / "vae")
        opened.append(vae)
        vnames = VaeNames(len(_read_json(src_dir / "vae" / "config.json")["block_out_channels"]))
        for key, source in vae.where.items():
            hit = vnames.to_original(key)
            if hit is None:
                raise ConvertError(f"vae weight {key} has no place in the original layout")
            op = "unsqueeze" if hit[1] and len(source.infos[key][1]) == 2 else None
            entries.append(entry(source, Move(hit[0], key, op), half))
        for component, kind, prefix in TEXT_ENCODERS[fam]:
            comp = _Component(src_dir / component)
            opened.append(comp)
            entries += _text_entries(comp, kind, prefix, half)
        extras_path = src_dir / EXTRAS_FILE
        if extras_path.is_file():
            extras = Source(extras_path)
            opened.append(type("_X", (), {"close": extras.close})())
            have = {e.name for e in entries}
            entries += [entry(extras, Move(k, k), half) for k in extras.infos if k not in have]
        done, total = 0, len(entries)

        def tick(name):
            nonlocal done
            done += 1
            if progress:
                progress(done, total, name)

        with atomic_file(output_file, overwrite=overwrite) as tmp:
            written = write_file(tmp, entries, {"sdaws_exported_from": src_dir.name}, on_tensor=tick)
    finally:
        for c in opened:
            c.close()
    return {
        "source": str(src_dir),
        "output": str(output_file),
        "family": fam,
        "tensors_written": total,
        "bytes_written": written,
        "half": half,
        "seconds": round(time.monotonic() - started, 3),
    }
