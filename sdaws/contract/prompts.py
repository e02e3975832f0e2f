"""How names are spotted in prompts: an embedding is used where its name stands as a word.

The API stages every file of `embeddings/` whose name the prompts use, and the job puts
the embedding's vectors exactly there, so both must match names the same way.
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
