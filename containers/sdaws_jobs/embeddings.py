"""Textual inversions from `embeddings/`, used by name in the prompts as in the WebUI.

The WebUI reads these layouts (modules/textual_inversion/textual_inversion.py), and so
do we; the embedding's name is its file name without extension:
  * `.pt` from the WebUI's own training: {"string_to_param": {"*": (n, dim)}, "name", "step", …}
  * `.safetensors` / `.pt` with one tensor: {"emb_params": (n, dim)} or {"<token>": (n, dim)}
  * SDXL: {"clip_l": (n, 768), "clip_g": (n, 1280)}, one part per text encoder.
A pickled `.pt`/`.bin` goes through the conversion engine's safe unpickler: nothing in
it runs, and a file that references anything but tensors and plain containers is refused.
Each embedding gets a private token `<emb:name>` (a name such as "cat" is already in
CLIP's vocabulary, which diffusers refuses to extend); the name, where it stands as a
word in a prompt, becomes that token, and diffusers expands it to all of the vectors.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sdaws.contract.prompts import replace_word

from .errors import SpecError
from .model_files import read_model_file
from .model_ref import find_file

EXTENSIONS = (".safetensors", ".pt", ".bin")


def embedding_name(path: Path) -> str:
    return path.name.rsplit(".", 1)[0]


def short_hash(path: Path) -> str:
    """The WebUI's short hash of a file (first 12 hex digits of its sha256), as infotext shows it."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def vectors(path: Path) -> dict[str, object]:
    """The embedding's vectors per text encoder: {"clip_l": (n, dim)} or also {"clip_g": …}."""
    import torch

    data = read_model_file(path, "embedding ", unwrap=False, holds="a textual inversion")
    if "string_to_param" in data:
        params = data["string_to_param"]
        params = getattr(params, "_parameters", params)
        if not isinstance(params, dict) or len(params) != 1:
            raise SpecError(f"embedding {path.name!r}: string_to_param must hold exactly one tensor")
        found = {"clip_l": next(iter(params.values()))}
    elif "clip_l" in data and "clip_g" in data:
        found = {"clip_l": data["clip_l"], "clip_g": data["clip_g"]}
    else:
        tensors = [v for v in data.values() if isinstance(v, torch.Tensor)]
        if len(data) != 1 or len(tensors) != 1:
            raise SpecError(
                f"embedding {path.name!r} is not a textual inversion the WebUI reads "
                "(string_to_param, emb_params, clip_l/clip_g or a single tensor)"
            )
        found = {"clip_l": tensors[0]}
    out = {}
    for part, tensor in found.items():
        if not isinstance(tensor, torch.Tensor) or tensor.dim() not in (1, 2):
            raise SpecError(f"embedding {path.name!r}: {part} is not a (vectors, width) tensor")
        out[part] = tensor.detach().float().reshape(-1, tensor.shape[-1])
    return out


def token_for(name: str) -> str:
    return f"<emb:{name}>"


def rewrite_prompt(text: str, names) -> str:
    """The prompt with each embedding's name (as a word) replaced by its token."""
    for name in sorted(names, key=len, reverse=True):  # "cat_v2" before "cat"
        text = replace_word(text, name, token_for(name))
    return text


def load_embeddings(pipe, channel: Path, names: list[str]) -> dict[str, str]:
    """Load each named embedding into the pipeline's text encoder(s); returns {name: short hash}."""
    hashes: dict[str, str] = {}
    encoders = [("clip_l", "text_encoder", "tokenizer"), ("clip_g", "text_encoder_2", "tokenizer_2")]
    for file_name in names:
        path = find_file(channel, file_name, EXTENSIONS, "embedding")
        name = embedding_name(path)
        parts = vectors(path)
        sdxl = getattr(pipe, "text_encoder_2", None) is not None
        if sdxl and "clip_g" not in parts:
            raise SpecError(f"embedding {name!r} is for SD1/SD2; this model is SDXL (needs clip_l and clip_g)")
        for part, encoder_name, tokenizer_name in encoders:
            encoder = getattr(pipe, encoder_name, None)
            if encoder is None or part not in parts:
                continue
            width = encoder.get_input_embeddings().weight.shape[1]
            tensor = parts[part]
            if tensor.shape[1] != width:
                raise SpecError(
                    f"embedding {name!r} has {tensor.shape[1]}-wide vectors; this model's text encoder takes {width} "
                    "(it was made for another model family)"
                )
            try:
                pipe.load_textual_inversion(
                    {token_for(name): tensor.to(encoder.dtype)},
                    token=token_for(name),
                    text_encoder=encoder,
                    tokenizer=getattr(pipe, tokenizer_name),
                )
            except ValueError as exc:  # e.g. the name is already a token of the vocabulary
                raise SpecError(f"embedding {name!r} cannot be added: {exc}") from exc
        hashes[name] = short_hash(path)
    return hashes
