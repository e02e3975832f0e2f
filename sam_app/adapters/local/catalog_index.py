"""CatalogIndex over the local SQLite `models` table (the one SqliteModelCatalog writes)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from .sqlite_db import SqliteDb

_CHUNK = 500  # SQLite's bound-parameter limit is 999 on old builds


class SqliteCatalogIndex:
    def __init__(self, db: SqliteDb) -> None:
        self.db = db

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        conn = self.db.connect()
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, facts in conn.execute(f"SELECT model_key, facts FROM models WHERE model_key IN ({marks})", chunk):
                found[key] = json.loads(facts)
        return found

    def hashed(self, prefix: str = "") -> Iterator[tuple[str, dict]]:
        # Hex prefixes hold no LIKE wildcards; lower() because sha256s are stored as written.
        rows = (
            self.db.connect()
            .execute(
                "SELECT model_key, facts FROM models WHERE lower(json_extract(facts, '$.sha256')) LIKE ? "
                "ORDER BY model_key",
                (prefix.lower() + "%",),
            )
            .fetchall()
        )
        for key, facts in rows:
            yield key, json.loads(facts)
