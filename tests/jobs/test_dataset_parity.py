"""kohya's dataset rules: bucket resolutions, nearest bucket, caption files and tag shuffling."""

from __future__ import annotations

import random

from sdaws_jobs.dataset import find_examples, make_buckets, nearest_bucket, shuffle_caption


def test_buckets_follow_kohyas_make_bucket_resolutions():
    # kohya: (sqrt(area) square) plus (w, min(max, area // w)) on the step grid, both orientations.
    by_width = [(256, 1024), (320, 768), (384, 640), (448, 576), (512, 512), (576, 448), (640, 384)]
    by_width += [(704, 320), (768, 320), (832, 256), (896, 256), (960, 256), (1024, 256)]
    assert make_buckets(512, 256, 1024, 64) == sorted(set(by_width) | {(h, w) for w, h in by_width})
    buckets = make_buckets(512, 256, 1024, 64)
    assert nearest_bucket((1920, 1080), buckets) == (640, 384)  # 16:9 -> 1.67, the nearest ratio
    assert nearest_bucket((1000, 1000), buckets) == (512, 512)


def test_shuffle_keeps_the_first_tags_and_permutes_the_rest():
    caption = "sks, red, hat, smiling, outdoors"
    seen = {shuffle_caption(caption, 1, random.Random(seed)) for seed in range(20)}
    assert all(s.startswith("sks, ") for s in seen) and len(seen) > 1
    assert all(sorted(s.split(", ")) == sorted(caption.split(", ")) for s in seen)
    assert shuffle_caption(caption, 5, random.Random(0)) == caption


def test_caption_extension_is_read_first_then_the_other(tmp_path):
    for name in ("a.png", "b.png", "c.png"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "a.txt").write_text("from txt")
    (tmp_path / "a.caption").write_text("from caption")
    (tmp_path / "b.caption").write_text("only caption")
    by_name = {e.image.name: e.caption for e in find_examples(tmp_path, "default", ".caption")}
    assert by_name == {"a.png": "from caption", "b.png": "only caption", "c.png": "default"}
    assert find_examples(tmp_path, "default", ".txt")[0].caption == "from txt"
