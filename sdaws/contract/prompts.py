"""How names are spotted in prompts, the WebUI's way.

An embedding is used where its name stands as a word; a LoRA is named by a
`<lora:name:weight>` tag. The API stages the files the prompts name and the job applies
them, so both must read prompts the same way.
"""

from __future__ import annotations

import re


def word_pattern(word: str) -> re.Pattern[str]:
    """`word` as a whole word: not inside a longer word ("cat" is not in "cats")."""
    return re.compile(rf"(?<![\w]){re.escape(word)}(?![\w])")


def uses_word(text: str, word: str) -> bool:
    return bool(word) and word_pattern(word).search(text or "") is not None


def replace_word(text: str, word: str, replacement: str) -> str:
    return word_pattern(word).sub(lambda _: replacement, text or "") if word else text


# <lora:name>, <lora:name:weight> (a third ":…" part, the WebUI's text-encoder weight, is ignored).
LORA_TAG = re.compile(r"<lora:([^:>]+)(?::([^:>]+))?(?::[^>]*)?>")


def lora_tag_names(prompt: str) -> list[str]:
    """The LoRA names `<lora:…>` tags in `prompt` use, in order, once each."""
    names: list[str] = []
    for match in LORA_TAG.finditer(prompt or ""):
        name = match.group(1).strip()
        if name and name not in names:
            names.append(name)
    return names
