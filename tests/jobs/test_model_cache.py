"""The converted-model cache: a checkpoint is converted once and reused, keyed by its
content and options, invalidated when it changes, bounded by LRU eviction, shared
with the tree's diffusers/ folder, safe for two jobs at once, and still there after
a restart. Real conversions of tiny real-layout checkpoints; real processes and
real file locks for the concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.env import REPO_ROOT

pytestmark = [pytest.mark.torch]


@pytest.fixture
def make_checkpoint(layouts_available, tmp_path):
    """(name, seed, fp16) -> a tiny SD1 .safetensors in the original layout."""
    import torch
    from safetensors.torch import save_file

    from tests.support.checkpoint_layouts import sd1

    def make(name: str, seed: int = 0, fp16: bool = False) -> Path:
        path = tmp_path / "tree" / "Stable-diffusion" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(sd1(seed=seed, dtype=torch.float16 if fp16 else None), str(path))
        return path

    return make


class Counting:
    """The real conversion engine, counting its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, *args, **kwargs):
        from sdaws_jobs.convert import convert_checkpoint

        self.calls += 1
        return convert_checkpoint(*args, **kwargs)


def _cache(tmp_path, **kwargs):
    from sdaws_jobs.model_cache import ModelCache

    return ModelCache(tmp_path / "cache", **kwargs)


