"""Knowledge-base documents, their versions and the manifest.

A document's `version` is a content hash (SHA-256 of title and text, 16 hex digits): change one
word and the version changes, so a citation made against the old text can be told apart and
still resolved from the version archive (`VersionArchive`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.errors import KbError

Approval = Literal["approved", "pending", "rejected"]


class KbDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    doc_id: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    source_url: str
    publisher: str
    licence: str
    version: str = Field(pattern=r"^[0-9a-f]{16}$")
    approval: Approval
    approver: str | None = None
    approved_on: str | None = None
    condition: str | None = Field(None, description="the DDXPlus condition it is about, if any")
    icd10: str | None = None

    @staticmethod
    def content_version(title: str, text: str) -> str:
        return hashlib.sha256(f"{title}\n\n{text}".encode()).hexdigest()[:16]


class ManifestEntry(BaseModel):
    """A document without its text: what the manifest and the PDF pack list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    doc_id: str
    title: str
    version: str
    source_url: str
    publisher: str
    licence: str
    approval: Approval
    approver: str | None
    approved_on: str | None
    condition: str | None
    icd10: str | None
    passages: int


class KbManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[ManifestEntry]
    indexed_documents: int
    indexed_passages: int
    embedding_model: str
    chunk_size: int

    def entry(self, doc_id: str) -> ManifestEntry | None:
        return next((d for d in self.documents if d.doc_id == doc_id), None)


def write_documents(path: Path, docs: Iterable[KbDocument]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(d.model_dump_json() + "\n")


def read_documents(path: Path) -> list[KbDocument]:
    if not path.exists():
        raise KbError(f"{path}: file not found (run `cds kb build` first)")
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                out.append(KbDocument.model_validate_json(line))
            except ValidationError as e:
                raise KbError(
                    f"{path}: line {i}: not a KB document ({e.error_count()} errors)"
                ) from e
    return out


class VersionArchive:
    """Every (doc_id, version) the KB has ever indexed, with its passages, in an append-only
    JSONL file, so a suggestion keeps resolving the exact text it cited after the KB moves on."""

    def __init__(self, path: Path):
        self.path = path
        self._index: dict[tuple[str, str], dict[str, str]] | None = None

    def _load(self) -> dict[tuple[str, str], dict[str, str]]:
        if self._index is None:
            self._index = {}
            if self.path.exists():
                for line in self.path.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        rec = json.loads(line)
                        self._index[(rec["doc_id"], rec["version"])] = rec["passages"]
        return self._index

    def add(self, doc_id: str, version: str, passages: dict[str, str]) -> bool:
        """Record a version's passages; False when it was already there."""
        index = self._load()
        if (doc_id, version) in index:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            rec = {"doc_id": doc_id, "version": version, "passages": passages}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        index[(doc_id, version)] = passages
        return True

    def passages(self, doc_id: str, version: str) -> dict[str, str] | None:
        """All passages of one version, in order, or None when the version is unknown."""
        return self._load().get((doc_id, version))

    def passage(self, doc_id: str, version: str, passage_id: str) -> str | None:
        return self._load().get((doc_id, version), {}).get(passage_id)

    def versions(self, doc_id: str) -> list[str]:
        return [v for (d, v) in self._load() if d == doc_id]
