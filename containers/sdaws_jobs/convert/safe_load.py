"""Reading `.ckpt` pickles without running them.

`torch.load(weights_only=True)` only rebuilds tensors and plain containers. Real
checkpoints also reference a few inert classes (the Lightning `ModelCheckpoint`
callback saved as a dict key, numpy scalars for metrics); those are allowed as
stubs that never execute anything. Anything else -- `os.system`, `builtins.eval`,
`subprocess.Popen` -- makes torch refuse the file before the global is called, and
we re-raise that as an UnsafeCheckpointError naming the global.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path

import torch

from .errors import ConvertError, CorruptCheckpointError, UnsafeCheckpointError


class _InertStub:
    """Stand-in for a harmless class a checkpoint names; holds state, runs nothing."""

    def __init__(self, *args, **kwargs):
        self.args = args

    def __setstate__(self, state):
        self.state = state


def _stub(qualified: str):
    module, _, name = qualified.rpartition(".")
    cls = type(name, (_InertStub,), {"__module__": module, "__qualname__": name})
    return (cls, qualified)


# Classes that appear in real SD checkpoints as metadata only (never as weights).
_STUBBED = (
    "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
    "lightning.pytorch.callbacks.model_checkpoint.ModelCheckpoint",
    "pytorch_lightning.callbacks.early_stopping.EarlyStopping",
    "pytorch_lightning.callbacks.lr_monitor.LearningRateMonitor",
)


def _allowed_globals() -> list:
    allowed: list = [_stub(q) for q in _STUBBED]
    try:  # numpy scalars/dtypes hold metrics such as best_model_score
        import numpy as np

        allowed += [np.dtype, (np.dtype, "numpy.core.multiarray.dtype")]
        core = np._core if hasattr(np, "_core") else np.core  # numpy 2 renamed it
        scalar = core.multiarray.scalar
        allowed += [(scalar, "numpy.core.multiarray.scalar"), (scalar, "numpy._core.multiarray.scalar")]
        allowed += [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32")]
    except Exception:
        pass
    return allowed


def _named_global(message: str) -> str | None:
    m = re.search(r"GLOBAL ([\w.]+)", message) or re.search(r"Unsupported global: ([\w.]+)", message)
    if m:
        return m.group(1)
    m = re.search(r"(?:class|global|function) '?([\w.]+\.[\w]+)'?", message)
    return m.group(1) if m else None


# A torch zip stores its entries uncompressed, so what it declares is about the archive's
# size. A "zip bomb" declares (and inflates to) far more: torch would inflate each entry
# into memory before anything could refuse it (3.3 GiB for a 30 MiB file).
MAX_DECLARED_GROWTH = 2.0
DECLARED_SLACK = 16 * 1024 * 1024
MAX_ENTRY_RATIO = 50  # deflate can reach ~1000:1; tensors and pickles do not compress 50:1


def check_archive(path: Path) -> None:
    """Refuse a zip checkpoint whose declared sizes would inflate far past the file itself."""
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptCheckpointError(f"{path.name} is not a readable zip archive ({exc}); re-download it") from None
    declared = sum(e.file_size for e in entries)
    for entry in entries:
        if entry.compress_type != zipfile.ZIP_STORED and entry.file_size > MAX_ENTRY_RATIO * max(
            entry.compress_size, 1
        ):
            raise CorruptCheckpointError(
                f"refused {path.name}: {entry.filename} inflates from {entry.compress_size:,} to "
                f"{entry.file_size:,} bytes (a zip bomb?); torch never writes compressed checkpoints"
            )
    if declared > MAX_DECLARED_GROWTH * size + DECLARED_SLACK:
        raise CorruptCheckpointError(
            f"refused {path.name}: its entries declare {declared:,} bytes in a {size:,}-byte file (a zip bomb?)"
        )


def load_pickle(path: Path) -> object:
    """The unpickled object of a .ckpt/.pt, refusing anything not allow-listed."""
    path = Path(path)
    use_mmap = zipfile.is_zipfile(path)
    if use_mmap:
        check_archive(path)
    try:
        with torch.serialization.safe_globals(_allowed_globals()):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=use_mmap)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        name = _named_global(text)
        if name or "weights_only" in text.lower():
            what = name or "an object outside the allow-list"
            raise UnsafeCheckpointError(
                f"refused {path.name}: its pickle references {what}, which could run code when loaded; "
                "nothing in the file was executed. Ask for a .safetensors version of this model."
            ) from None
        raise CorruptCheckpointError(
            f"{path.name} is not a readable checkpoint ({text.splitlines()[0][:200]})"
        ) from None
    except RecursionError:
        raise CorruptCheckpointError(f"{path.name} nests objects too deeply to be a checkpoint") from None
    except Exception as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise CorruptCheckpointError(
            f"{path.name} is truncated, corrupt or not a PyTorch checkpoint ({first}); re-download it"
        ) from None


def find_state_dict(obj: object, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The tensor dict inside common wrappers ({'state_dict': ...}, {'model': ...})."""
    for _ in range(4):
        if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
            obj = obj["state_dict"]
        elif (
            isinstance(obj, dict)
            and isinstance(obj.get("model"), dict)
            and not any(isinstance(v, torch.Tensor) for v in obj.values())
        ):
            obj = obj["model"]
        else:
            break
    if not isinstance(obj, dict):
        raise ConvertError(f"{source} holds no state dict (found {type(obj).__name__}); is it a model checkpoint?")
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ConvertError(f"{source} holds no tensors; is it a model checkpoint?")
    return tensors
