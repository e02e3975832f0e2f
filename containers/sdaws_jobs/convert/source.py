"""One read interface over .safetensors (streamed) and .ckpt (safe unpickle).

`Source.infos` gives every tensor's dtype and shape without reading weights;
`tensor(name)` reads one; `raw(name)` returns where its bytes lie in a safetensors
file so they can be copied without passing through Python.
"""

from __future__ import annotations

from pathlib import Path

from sdaws.contract.safetensors_header import TensorEntry

from .errors import ConvertError, CorruptCheckpointError
from .st_io import dtype_name, read_header, read_tensor

PICKLE_EXTS = (".ckpt", ".pt", ".pth", ".bin", "")


# Tied weights may share their bytes (two views of one storage); more than this much
# output per stored byte is a checkpoint built to inflate.
MAX_VIEW_GROWTH = 2.0
VIEW_SLACK = 64 * 1024 * 1024


def check_views(tensors: dict, source: str) -> None:
    """Refuse tensors that claim more bytes than the file stores for them.

    A pickled tensor is a view (shape, strides, offset) of a storage. A stride-0 view of a
    one-element storage is a 16384x16384 tensor "of" four bytes: written out contiguously,
    a 30 MiB file became 1 GiB. Each view must fit in its storage, and all of them
    together may not add up to much more than the storages they view.
    """
    stored: dict[int, int] = {}
    wanted = 0
    for name, t in tensors.items():
        storage = t.untyped_storage()
        need = t.numel() * t.element_size()
        end = t.storage_offset() * t.element_size() + need
        if t.numel() and end > storage.nbytes():
            raise CorruptCheckpointError(
                f"refused {source}: tensor {name!r} is a view of {need:,} bytes over {storage.nbytes():,} stored "
                "(a stride-0 or overlapping view); a checkpoint stores its weights"
            )
        stored[storage.data_ptr()] = storage.nbytes()
        wanted += need
    if wanted > MAX_VIEW_GROWTH * sum(stored.values()) + VIEW_SLACK:
        raise CorruptCheckpointError(
            f"refused {source}: its tensors view {wanted:,} bytes of {sum(stored.values()):,} stored; "
            "converting it would inflate the model"
        )


class Source:
    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise ConvertError(f"{self.path} does not exist or is not a file")
        self._file = None
        self._st: dict[str, TensorEntry] | None = None
        self._sd: dict | None = None
        if self.path.suffix.lower() == ".safetensors":
            self._st, _ = read_header(self.path)
            self._file = open(self.path, "rb")
            self.infos = {k: (v.dtype, v.shape) for k, v in self._st.items()}
        elif self.path.suffix.lower() in PICKLE_EXTS:
            from .safe_load import find_state_dict, load_pickle

            self._set_state_dict(find_state_dict(load_pickle(self.path), self.path.name))
        else:
            raise ConvertError(f"{self.path.name}: expected a .safetensors or .ckpt file")

    @classmethod
    def from_state_dict(cls, state_dict: dict) -> Source:
        self = cls.__new__(cls)
        self.path = Path("<state dict>")
        self._file, self._st = None, None
        self._set_state_dict(state_dict)
        return self

    def _set_state_dict(self, state_dict: dict) -> None:
        import torch

        self._sd = {k: v for k, v in state_dict.items() if isinstance(v, torch.Tensor) and dtype_name(v.dtype)}
        check_views(self._sd, self.path.name)
        self.infos = {k: (dtype_name(t.dtype), tuple(t.shape)) for k, t in self._sd.items()}

    def tensor(self, name: str):
        if self._sd is not None:
            return self._sd[name]
        return read_tensor(self._file, self._st[name])

    def raw(self, name: str):
        """(file, TensorEntry) for a safetensors tensor, else None."""
        if self._st is None:
            return None
        return self._file, self._st[name]

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def load_checkpoint(path: Path, ema: bool = False) -> dict:
    """Every tensor of a checkpoint; with ema=True the UNet's EMA weights replace the
    training weights (under their normal names). Safe for untrusted .ckpt files."""
    with Source(Path(path)) as src:
        try:
            sd = {k: src.tensor(k) for k in src.infos}
        except CorruptCheckpointError:
            raise
        except Exception as exc:
            raise CorruptCheckpointError(f"{Path(path).name} could not be read ({exc}); re-download it") from None
    from .ema import apply_ema

    return apply_ema(sd, ema, Path(path).name)