def _weights(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.safetensors"))}


def test_second_job_reuses_the_conversion_and_so_does_a_restarted_server(make_checkpoint, tmp_path):
    from sdaws_jobs.convert import convert_checkpoint

    src, convert = make_checkpoint("a.safetensors"), Counting()
    with _cache(tmp_path).converted(src, convert=convert) as first:
        assert first.how == "converted"
    with _cache(tmp_path).converted(src, convert=convert) as again:  # a new process would see the same
        assert (again.how, again.folder) == ("cache", first.folder)
    assert convert.calls == 1
    convert_checkpoint(src, tmp_path / "direct")
    assert _weights(again.folder) == _weights(tmp_path / "direct")
    assert (again.folder / "model_index.json").is_file()


def test_a_loaded_entry_is_a_pipeline_diffusers_can_load(make_checkpoint, tmp_path):
    from diffusers import StableDiffusionPipeline

    with _cache(tmp_path).converted(make_checkpoint("a.safetensors")) as hit:
        pipe = StableDiffusionPipeline.from_pretrained(str(hit.folder), local_files_only=True)
    assert pipe.unet is not None


def test_a_changed_file_converts_again_and_a_touched_one_does_not(make_checkpoint, tmp_path):
    src, convert = make_checkpoint("a.safetensors"), Counting()
    cache = _cache(tmp_path)
    with cache.converted(src, convert=convert) as first:
        pass
    later = time.time() + 5
    os.utime(src, (later, later))  # same bytes, new mtime: hashed again, still a hit
    with cache.converted(src, convert=convert) as touched:
        assert (touched.how, touched.folder) == ("cache", first.folder)
    assert convert.calls == 1
    make_checkpoint("a.safetensors", seed=1)  # new weights under the same name
    with cache.converted(src, convert=convert) as changed:
        assert changed.how == "converted" and changed.folder != first.folder
    assert convert.calls == 2


def test_a_copy_under_another_name_hits_without_converting(make_checkpoint, tmp_path):
    import shutil

    src, convert = make_checkpoint("a.safetensors"), Counting()
    cache = _cache(tmp_path)
    with cache.converted(src, convert=convert) as first:
        pass
    copy = src.with_name("renamed.safetensors")
    shutil.copyfile(src, copy)
    with cache.converted(copy, convert=convert) as hit:
        assert (hit.how, hit.folder) == ("cache", first.folder)
    assert convert.calls == 1


def test_options_that_change_the_output_get_their_own_entry(make_checkpoint, tmp_path):
    cache = _cache(tmp_path)
    fp32, fp16 = make_checkpoint("a.safetensors"), make_checkpoint("b.safetensors", seed=2, fp16=True)
    with cache.converted(fp32) as full, cache.converted(fp32, half=True) as half:
        assert full.folder != half.folder
    # An fp16 file converts the same either way: CPU (full) and GPU (half) jobs share it.
    with cache.converted(fp16) as cpu, cache.converted(fp16, half=True) as gpu:
        assert cpu.folder == gpu.folder and gpu.how == "cache"


def test_the_trees_own_conversion_is_used_instead_of_a_copy(make_checkpoint, tmp_path):
    from sdaws_jobs.convert import convert_checkpoint
    from sdaws_jobs.convert.identity import file_sha256

    src, convert = make_checkpoint("a.safetensors"), Counting()
    converted = tmp_path / "tree" / "diffusers" / "a"
    convert_checkpoint(src, converted, source_sha256=file_sha256(src))  # a convert job's result
    cache = _cache(tmp_path, tree_converted=converted.parent)
    with cache.converted(src, convert=convert) as hit:
        assert (hit.how, hit.folder) == ("tree", converted)
    assert convert.calls == 0
    assert list((tmp_path / "cache" / "entries").iterdir()) == []


def test_a_tree_folder_without_the_hash_is_not_trusted(make_checkpoint, tmp_path):
    from sdaws_jobs.convert import convert_checkpoint

    src = make_checkpoint("a.safetensors")
    convert_checkpoint(src, tmp_path / "tree" / "diffusers" / "a")  # no source_sha256 recorded
    with _cache(tmp_path, tree_converted=tmp_path / "tree" / "diffusers").converted(src) as hit:
        assert hit.how == "converted"


def test_least_recently_used_entries_go_first_but_never_one_in_use(make_checkpoint, tmp_path):
    a, b, c = (make_checkpoint(f"{n}.safetensors", seed=i) for i, n in enumerate("abc"))
    with _cache(tmp_path).converted(a) as probe:
        one = sum(p.stat().st_size for p in probe.folder.rglob("*") if p.is_file())
    cache = _cache(tmp_path, max_bytes=int(one * 2.5))  # room for two
    with cache.converted(b):
        pass
    with cache.converted(a):  # a is now the most recent; b the least
        pass
    with cache.converted(c) as hit_c:
        assert hit_c.how == "converted"
    names = {r["source"]["name"] for _, r in cache.entries()}
    assert names == {"a.safetensors", "c.safetensors"}
    # In use, an entry survives even when the bound says it should go; once released,
    # the bound holds again.
    tight = _cache(tmp_path, max_bytes=one)
    with tight.converted(a) as in_use:
        with tight.converted(b) as hit_b:
            assert hit_b.how == "converted"
            assert {r["source"]["name"] for _, r in tight.entries()} == {"a.safetensors", "b.safetensors"}
        assert (in_use.folder / "model_index.json").is_file()
    assert [r["source"]["name"] for _, r in tight.entries()] == ["a.safetensors"]


def test_a_failed_conversion_leaves_nothing_and_the_next_job_converts(make_checkpoint, tmp_path):
    src = make_checkpoint("a.safetensors")

    def broken(src, out, **kwargs):
        out.mkdir()
        (out / "model_index.json").write_text("{}")
        raise OSError("disk unplugged")

    cache = _cache(tmp_path)
    with pytest.raises(OSError), cache.converted(src, convert=broken):
        pass
    assert cache.entries() == []
    assert list((tmp_path / "cache" / "staging").iterdir()) == []
    with cache.converted(src) as hit:
        assert hit.how == "converted"


def test_what_a_killed_job_left_in_staging_is_cleaned(make_checkpoint, tmp_path):
    cache = _cache(tmp_path)
    leftover = tmp_path / "cache" / "staging" / "convert-killed"
    (leftover / "model").mkdir(parents=True)
    with cache.converted(make_checkpoint("a.safetensors")):
        pass
    assert not leftover.exists()


_RACER = """
import sys, time
from pathlib import Path
from sdaws_jobs.convert import convert_checkpoint
from sdaws_jobs.model_cache import ModelCache

root, src, log = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])

def slow(*args, **kwargs):
    with log.open("a") as fh:
        fh.write("convert\\n")
    time.sleep(1.0)  # long enough that the other process asks meanwhile
    return convert_checkpoint(*args, **kwargs)

while not (root.parent / "go").exists():
    time.sleep(0.01)
with ModelCache(root).converted(src, convert=slow) as hit:
    print(hit.how, hit.folder)
"""


def test_two_jobs_converting_the_same_model_at_once_convert_it_once(make_checkpoint, tmp_path):
    src, log = make_checkpoint("a.safetensors"), tmp_path / "conversions.log"
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'containers'}"}
    argv = [sys.executable, "-c", _RACER, str(tmp_path / "cache"), str(src), str(log)]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(0.5)
    (tmp_path / "go").touch()
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(how for how, _ in outs) == ["cache", "converted"]
    assert outs[0][1] == outs[1][1]
    assert log.read_text().count("convert") == 1


def test_the_bound_and_root_come_from_the_environment(tmp_path, monkeypatch):
    from sdaws_jobs.convert import ConvertError
    from sdaws_jobs.model_cache import ModelCache

    monkeypatch.setenv("SDAWS_MODEL_CACHE", str(tmp_path / "from-env"))
    monkeypatch.setenv("SDAWS_MODEL_CACHE_MAX_GB", "1.5")
    cache = ModelCache.from_env()
    assert (cache.root, cache.max_bytes) == (tmp_path / "from-env", 3 << 29)
    monkeypatch.setenv("SDAWS_MODEL_CACHE_MAX_GB", "lots")
    with pytest.raises(ConvertError, match="SDAWS_MODEL_CACHE_MAX_GB"):
        ModelCache.from_env()
