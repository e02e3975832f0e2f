"""Converted-model cache: a single-file checkpoint is converted once, then reused.

Every txt2img/img2img/train job on a `.safetensors`/`.ckpt` needs a diffusers
folder. Without a cache each job converts again (seconds for SD1, more for SDXL);
with it, the second job on the same file finds the folder and starts as fast as
one on a converted model.

    cache = ModelCache.from_env(tree_converted=models_root / "diffusers")
    with cache.converted(checkpoint, half=runtime.half) as hit:
        pipe = load_text2image(hit.folder, runtime)      # the entry cannot be evicted meanwhile

Identity. An entry is keyed by the source's *content* (sha256) plus the conversion
options and the engine's output version, so a renamed or copied file still hits
and a changed one never does. Hashing a 7 GB file takes seconds, so the hash is
remembered per file as it is on disk (device, inode, size, mtime, ctime): while
those stay the same, a lookup is a few stats; when any changes, the file is hashed
again (and converted again only if its content did change). A miss hashes while it
converts, on another core -- unless a quick fingerprint (three sampled MiB, see
convert/identity.py) says an entry or a tree folder may already hold this content
(a copy, a touched file): then it hashes first and converts only if it must.

On disk (ROOT survives restarts; everything below is safe for several processes):
    entries/<key>/      published diffusers folders; <key>/sdaws_cache_entry.json says
                        what they hold; its mtime is the least-recently-used clock
    memo/<dev>-<ino>    the remembered hash of one file as it was
    staging/<tmp>/      conversions in progress, published by one rename (atomic)
    locks/              flock files: a source being converted (a second job on the
                        same file waits, then hits), an entry in use (never evicted)

Bound. After each publish, and when the job that converted an entry lets go of it,
least-recently-used entries are deleted until the entries fit in `max_bytes`; an
entry in use is skipped, so one model larger than the bound still works (and is the
first to go once released).

Sharing with the tree. A diffusers folder in the tree's diffusers/ whose
sdaws_conversion.json records the same source sha256 and options is used as is (no
second copy). Root and bound come from $SDAWS_MODEL_CACHE and
$SDAWS_MODEL_CACHE_MAX_GB, the tree's diffusers/ from $SDAWS_TREE_CONVERTED (the local
runner points them at <data>/cache/converted and <models>/diffusers: the cache survives
restarts); the serving container keeps one beside its staged models for its lifetime.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sdaws.contract.entrypoint import MODEL_CACHE_ENV, TREE_CONVERTED_ENV

from .convert.convert import CONVERSION_RECORD
from .convert.errors import ConvertError
from .convert.identity import file_sha256, quick_fingerprint

ENV_ROOT = MODEL_CACHE_ENV
ENV_MAX_GB = f"{MODEL_CACHE_ENV}_MAX_GB"
# The tree's converted folders (<models>/diffusers) when the job runs beside a tree (the
# local runner sets it): a conversion of the same file found there is used as is.
ENV_TREE_CONVERTED = TREE_CONVERTED_ENV
DEFAULT_MAX_BYTES = 32 << 30  # four SDXL models, or a dozen SD1
# Bump when the conversion engine's output for the same input changes: old entries miss.
ENGINE_OUTPUT_VERSION = 1
ENTRY_RECORD = "sdaws_cache_entry.json"
MEMO_LIMIT = 10_000  # remembered hashes kept (a few hundred bytes each)
_FLOATS = ("F32", "F64", "BF16")


@dataclass(frozen=True)
class Hit:
    folder: Path
    how: str  # "cache" (found), "tree" (the tree's diffusers/ folder), "converted" (just now)
    sha256: str


def _options(src: Path, half: bool, ema: bool, overrides: dict) -> dict:
    """What the conversion depends on besides the bytes. `half` is left out where it
    changes nothing (no float wider than fp16): CPU and GPU jobs then share one entry."""
    options = {"ema": bool(ema), **{k: v for k, v in sorted(overrides.items()) if v is not None}}
    if not _half_is_a_no_op(src):
        options["half"] = bool(half)
    return options


def _key(sha256: str, options: dict) -> str:
    spec = json.dumps({"options": options, "engine": ENGINE_OUTPUT_VERSION}, sort_keys=True)
    return f"{sha256}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}"


def _half_is_a_no_op(src: Path) -> bool:
    """A safetensors file with no float wider than fp16 converts the same with or without `half`."""
    if src.suffix.lower() != ".safetensors":
        return False
    from .convert.st_io import read_header

    try:
        tensors, _ = read_header(src)
    except ConvertError:
        return False
    return not any(t.dtype in _FLOATS for t in tensors.values())


def _stat_identity(st: os.stat_result) -> dict:
    return {
        "dev": st.st_dev,
        "ino": st.st_ino,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
    }


def stamp_source_sha256(folder: Path, sha: str) -> None:
    """Record the source's hash in a conversion record (it was computed alongside): the
    cache then trusts the folder as that file's conversion (a convert job's result in the tree)."""
    record = _read_json(folder / CONVERSION_RECORD) or {}
    _write_json(folder / CONVERSION_RECORD, {**record, "source_sha256": sha})


def _write_json(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, sort_keys=True)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _fsync_tree(folder: Path) -> None:
    """Every file and folder on disk before the rename publishes them. A crash then never
    leaves a published entry with empty files; and a job loading the model right after
    converting it maps clean pages (mapping freshly written, still dirty pages of a 2 GB
    file cost 3 s here against 0.13 s clean, more than the flush itself)."""
    for path in sorted(folder.rglob("*"), key=lambda p: -len(p.parts)) + [folder]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


class ModelCache:
    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES, tree_converted: Path | None = None):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.tree_converted = Path(tree_converted) if tree_converted else None
        for sub in ("entries", "memo", "staging", "locks"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_env(cls, tree_converted: Path | None = None, default_root: Path | None = None) -> ModelCache:
        root = os.environ.get(ENV_ROOT) or default_root or Path(tempfile.gettempdir()) / "sdaws-converted"
        max_gb = os.environ.get(ENV_MAX_GB)
        try:
            max_bytes = int(float(max_gb) * (1 << 30)) if max_gb else DEFAULT_MAX_BYTES
        except ValueError:
            raise ConvertError(f"${ENV_MAX_GB} must be a number of GB, not {max_gb!r}") from None
        return cls(Path(root), max_bytes, tree_converted)

    # -- the one call jobs make ---------------------------------------------------
    @contextlib.contextmanager
    def converted(
        self,
        src: Path,
        *,
        half: bool = False,
        ema: bool = False,
        progress: Callable | None = None,
        convert: Callable | None = None,
        **overrides,
    ) -> Iterator[Hit]:
        """A diffusers folder for `src` (converted now or found); it stays while the block runs.

        `overrides` are convert_checkpoint's detection overrides (arch, prediction_type,
        image_size, upcast_attention); `convert` defaults to the conversion engine.
        """
        src = Path(src)
        options = _options(src, half, ema, overrides)
        with contextlib.ExitStack() as stack:
            hit = self._find(src, options, stack)
            if hit is None:
                with self._locked(f"source-{self._source_lock_name(src)}", fcntl.LOCK_EX):
                    # Another job may have converted this very file while we waited.
                    hit = self._find(src, options, stack) or self._convert(src, options, stack, progress, convert)
            yield hit
        if hit.how == "converted":
            self.evict()  # what was kept only because it was in use may go now

    def lookup(self, src: Path, *, half: bool = False, ema: bool = False, **overrides) -> Path | None:
        """The cached (or tree) folder for `src` without converting: None on a miss."""
        options = _options(Path(src), half, ema, overrides)
        with contextlib.ExitStack() as stack:
            hit = self._find(Path(src), options, stack)
        return hit.folder if hit else None

    # -- finding ------------------------------------------------------------------
    def _find(self, src: Path, options: dict, stack: contextlib.ExitStack) -> Hit | None:
        sha = self._remembered_sha256(src)
        if sha is None:
            return None
        return self._entry(_key(sha, options), sha, stack) or self._tree_folder(sha, options)

    def _entry(self, key: str, sha: str, stack: contextlib.ExitStack) -> Hit | None:
        folder = self.root / "entries" / key
        if not (folder / ENTRY_RECORD).is_file():
            return None
        stack.enter_context(self._locked(f"entry-{key}", fcntl.LOCK_SH))
        if not (folder / ENTRY_RECORD).is_file():  # evicted between the look and the lock
            return None
        os.utime(folder / ENTRY_RECORD)  # most recently used
        return Hit(folder, "cache", sha)

    def _tree_folder(self, sha: str, options: dict) -> Hit | None:
        tree = self.tree_converted
        if tree is None or not tree.is_dir():
            return None
        for folder in sorted(p for p in tree.iterdir() if p.is_dir() and not p.name.startswith(".")):
            record = _read_json(folder / CONVERSION_RECORD)
            if not record or record.get("source_sha256") != sha or not (folder / "model_index.json").is_file():
                continue
            if all(record.get(k) == v for k, v in options.items()):
                return Hit(folder, "tree", sha)
        return None

    def _memo_path(self, st: os.stat_result) -> Path:
        return self.root / "memo" / f"{st.st_dev}-{st.st_ino}"

    def _source_lock_name(self, src: Path) -> str:
        st = src.stat()
        return f"{st.st_dev}-{st.st_ino}"

    def _remembered_sha256(self, src: Path) -> str | None:
        try:
            st = src.stat()
        except OSError:
            raise ConvertError(f"{src} does not exist or cannot be read") from None
        memo = _read_json(self._memo_path(st))
        if memo and memo.get("identity") == _stat_identity(st) and isinstance(memo.get("sha256"), str):
            return memo["sha256"]
        return None

    # -- converting ---------------------------------------------------------------
    def _convert(self, src: Path, options: dict, stack, progress, convert) -> Hit:
        if convert is None:
            from .convert import convert_checkpoint as convert
        before = src.stat()
        hashed: dict[str, object] = {}

        def hash_source() -> None:
            try:
                hashed["sha256"] = file_sha256(src)
            except OSError as exc:
                hashed["error"] = exc

        hasher = threading.Thread(target=hash_source, name="sdaws-cache-hash", daemon=True)
        hasher.start()
        quick = quick_fingerprint(src)
        if self._may_hold(quick):
            # A copy of a cached file, or the tree's own conversion of it: look before converting.
            hasher.join()
            sha = self._hashed(hashed, src, before)
            found = self._entry(_key(sha, options), sha, stack) or self._tree_folder(sha, options)
            if found is not None:
                self.remember(src, before, sha)
                return found
        staging = self.root / "staging" / f"convert-{uuid.uuid4().hex}"
        try:
            # The staging folder's own lock, taken before the folder exists, tells a
            # cleaner that its owner is alive.
            with self._locked(f"staging-{staging.name}", fcntl.LOCK_EX):
                staging.mkdir()
                overrides = {k: v for k, v in options.items() if k not in ("half", "ema")}
                out = staging / "model"
                try:
                    # Converting while the other core hashes: a miss costs about one of the two.
                    half = options.get("half", False)
                    convert(src, out, half=half, ema=options["ema"], progress=progress, **overrides)
                finally:
                    hasher.join()
                sha = self._hashed(hashed, src, before)
                stamp_source_sha256(out, sha)
                return self._publish(src, before, sha, quick, options, out, stack)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _may_hold(self, quick: str) -> bool:
        """Whether an entry or a tree folder came from a file with this quick fingerprint."""
        if any(r.get("source", {}).get("quick") == quick for _, r in self.entries()):
            return True
        tree = self.tree_converted
        if tree is None or not tree.is_dir():
            return False
        records = (_read_json(p / CONVERSION_RECORD) for p in tree.iterdir() if p.is_dir())
        return any(r and r.get("source_quick") == quick for r in records)

    def _hashed(self, hashed: dict, src: Path, before: os.stat_result) -> str:
        if "error" in hashed:
            raise ConvertError(f"{src.name} could not be read: {hashed['error']}")
        if _stat_identity(src.stat()) != _stat_identity(before):
            raise ConvertError(f"{src.name} changed while it was being read; try again once it is complete")
        return str(hashed["sha256"])

    def _publish(self, src, before, sha, quick, options, out: Path, stack) -> Hit:
        key, size = _key(sha, options), _tree_size(out)
        record = {
            "key": key,
            "sha256": sha,
            "options": options,
            "bytes": size,
            "source": {"name": src.name, "size": before.st_size, "mtime_ns": before.st_mtime_ns, "quick": quick},
            "created": time.time(),
        }
        _write_json(out / ENTRY_RECORD, record)
        _fsync_tree(out)
        target = self.root / "entries" / key
        # Locked for use before it is visible: the evictor can never take it from us.
        stack.enter_context(self._locked(f"entry-{key}", fcntl.LOCK_SH))
        try:
            os.rename(out, target)  # atomic: readers see nothing or the whole folder
        except OSError:
            if not (target / ENTRY_RECORD).is_file():
                raise
            # Someone published the same content first (a copy under another name): theirs.
        self.remember(src, before, sha)
        self.evict(keep={key})
        return Hit(target, "converted", sha)

    def remember(self, src: Path, st: os.stat_result, sha: str) -> None:
        """`src`, as `st` describes it, has content `sha`: later lookups need only a stat."""
        _write_json(self._memo_path(st), {"identity": _stat_identity(st), "sha256": sha, "name": src.name})
        memos = sorted((self.root / "memo").iterdir(), key=lambda p: p.stat().st_mtime)
        for old in memos[: max(0, len(memos) - MEMO_LIMIT)]:
            old.unlink(missing_ok=True)

    # -- bounding -----------------------------------------------------------------
    def entries(self) -> list[tuple[Path, dict]]:
        """(folder, record) of every published entry, least recently used first."""
        found = []
        for folder in (self.root / "entries").iterdir():
            record = _read_json(folder / ENTRY_RECORD)
            if record is not None:
                found.append(((folder / ENTRY_RECORD).stat().st_mtime, folder.name, folder, record))
        return [(folder, record) for *_, folder, record in sorted(found, key=lambda x: x[:2])]

    def evict(self, keep: frozenset[str] | set[str] = frozenset()) -> int:
        """Delete least-recently-used entries (not in use, not in `keep`) until the rest fit."""
        self._clean_staging()
        entries = self.entries()
        total = sum(int(r.get("bytes", 0)) for _, r in entries)
        freed = 0
        for folder, record in entries:
            if total <= self.max_bytes:
                break
            if folder.name in keep:
                continue
            with self._try_locked(f"entry-{folder.name}") as free:
                if not free:
                    continue  # a job is loading it
                trash = self.root / "staging" / f"evicted-{folder.name}-{os.getpid()}"
                os.rename(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)
            # The lock file stays: unlinking it could split waiters across two inodes.
            total -= int(record.get("bytes", 0))
            freed += int(record.get("bytes", 0))
        return freed

    def _clean_staging(self) -> None:
        """What killed jobs left: conversions whose lock is free (the holder is gone),
        evicted folders whose deletion was cut short."""
        for leftover in (self.root / "staging").iterdir():
            if leftover.name.startswith("evicted-"):
                shutil.rmtree(leftover, ignore_errors=True)
                continue
            lock = f"staging-{leftover.name}"
            with self._try_locked(lock) as free:
                if free:
                    shutil.rmtree(leftover, ignore_errors=True)
                    (self.root / "locks" / lock).unlink(missing_ok=True)

    # -- locks --------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, name: str, mode: int) -> Iterator[None]:
        fd = os.open(self.root / "locks" / name, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)  # closing releases the lock, also when the process dies

    @contextlib.contextmanager
    def _try_locked(self, name: str) -> Iterator[bool]:
        fd = os.open(self.root / "locks" / name, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
            else:
                yield True
        finally:
            os.close(fd)


def job_model_cache() -> ModelCache:
    """The cache a job process shares with the other jobs (see the environment above)."""
    tree = os.environ.get(ENV_TREE_CONVERTED)
    return ModelCache.from_env(tree_converted=Path(tree) if tree else None)
