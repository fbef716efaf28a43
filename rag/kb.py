"""The built knowledge base as the pipeline uses it: retrieval, passages at a version, the
condition vocabulary and citation verification, from the `kb` stage's outputs."""

from __future__ import annotations

import json
from functools import cached_property

from cds.corpus.ddxplus import load_knowledge
from cds.schemas import Differential, Note
from rag.build import KbConfig
from rag.conditions import ConditionProfile, profiles
from rag.documents import KbDocument, KbManifest, VersionArchive, read_documents
from rag.errors import KbError
from rag.retrieve import Passage, Retriever
from rag.verify import PassageRecord, Verification, verify


class KnowledgeBase:
    def __init__(self, cfg: KbConfig):
        self.cfg = cfg
        self.archive = VersionArchive(cfg.out_dir / "versions.jsonl")

    @cached_property
    def manifest(self) -> KbManifest:
        path = self.cfg.out_dir / "manifest.json"
        if not path.exists():
            raise KbError(f"{path}: not found (run `cds kb build` or `dvc repro kb`)")
        return KbManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))

    @cached_property
    def documents(self) -> dict[str, KbDocument]:
        return {d.doc_id: d for d in read_documents(self.cfg.out_dir / "documents.jsonl")}

    @cached_property
    def profiles(self) -> dict[str, ConditionProfile]:
        return profiles(load_knowledge(self.cfg.ddxplus_dir))

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever.load(self.cfg.index_dir, self.cfg.embedding_model, self.cfg.lexical_weight)

    def retrieve(self, query: str | Note, k: int = 5) -> list[Passage]:
        return self.retriever.retrieve(query, k)

    def passage_at(self, doc_id: str, passage_id: str, version: str) -> PassageRecord | None:
        """The passage as it was at `version` (the current KB or the version archive)."""
        doc = self.documents.get(doc_id)
        text = self.archive.passage(doc_id, version, passage_id)
        if text is None:
            return None
        return PassageRecord(
            text=text,
            title=doc.title if doc else doc_id,
            condition=doc.condition if doc else None,
            icd10=doc.icd10 if doc else None,
        )

    def verify(self, differential: Differential, note: Note) -> Verification:
        return verify(differential, note, self, self.profiles)
