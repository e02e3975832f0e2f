"""Untrusted .ckpt files: gadgets are refused before anything runs; real ones load.

Each malicious pickle would create a marker file if any of it executed. The
refusal must name the global, and the marker must never appear.
"""

from __future__ import annotations

import io
import pickle
import sys
import types
import zipfile

import pytest

pytestmark = pytest.mark.torch


class _Gadget:
    """Pickles to `func(*args)`, the classic code-execution gadget."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _gadgets(marker):
    import builtins
    import os
    import subprocess

    touch = f"open({str(marker)!r}, 'w').write('pwned')"
    return {
        "os.system": _Gadget(os.system, f"touch {marker}"),
        "builtins.eval": _Gadget(builtins.eval, touch),
        "builtins.exec": _Gadget(builtins.exec, touch),
        "subprocess.Popen": _Gadget(subprocess.Popen, ["touch", str(marker)]),
        "builtins.getattr": _Gadget(getattr, _Gadget(builtins.__import__, "os"), "system"),
        "builtins.__import__": _Gadget(builtins.__import__, "os"),
    }


def _torch_zip(obj) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _cases(marker):
    import torch

    weight = torch.zeros(2, 2)
    for name, gadget in _gadgets(marker).items():
        yield f"{name}-plain-pickle", name, pickle.dumps(gadget, protocol=2)
        # Nested inside an otherwise normal Lightning-style checkpoint, zip format.
        yield f"{name}-nested-zip", name, _torch_zip({"state_dict": {"w": weight, "meta": {"x": [gadget]}}})


def test_malicious_pickles_are_refused_and_never_run(tmp_path):
    from sdaws_jobs.convert import UnsafeCheckpointError, load_checkpoint

    marker = tmp_path / "marker"
    cases = list(_cases(marker))
    assert len(cases) >= 6
    for label, global_name, payload in cases:
        path = tmp_path / f"{label}.ckpt"
        path.write_bytes(payload)
        with pytest.raises(UnsafeCheckpointError) as info:
            load_checkpoint(path)
        message = str(info.value)
        module, _, attr = global_name.rpartition(".")
        assert attr in message, f"{label}: refusal does not name the global: {message}"
        assert "nothing in the file was executed" in message
        assert not marker.exists(), f"{label} ran code"


def test_zip_ckpt_with_pickle_swapped_for_a_gadget_is_refused(tmp_path):
    """A zip .ckpt whose data.pkl was replaced by hand (not via torch.save)."""
    import os

    from sdaws_jobs.convert import UnsafeCheckpointError, load_checkpoint

    marker = tmp_path / "marker"
    good = _torch_zip({"state_dict": {}})
    src, out = zipfile.ZipFile(io.BytesIO(good)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("data.pkl"):
                data = pickle.dumps(_Gadget(os.system, f"touch {marker}"), protocol=2)
            dst.writestr(item, data)
    path = tmp_path / "swapped.ckpt"
    path.write_bytes(out.getvalue())
    with pytest.raises(UnsafeCheckpointError, match="system"):
        load_checkpoint(path)
    assert not marker.exists()


def _lightning_checkpoint(path):
    """A checkpoint shaped like a real SD training one: Lightning callback class as a key."""
    import numpy as np
    import torch

    module_name = "pytorch_lightning.callbacks.model_checkpoint"
    parents = ["pytorch_lightning", "pytorch_lightning.callbacks", module_name]
    saved = {name: sys.modules.get(name) for name in parents}
    fake = types.ModuleType(module_name)
    cls = type("ModelCheckpoint", (), {"__module__": module_name})
    fake.ModelCheckpoint = cls
    try:
        for name in parents:
            sys.modules[name] = fake
        torch.save(
            {
                "epoch": 3,
                "global_step": 4000,
                "callbacks": {cls: {"best_model_score": np.float64(0.5)}},
                "state_dict": {
                    "model.diffusion_model.w": torch.ones(3),
                    "model_ema.diffusion_modelw": torch.full((3,), 2.0),
                },
            },
            path,
        )
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


def test_real_lightning_checkpoint_loads_with_inert_stubs(tmp_path):
    import torch

    from sdaws_jobs.convert import load_checkpoint

    path = tmp_path / "trained.ckpt"
    _lightning_checkpoint(path)
    assert "pytorch_lightning" not in sys.modules
    sd = load_checkpoint(path)
    assert torch.equal(sd["model.diffusion_model.w"], torch.ones(3))
    assert "model_ema.diffusion_modelw" not in sd  # training weights by default
    ema = load_checkpoint(path, ema=True)
    assert torch.equal(ema["model.diffusion_model.w"], torch.full((3,), 2.0))


@pytest.mark.parametrize("kind", ["truncated-safetensors", "truncated-ckpt", "text-as-ckpt", "garbage-safetensors"])
def test_damaged_files_get_a_clear_error(tmp_path, kind):
    import torch
    from safetensors.torch import save_file

    from sdaws_jobs.convert import CorruptCheckpointError, load_checkpoint

    if kind == "truncated-safetensors":
        path = tmp_path / "m.safetensors"
        save_file({"a": torch.ones(1000)}, str(path))
        path.write_bytes(path.read_bytes()[:-100])
    elif kind == "truncated-ckpt":
        path = tmp_path / "m.ckpt"
        torch.save({"state_dict": {"a": torch.ones(1000)}}, path)
        path.write_bytes(path.read_bytes()[:-300])
    elif kind == "text-as-ckpt":
        path = tmp_path / "m.ckpt"
        path.write_text("this is not a model\n")
    else:
        path = tmp_path / "m.safetensors"
        path.write_bytes(b"\xff" * 64)
    with pytest.raises(CorruptCheckpointError) as info:
        load_checkpoint(path)
    assert path.name in str(info.value)
