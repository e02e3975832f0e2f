"""Tiny model files in the layouts the WebUI's folders hold, built by the tests.

Each builder follows the format's published description, not sdaws' loaders:
  * textual inversions as the WebUI's trainer saves them (textual_inversion.py
    Embedding.save: string_to_token / string_to_param / name / step / sd_checkpoint…),
    and the one-tensor `emb_params` safetensors layout;
  * a pickle that would run code when loaded the ordinary way.
"""

from __future__ import annotations

import os
from pathlib import Path


class CodeRunningPickle:
    """Pickles to os.system(command): loading it the ordinary way runs the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def webui_embedding_pt(path: Path, vectors) -> Path:
    """A `.pt` exactly as the WebUI's textual-inversion training writes it."""
    import torch

    vec = vectors.clone().requires_grad_(True)  # saved straight from the optimiser, as the WebUI does
    data = {
        "string_to_token": {"*": 265},
        "string_to_param": {"*": vec},
        "name": path.stem,
        "step": 500,
        "sd_checkpoint": "0123456789",
        "sd_checkpoint_name": "tiny",
    }
    torch.save(data, str(path))
    return path


def emb_params_safetensors(path: Path, vectors) -> Path:
    from safetensors.torch import save_file

    save_file({"emb_params": vectors.contiguous()}, str(path))
    return path


def code_running_pt(path: Path, marker: Path) -> Path:
    import torch

    torch.save({"string_to_param": {"*": CodeRunningPickle(f"touch {marker}")}}, str(path))
    return path
