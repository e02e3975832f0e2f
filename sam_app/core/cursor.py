"""Opaque page cursors: the last key returned, base64url-encoded.

Both adapters list in key order after a key (S3 `StartAfter`, sorted directory
entries), so one cursor format serves the bucket and the local folder.
"""

from __future__ import annotations

import base64
import binascii

from sdaws.contract.errors import InvalidInput


def encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii").rstrip("=")


def decode(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidInput("cursor is not valid; pass next_cursor from the previous page unchanged") from None
    if not key or "/" not in key:
        raise InvalidInput("cursor is not valid; pass next_cursor from the previous page unchanged")
    return key
