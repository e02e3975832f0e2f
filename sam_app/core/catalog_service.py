"""The model catalog: hashes, WebUI sidecars, model facts and search over the whole tree.

Every read works from what the tree store lists plus the catalog entry model_index
keeps per model, so a search page costs one listing pass and one batch read of the
catalog, not a file open per model. Entries are (re)built for at most `inspect_budget`
models per request; models beyond it are reported as `unindexed` and indexed on the
next page or request. A page also stops after `scan_budget` models so a request stays
short on a huge tree; `next_cursor` continues the scan either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sdaws.contract.errors import InvalidInput, NotFound
from sdaws.contract.hashes import autov2, hash_query, matches_hash
from sdaws.contract.model_facts import FAMILIES, fits
from sdaws.contract.model_tree import MODEL_TYPES, canonical_type, check_name, model_key
from sdaws.contract.sidecars import (
    IMAGE_CONTENT_TYPES,
    MAX_PREVIEW_BYTES,
    MAX_USER_METADATA_BYTES,
    PREVIEW_EXTENSIONS,
    apply_user_metadata_edit,
    encode_user_metadata,
    is_sidecar,
    parse_user_metadata,
    preview_extension,
    preview_name,
    sidecar_names,
    stem,
    user_metadata_name,
)

from . import cursor as cursors
from .catalog_ports import CatalogIndex, HashTracker, SidecarFiles
from .jobs_ports import JobRecords
from .model_index import INDEX_KEY, build_entry, is_fresh
from .ports import ModelCatalog, ObjectStore, StoredObject
from .tree_groups import ModelGroup, folder_groups

DEFAULT_PAGE = 50
MAX_PAGE = 500
SCAN_BUDGET = 5000
INSPECT_BUDGET = 50
BATCH = 100
_TYPES_IN_KEY_ORDER = tuple(sorted(MODEL_TYPES))
# Job outputs a preview may come from (txt2img/img2img images, training samples).
PREVIEW_OUTPUT_TYPES = ("images", "samples")


def _terms(text: str | None) -> list[str]:
    return [t for t in (text or "").lower().split() if t]


class CatalogService:
    def __init__(
        self,
        store: ObjectStore,
        catalog: ModelCatalog,
        index: CatalogIndex,
        sidecars: SidecarFiles,
        hashes: HashTracker,
        jobs: JobRecords | None = None,
        inspect_budget: int = INSPECT_BUDGET,
        scan_budget: int = SCAN_BUDGET,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.index = index
        self.sidecars = sidecars
        self.hashes = hashes
        self.jobs = jobs
        self.inspect_budget = inspect_budget
        self.scan_budget = scan_budget

    # -- entries ---------------------------------------------------------------------
    def _read_sidecar(self, folder: str) -> Any:
        def read(name: str, max_bytes: int) -> bytes | None:
            try:
                found = self.sidecars.read(f"{folder}/{name}", max_bytes)
            except InvalidInput:
                return None
            return found.data if found else None

        return read

    def _build(self, group: ModelGroup, facts: dict | None) -> dict:
        key = group.model.key
        entry = build_entry(
            group, lambda start, length: self.store.read_range(key, start, length), self._read_sidecar(group.folder)
        )
        # Re-read just before writing: a hasher may have recorded a sha256 meanwhile.
        latest = self.catalog.get(key) or facts or {}
        self.catalog.put(key, {**latest, INDEX_KEY: entry})
        return entry

    def _group(self, model_type: str, name: str) -> ModelGroup:
        key = model_key(model_type, name)
        folder = key.split("/", 1)[0]
        own = set(sidecar_names(name))
        model: StoredObject | None = None
        found: dict[str, StoredObject] = {}
        after: str | None = None
        while True:  # every name starting with "<stem>." : the model and its sidecars
            objects, more = self.store.list_files(f"{folder}/{stem(name)}.", after, 1000)
            for obj in objects:
                file_name = obj.key.split("/", 1)[1]
                if file_name == name:
                    model = obj
                elif file_name in own:
                    found[file_name] = obj
            if not more or not objects:
                break
            after = objects[-1].key
        if model is None:
            model = self.store.head(key)
        if model is None or is_sidecar(name):
            raise NotFound(f"no model {key}; list the folder to see what is there")
        return ModelGroup(model, found)

    def _entry(self, group: ModelGroup, facts: dict | None) -> dict:
        entry = (facts or {}).get(INDEX_KEY)
        if entry is not None and is_fresh(entry, group):
            return entry
        return self._build(group, facts)

    def _hash(self, obj: StoredObject) -> dict:
        state = dict(self.hashes.state(obj))
        if state.get("status") == "done" and state.get("sha256"):
            state["autov2"] = autov2(state["sha256"])
        return state

    def _item(self, group: ModelGroup, entry: dict | None) -> dict:
        obj = group.model
        item: dict[str, Any] = {
            "type": group.folder,
            "name": group.name,
            "size": obj.size,
            "modified": obj.modified.isoformat(),
            "hash": self._hash(obj),
            "indexed": entry is not None,
        }
        if entry is not None:
            item |= {
                "kind": entry["kind"],
                "family": entry["family"],
                "families": entry["families"],
                "tags": entry["tags"][:12],
                "preview": f"{group.folder}/{entry['preview']}" if entry["preview"] else None,
                "title": (entry.get("civitai") or {}).get("model_name"),
            }
        return item

    # -- details ---------------------------------------------------------------------
    def details(self, model_type: str, name: str, checkpoint: str | None = None) -> dict:
        """Hashes, sidecar fields and file facts of one model; with `checkpoint`
        (`Stable-diffusion/x.safetensors`), whether it fits that checkpoint."""
        group = self._group(model_type, name)
        entry = self._entry(group, self.catalog.get(group.model.key))
        details = self._item(group, entry) | {
            "reasons": entry["reasons"],
            "family_source": entry["family_source"],
            "kohya": entry["kohya"],
            "user_metadata": entry["user"],
            "civitai": entry["civitai"],
            "description": entry["description"],
            "sidecars": sorted(f"{group.folder}/{n}" for n in group.sidecars),
            "warnings": entry["warnings"],
        }
        details["tags"] = entry["tags"]
        if checkpoint:
            details["fit"] = self.fit(entry, checkpoint)
        return details

    def fit(self, entry: dict, checkpoint: str) -> dict:
        folder, _, ckpt_name = checkpoint.partition("/")
        ckpt = self.details(folder, ckpt_name) if ckpt_name else None
        family = ckpt.get("family") if ckpt else None
        return fits(entry["kind"], entry["families"], family).as_dict() | {"checkpoint_family": family}

    # -- search ----------------------------------------------------------------------
    def _folders(self, model_type: str | None, after: str | None) -> list[str]:
        folders = [canonical_type(model_type)] if model_type else list(_TYPES_IN_KEY_ORDER)
        if after is not None:
            first = after.split("/", 1)[0]
            if first not in folders:
                raise InvalidInput("cursor does not belong to this search; start again without cursor")
            folders = [f for f in folders if f >= first]
        return folders

    def _groups(self, folders: list[str], after: str | None) -> Iterator[tuple[ModelGroup, str | None]]:
        for folder in folders:
            start = after if after is not None and after.startswith(folder + "/") else None
            yield from folder_groups(self.store, folder, start)

    def search(
        self,
        q: str | None = None,
        tag: str | None = None,
        family: str | None = None,
        hash: str | None = None,
        model_type: str | None = None,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> dict:
        """Models across all folders (or one) whose name holds every word of `q`, with a
        trigger word / tag containing `tag`, of base `family`, whose sha256 starts with
        `hash` (a sha256, AutoV2 or prefix); each filter optional, all must match."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        if family is not None and family not in FAMILIES:
            raise InvalidInput(f"family must be one of {', '.join(FAMILIES)}")
        prefix = hash_query(hash) if hash else None
        words, wanted_tag = _terms(q), (tag or "").strip().lower() or None
        after = cursors.decode(cursor) if cursor else None
        needs_entry = bool(wanted_tag or family)

        items: list[dict] = []
        examined = unindexed = inspected = 0
        resume: str | None = None
        batch: list[tuple[ModelGroup, str | None]] = []
        stopped = False
        groups = self._groups(self._folders(model_type, after), after)
        while not stopped:
            batch = [pair for _, pair in zip(range(BATCH), groups, strict=False)]
            if not batch:
                break
            facts = self.index.get_many([g.model.key for g, _ in batch])
            for group, resume_key in batch:
                examined += 1
                entry = (facts.get(group.model.key) or {}).get(INDEX_KEY)
                fresh = is_fresh(entry, group)
                if not fresh and inspected < self.inspect_budget:
                    entry, fresh = self._build(group, facts.get(group.model.key)), True
                    inspected += 1
                if not fresh:
                    entry = None
                    if needs_entry:
                        unindexed += 1
                if self._matches(group, entry, words, wanted_tag, family, prefix):
                    items.append(self._item(group, entry))
                if resume_key is not None:
                    resume = resume_key
                    if len(items) >= limit or examined >= self.scan_budget:
                        stopped = True
                        break
        more = stopped and self._has_more(model_type, resume)
        return {
            "items": items,
            "next_cursor": cursors.encode(resume) if more and resume else None,
            "examined": examined,
            "unindexed": unindexed,
        }

    def _has_more(self, model_type: str | None, resume: str | None) -> bool:
        if resume is None:
            return False
        return next(self._groups(self._folders(model_type, resume), resume), None) is not None

    def _matches(
        self,
        group: ModelGroup,
        entry: dict | None,
        words: list[str],
        tag: str | None,
        family: str | None,
        prefix: str | None,
    ) -> bool:
        if words:
            titles = [group.name]
            if entry is not None:
                titles += [
                    (entry.get("civitai") or {}).get("model_name") or "",
                    (entry.get("kohya") or {}).get("output_name") or "",
                ]
            text = " ".join(titles).lower()
            if not all(w in text for w in words):
                return False
        if tag is not None and (entry is None or not any(tag in t.lower() for t in entry["tags"])):
            return False
        if family is not None and (entry is None or family not in entry["families"]):
            return False
        if prefix is not None:
            state = self.hashes.state(group.model)
            if state.get("status") != "done" or not matches_hash(state.get("sha256"), prefix):
                return False
        return True

    # -- hashes ------------------------------------------------------------------------
    def _catalogued(self, prefix: str = "") -> dict[str, list[str]]:
        """sha256 -> keys, from the catalog alone, for hashes starting with `prefix`."""
        by_sha: dict[str, list[str]] = {}
        for key, facts in self.index.hashed(prefix):
            sha = str(facts.get("sha256") or "").lower()
            if sha.startswith(prefix) and "/" in key and key.split("/", 1)[0] in MODEL_TYPES:
                by_sha.setdefault(sha, []).append(key)
        return by_sha

    def _confirmed(self, keys: list[str], sha: str) -> list[StoredObject]:
        """Those keys whose file is still there with the bytes the hash was computed on
        (a HEAD each: only for the few candidates, never the whole catalog)."""
        found = []
        for key in keys:
            obj = self.store.head(key)
            if obj is None:
                continue
            state = self.hashes.state(obj)
            if state.get("status") == "done" and str(state.get("sha256") or "").lower() == sha:
                found.append(obj)
        return found

    def find_by_hash(self, query: str) -> dict:
        """`GET /models?hash=`: models whose sha256 starts with `query` (sha256, AutoV2 or a prefix)."""
        prefix = hash_query(query)
        items = []
        for sha, keys in self._catalogued(prefix).items():
            for obj in self._confirmed(keys, sha):
                items.append(self._item(ModelGroup(obj), None))
        items.sort(key=lambda i: (i["type"], i["name"]))
        return {"items": items}

    def duplicates(self) -> dict:
        """`GET /models/duplicates`: groups of models with equal sha256, most space wasted first."""
        groups: list[dict[str, Any]] = []
        for sha, keys in self._catalogued().items():
            if len(keys) < 2:
                continue
            objs = self._confirmed(keys, sha)
            if len(objs) < 2:
                continue
            groups.append(
                {
                    "sha256": sha,
                    "autov2": autov2(sha),
                    "size": objs[0].size,
                    "wasted_bytes": objs[0].size * (len(objs) - 1),
                    "models": sorted(o.key for o in objs),
                }
            )
        groups.sort(key=lambda g: (-g["wasted_bytes"], g["sha256"]))
        return {"groups": groups}

    # -- sidecars ------------------------------------------------------------------------
    def edit_user_metadata(self, model_type: str, name: str, edits: dict[str, Any]) -> dict:
        """Set description / activation text / preferred weight / negative text / notes /
        sd version in NAME.json under the WebUI's keys, keeping every other key."""
        if not edits:
            raise InvalidInput("nothing to edit; give at least one field")
        group = self._group(model_type, name)
        key = f"{group.folder}/{user_metadata_name(group.name)}"
        current = self.sidecars.read(key, MAX_USER_METADATA_BYTES)
        raw = parse_user_metadata(current.data).raw if current else {}
        updated = apply_user_metadata_edit(raw, edits)
        self.sidecars.replace(
            key, encode_user_metadata(updated), "application/json", current.version if current else None
        )
        return parse_user_metadata(encode_user_metadata(updated)).as_dict()

    def set_preview(self, model_type: str, name: str, image: bytes) -> dict:
        """Make `image` (PNG, JPEG, WebP or GIF bytes) the model's preview, as NAME.preview.<ext>;
        other NAME.preview.* files go, so the new one is what both programs show."""
        group = self._group(model_type, name)
        if not image:
            raise InvalidInput("the preview image is empty")
        if len(image) > MAX_PREVIEW_BYTES:
            raise InvalidInput(f"the preview is {len(image)} bytes; at most {MAX_PREVIEW_BYTES}")
        ext = preview_extension(image)
        target = preview_name(group.name, ext)
        self.sidecars.write(f"{group.folder}/{target}", image, IMAGE_CONTENT_TYPES[ext])
        for other in {preview_name(group.name, e) for e in PREVIEW_EXTENSIONS} - {target}:
            if other in group.sidecars:
                self.sidecars.delete(f"{group.folder}/{other}")
        return {"preview": f"{group.folder}/{target}", "size": len(image)}

    def set_preview_from_job(self, model_type: str, name: str, job_id: str, output: str) -> dict:
        """ "Use as preview": a generated image (`output` is its name in the job's outputs)."""
        if self.jobs is None:
            raise InvalidInput("job outputs are not available here")
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        match = [o for o in job.outputs if o.get("type") in PREVIEW_OUTPUT_TYPES and o.get("name") == output]
        if not match or not match[0].get("key"):
            names = ", ".join(str(o.get("name")) for o in job.outputs if o.get("type") in PREVIEW_OUTPUT_TYPES)
            raise NotFound(f"job {job_id} has no image {output!r}" + (f"; it has {names}" if names else ""))
        found = self.sidecars.read(match[0]["key"], MAX_PREVIEW_BYTES)
        if found is None:
            raise NotFound(f"the image {output!r} of job {job_id} is gone")
        return self.set_preview(model_type, name, found.data) | {"from_job": job_id, "from_output": output}

    def sidecar_keys(self, model_type: str, name: str) -> list[str]:
        """Keys of the sidecars the model has now: what moves and deletes with it."""
        group = self._group(model_type, name)
        return sorted(f"{group.folder}/{n}" for n in group.sidecars)

    def delete_sidecars(self, model_type: str, name: str) -> list[str]:
        """Remove the model's sidecars (call before deleting the model itself)."""
        keys = self.sidecar_keys(model_type, name)
        for key in keys:
            self.sidecars.delete(key)
        return keys

    def move_sidecars(self, model_type: str, name: str, new_type: str, new_name: str) -> list[str]:
        """Carry the sidecars over to the model's new place and name (`x.json` -> `y.json`)."""
        check_name(new_name)
        new_folder = canonical_type(new_type)
        group = self._group(model_type, name)
        old_stem, new_stem = stem(group.name), stem(new_name)
        moved = []
        for file_name in sorted(group.sidecars):
            found = self.sidecars.read(f"{group.folder}/{file_name}", max(MAX_PREVIEW_BYTES, MAX_USER_METADATA_BYTES))
            if found is None:
                continue
            target = f"{new_folder}/{new_stem}{file_name[len(old_stem) :]}"
            ext = file_name.rsplit(".", 1)[-1].lower()
            self.sidecars.write(target, found.data, IMAGE_CONTENT_TYPES.get(ext, "application/octet-stream"))
            self.sidecars.delete(f"{group.folder}/{file_name}")
            moved.append(target)
        return moved
