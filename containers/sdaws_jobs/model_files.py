"""Reading a single-file model from the tree: safetensors as they are, pickles only through
the safe unpickler (an untrusted .pt/.pth/.ckpt never runs code). One home for every job
part that loads such a file: ControlNets, embeddings, upscalers, preview decoders."""

from __future__ import annotations

from pathlib import Path

from .errors import SpecError


def read_model_file(path: Path, label: str = "", unwrap: bool = True, holds: str = "a model's state dict") -> dict:
    """The file's dict. `unwrap`: the tensor dict inside common wrappers ({'state_dict': …});
    otherwise the pickle's own dict (an embedding keeps its non-tensor keys). `label` names
    the kind of file in messages ("embedding "), `holds` what it should have held."""
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    from .convert.errors import ConvertError
    from .convert.safe_load import find_state_dict, load_pickle

    try:
        data = load_pickle(path)
        if unwrap:
            data = find_state_dict(data, path.name)
    except ConvertError as exc:
        raise SpecError(f"{label}{path.name!r}: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{label}{path.name!r} holds {type(data).__name__}, not {holds}")
    return data
