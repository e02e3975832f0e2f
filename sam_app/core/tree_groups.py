"""One folder's listing as models, each with the sidecars beside it.

A model `x.safetensors` and its sidecars (`x.json`, `x.preview.png`, `x.txt`) all start
with `x.`, and every name starting with a given prefix is contiguous in key order (the
order S3 and the local store list in). So one pass over the listing groups them: a
group opens at the first name of its range and closes at the first name past it. The
sidecars may sort before the model (`x.json` < `x.safetensors`) or after it (`x.txt`),
and groups nest (`x.v2.safetensors` lies inside `x.`'s range), so a group is known
complete only when its range has been passed.

Each group comes with a resume key: listing after it yields exactly the groups not yet
produced. Inside a nest no such key exists (None); pages end only where one does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sdaws.contract.sidecars import is_sidecar, owner_stem, stem

from .ports import ObjectStore, StoredObject

PAGE = 1000


@dataclass
class ModelGroup:
    model: StoredObject
    sidecars: dict[str, StoredObject] = field(default_factory=dict)  # file name -> object

    @property
    def name(self) -> str:
        return self.model.key.split("/", 1)[1]

    @property
    def folder(self) -> str:
        return self.model.key.split("/", 1)[0]


@dataclass
class _Open:
    models: list[StoredObject] = field(default_factory=list)
    sidecars: dict[str, StoredObject] = field(default_factory=dict)


def _group_stem(name: str) -> str:
    owner = owner_stem(name)
    return owner if owner is not None else stem(name)


def folder_groups(
    store: ObjectStore, folder: str, start_after: str | None = None, page: int = PAGE
) -> Iterator[tuple[ModelGroup, str | None]]:
    """(group, resume key) for every model in `folder` after `start_after`, in the order
    their groups close."""
    pending: dict[str, _Open] = {}
    after = start_after
    previous = start_after

    def close(stems: list[str]) -> list[ModelGroup]:
        closed = []
        for s in stems:
            group = pending.pop(s)
            closed += [ModelGroup(model, dict(group.sidecars)) for model in group.models]
        return closed

    def with_resume(closed: list[ModelGroup], resume: str | None) -> Iterator[tuple[ModelGroup, str | None]]:
        # Only the last group closed at a point where nothing stays open can resume the listing.
        for i, group in enumerate(closed):
            yield group, (resume if i == len(closed) - 1 and not pending else None)

    while True:
        objects, more = store.list_files(f"{folder}/", after, page)
        for obj in objects:
            name = obj.key.split("/", 1)[1]
            yield from with_resume(close([s for s in pending if not name.startswith(s + ".")]), previous)
            entry = pending.setdefault(_group_stem(name) or name, _Open())
            if is_sidecar(name):
                entry.sidecars[name] = obj
            else:
                entry.models.append(obj)  # x.safetensors and x.ckpt share one stem
            previous = obj.key
        if not more or not objects:
            break
        after = objects[-1].key
    yield from with_resume(close(list(pending)), previous)
