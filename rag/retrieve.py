"""`retrieve(query or note, k) -> [Passage]`: dense and BM25 results fused by reciprocal rank.

The SFT dataset stage and `suggest` both call `Retriever.retrieve`, so the model sees the same
kind of context in training and in use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from cds.schemas import Note, PassageCitation
from rag.index import LoadedIndex, load_index, resolve_embedding_path

RRF_K = 60  # reciprocal-rank-fusion constant (Cormack et al. 2009)
# BM25 counts double in the fusion: a note is longer than the embedding model's 256-word-piece
# window, so the dense ranking sees only its first part (validation split: BM25 alone finds the
# gold sheet in the top 5 for 0.98 of notes, dense alone 0.78, equal-weight fusion 0.94).
DEFAULT_LEXICAL_WEIGHT = 2.0
SHORT_QUERY_WORDS = 64
CANDIDATES_PER_RETRIEVER = 30
# Lines of a note that identify or administer rather than describe the patient.
_ADMIN_LINE = re.compile(
    r"^\s*(?:name|patient|mrn|medical record|dob|date of birth|address|home|phone|tel|e-?mail|"
    r"seen on|date of service|insurance|member|account|provider|attending|pcp)\b",
    re.IGNORECASE,
)


@contextmanager
def _one_thread(enabled: bool) -> Iterator[None]:
    """Embed a short query on one intra-op thread. On a small CPU, torch's thread hand-offs for
    one short input cost more than they save and cause latency spikes (PubMedQA questions,
    2 cores: p95 100 ms with 2 threads, 15 ms with 1); a whole note still gains from two
    (p95 43 ms vs 60 ms). Restored afterwards, for generation."""
    if not enabled:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Passage(BaseModel):
    model_config = ConfigDict(frozen=True)

    passage_id: str
    doc_id: str
    version: str
    title: str
    text: str
    condition: str | None
    icd10: str | None
    score: float
    dense_rank: int | None
    lexical_rank: int | None

    def citation(self) -> PassageCitation:
        return PassageCitation(doc_id=self.doc_id, passage_id=self.passage_id, version=self.version)


def note_query(note: Note) -> str:
    """The clinical content of a note as a query: administrative lines left out."""
    lines = [ln.text for ln in note.lines if ln.text.strip() and not _ADMIN_LINE.match(ln.text)]
    return "\n".join(lines)


class Retriever:
    def __init__(self, index: LoadedIndex, lexical_weight: float = DEFAULT_LEXICAL_WEIGHT):
        self.index = index
        self.lexical_weight = lexical_weight
        self._dense = index.vector_index.as_retriever(similarity_top_k=CANDIDATES_PER_RETRIEVER)
        self.index.bm25.similarity_top_k = min(CANDIDATES_PER_RETRIEVER, len(index.passages))

    @classmethod
    def load(
        cls,
        index_dir: Path,
        embedding_model: Path | None = None,
        lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
    ) -> Retriever:
        return cls(load_index(index_dir, resolve_embedding_path(embedding_model)), lexical_weight)

    def retrieve(self, query: str | Note, k: int = 5) -> list[Passage]:
        text = note_query(query) if isinstance(query, Note) else query
        if not text.strip():
            return []
        with _one_thread(enabled=len(text.split()) < SHORT_QUERY_WORDS):
            dense = [n.node.node_id for n in self._dense.retrieve(text)]
        lexical = [n.node.node_id for n in self.index.bm25.retrieve(text)]
        scores: dict[str, float] = {}
        for weight, ranking in ((1.0, dense), (self.lexical_weight, lexical)):
            for rank, node_id in enumerate(ranking, start=1):
                scores[node_id] = scores.get(node_id, 0.0) + weight / (RRF_K + rank)
        best = sorted(scores, key=lambda n: (-scores[n], n))[:k]
        out = []
        for node_id in best:
            p = self.index.passages[node_id]
            out.append(
                Passage(
                    passage_id=p.passage_id,
                    doc_id=p.doc_id,
                    version=p.version,
                    title=p.title,
                    text=p.text,
                    condition=p.condition,
                    icd10=p.icd10,
                    score=scores[node_id],
                    dense_rank=dense.index(node_id) + 1 if node_id in dense else None,
                    lexical_rank=lexical.index(node_id) + 1 if node_id in lexical else None,
                )
            )
        return out
