"""Retrieval evaluation: recall@1/5/10, MRR and query latency.

- PubMedQA (`ori_pqal.json` format: `{pmid: {"QUESTION", "CONTEXTS": [...]}}`): every context
  becomes a document in a temporary index built with the product's settings (passage splitting,
  embedding model, BM25, fusion); each question's own context is the answer.
- Demo notes (corpus JSONL): is a passage of the gold condition's sheet in the top k?
A hit at rank r counts for recall@k when r <= k; MRR uses the first hit within the top 10.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from rag.documents import KbDocument
from rag.errors import KbError
from rag.index import index_in_memory, load_embedding, resolve_embedding_path, split_passages
from rag.retrieve import Passage, Retriever

TOP_K = 10


class RetrievalMetrics(BaseModel):
    set: str
    n: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr: float
    p50_ms: float
    p95_ms: float
    index_build_s: float | None = None
    passages: int | None = None


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def score_queries(
    name: str,
    queries: Sequence[tuple[object, Callable[[Passage], bool]]],
    retriever: Retriever,
) -> RetrievalMetrics:
    ranks: list[int | None] = []
    latencies: list[float] = []
    if queries:
        retriever.retrieve(queries[0][0], k=TOP_K)  # warm-up: first-call allocations
    for query, is_hit in queries:
        start = time.perf_counter()
        passages = retriever.retrieve(query, k=TOP_K)
        latencies.append((time.perf_counter() - start) * 1000)
        ranks.append(next((i for i, p in enumerate(passages, start=1) if is_hit(p)), None))
    n = len(ranks)
    if n == 0:
        raise KbError(f"{name}: no queries")

    def recall(k: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= k) / n

    return RetrievalMetrics(
        set=name,
        n=n,
        recall_at_1=recall(1),
        recall_at_5=recall(5),
        recall_at_10=recall(10),
        mrr=sum(1 / r for r in ranks if r is not None) / n,
        p50_ms=statistics.median(latencies),
        p95_ms=_percentile(latencies, 0.95),
    )


def read_pubmedqa(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise KbError(f"{path}: file not found") from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise KbError(f"{path}: not a JSON file ({type(e).__name__})") from e
    if not isinstance(data, dict) or not data:
        raise KbError(f"{path}: expected a JSON object of PubMedQA records")
    for pmid, rec in data.items():
        if not isinstance(rec, dict) or "QUESTION" not in rec or "CONTEXTS" not in rec:
            raise KbError(f"{path}: record {pmid}: missing QUESTION or CONTEXTS")
    return data


def evaluate_pubmedqa(
    path: Path,
    embedding_model: Path | None,
    chunk_size: int,
    chunk_overlap: int,
    lexical_weight: float,
    limit: int | None = None,
) -> RetrievalMetrics:
    data = read_pubmedqa(path)
    if limit is not None:
        data = dict(list(data.items())[:limit])
    docs = []
    for pmid, rec in data.items():
        contexts = rec["CONTEXTS"]
        text = "\n\n".join(contexts) if isinstance(contexts, list) else str(contexts)
        title = f"PubMed {pmid}"
        docs.append(
            KbDocument(
                doc_id=f"pmid-{pmid}",
                title=title,
                text=text,
                source_url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
                publisher="PubMed",
                licence="see source",
                version=KbDocument.content_version(title, text),
                approval="approved",
            )
        )
    passages = [p for d in docs for p in split_passages(d, chunk_size, chunk_overlap)]
    start = time.perf_counter()
    embed = load_embedding(resolve_embedding_path(embedding_model))
    retriever = Retriever(index_in_memory(passages, embed), lexical_weight)
    build_s = time.perf_counter() - start
    queries = [
        (rec["QUESTION"], lambda p, want=f"pmid-{pmid}": p.doc_id == want)
        for pmid, rec in data.items()
    ]
    metrics = score_queries("pubmedqa", queries, retriever)
    return metrics.model_copy(update={"index_build_s": build_s, "passages": len(passages)})


def evaluate_notes(
    path: Path, retriever: Retriever, split: str | None, limit: int | None = None
) -> RetrievalMetrics:
    """Gold condition sheet in the top k for each note of a corpus file."""
    from pydantic import ValidationError

    from cds.corpus.build import read_corpus
    from rag.sources import slug

    if not path.exists():
        raise KbError(f"{path}: file not found")
    try:
        records = [r for r in read_corpus(path) if split is None or r.split == split]
    except (ValidationError, UnicodeDecodeError) as e:
        raise KbError(f"{path}: not a corpus JSONL file ({type(e).__name__})") from e
    records = records[:limit]
    queries = [
        (r.note, lambda p, want=f"ddx-{slug(r.pathology)}": p.doc_id == want) for r in records
    ]
    return score_queries("notes", queries, retriever)
