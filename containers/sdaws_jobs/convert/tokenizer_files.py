"""CLIP tokenizer files (vocab.json, merges.txt) derived from the CLIP BPE file.

OpenAI's `bpe_simple_vocab_16e6.txt.gz` (shipped in PyPI packages such as
open-clip-torch) is the single source; the Hugging Face files are a pure function of
it: 256 byte characters, the same with `</w>`, the first 48,894 merges joined, then
the two special tokens -- 49,408 entries. The shipped copies in configs/tokenizer were
made by `derive`; a test re-derives them to prove they match.
"""

from __future__ import annotations

import gzip
from pathlib import Path

MERGES = 49152 - 256 - 2  # 48,894


def bytes_to_unicode() -> dict[int, str]:
    """The reversible byte -> printable character table GPT-2/CLIP BPE uses."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def derive(bpe_gz: Path) -> tuple[dict[str, int], list[str]]:
    lines = gzip.open(bpe_gz, "rt", encoding="utf-8").read().split("\n")
    merges = lines[1 : MERGES + 1]
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m.split(" ")) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}, merges


def write(bpe_gz: Path, folder: Path) -> None:
    import json

    vocab, merges = derive(bpe_gz)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
