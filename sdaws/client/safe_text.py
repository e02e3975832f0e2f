"""Untrusted text (model metadata, server messages, file names) made safe for a terminal.

A model file's metadata is written by whoever made the file: an `ESC]0;…` in it would
retitle the terminal, other escape sequences can move the cursor or hide text. Every
such string is passed through `printable` before the CLI prints it or the TUI shows it
(the TUI also shows it as plain text, never as markup).
"""

from __future__ import annotations

import unicodedata


def _visible(ch: str) -> str:
    if ch in "\n\t":
        return ch
    if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") or ch in "\u2028\u2029":
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
    return ch


def printable(text: object, *, single_line: bool = False) -> str:
    """`text` as a string with every control and format character shown as an escape
    (`\\x1b`); with `single_line`, newlines and tabs too."""
    out = "".join(_visible(ch) for ch in str(text))
    if single_line:
        out = out.replace("\n", "\\n").replace("\t", "\\t")
    return out
