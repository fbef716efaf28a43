"""Scoring PHI detection on any labelled corpus: token- and span-level recall, precision, F2.

Accepted inputs (format detected per line/file):
- JSONL `{"text": ..., "phi": [{"start", "end", "type"}]}` (PhysioNet deid nursing notes);
- JSONL of our corpus records (`{"note": {"text": ...}, "phi": [...]}`);
- a JSON list of presidio-research records (`full_text`, `spans` with `entity_type`,
  `start_position`, `end_position`).
Labels are mapped to ours by `labels.map_label`; unscored labels (e.g. a bare year) are
excluded from both recall and precision.

Tokens are runs of word characters. A gold token is found when any detection overlaps it
(detection is judged type-blind, as a privacy officer would: a name masked as a place is still
masked). A span is found when all its tokens are found. F2 weighs recall four times precision.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from governance.deid.engine import Detection
from governance.deid.errors import DeidInputError
from governance.deid.labels import PRESIDIO_RESEARCH, map_label

_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class GoldSpan:
    start: int
    end: int
    label: str  # the corpus's own label
    type: str | None  # ours, None when not scored


@dataclass(frozen=True)
class LabelledText:
    text: str
    spans: tuple[GoldSpan, ...]


class Scores(BaseModel):
    recall: float
    precision: float
    f2: float
    tp: int
    fn: int
    fp: int


class DeidMetrics(BaseModel):
    engine: str
    n_notes: int
    n_gold_spans: int
    token_recall: float
    token_precision: float
    f2: float
    span_recall: float
    span_precision: float
    span_f2: float
    per_type: dict[str, dict[str, float | int]]
    notes_per_s: float


def _scores(tp: int, fn: int, fp: int) -> Scores:
    recall = tp / (tp + fn) if tp + fn else 1.0
    precision = tp / (tp + fp) if tp + fp else 1.0
    f2 = 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0
    return Scores(recall=recall, precision=precision, f2=f2, tp=tp, fn=fn, fp=fp)


def _span(
    label: str,
    start: int,
    end: int,
    text_len: int,
    where: str,
    scheme: dict[str, str | None] | None = None,
) -> GoldSpan:
    if not (0 <= start < end <= text_len):
        raise DeidInputError(f"{where}: span {start}-{end} outside the text")
    return GoldSpan(start, end, label, map_label(label, scheme))


def load_labelled(path: Path) -> list[LabelledText]:
    """Read a labelled corpus in any accepted format.

    Raises:
        DeidInputError: missing file, invalid JSON/UTF-8, or a record without text and spans
        (the message gives the line number, never the text).
    """
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise DeidInputError(f"{path}: file not found") from e
    except UnicodeDecodeError as e:
        raise DeidInputError(f"{path}: not UTF-8 text") from e
    if raw.lstrip().startswith("["):
        try:
            records = json.loads(raw)
        except json.JSONDecodeError as e:
            raise DeidInputError(f"{path}: invalid JSON at line {e.lineno}") from e
        numbered = list(enumerate(records, start=1))
    else:
        numbered = []
        for i, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                try:
                    numbered.append((i, json.loads(line)))
                except json.JSONDecodeError as e:
                    raise DeidInputError(f"{path}: line {i}: invalid JSON") from e
    out = []
    for i, rec in numbered:
        where = f"{path}: record {i}"
        try:
            if "full_text" in rec:
                text = rec["full_text"]
                spans = [
                    _span(
                        s["entity_type"],
                        s["start_position"],
                        s["end_position"],
                        len(text),
                        where,
                        PRESIDIO_RESEARCH,
                    )
                    for s in rec["spans"]
                ]
            else:
                text = rec["note"]["text"] if "note" in rec else rec["text"]
                spans = [
                    _span(s["type"], s["start"], s["end"], len(text), where) for s in rec["phi"]
                ]
        except (KeyError, TypeError) as e:
            raise DeidInputError(
                f"{where}: expected text and PHI spans ({type(e).__name__})"
            ) from e
        if not isinstance(text, str):
            raise DeidInputError(f"{where}: text is not a string")
        out.append(LabelledText(text, tuple(spans)))
    if not out:
        raise DeidInputError(f"{path}: no records")
    return out


def score(
    corpus: Sequence[LabelledText], predictions: Sequence[Sequence[Detection]]
) -> tuple[Scores, Scores, dict[str, dict[str, float | int]]]:
    """Token scores, span scores, and per-label token recall/support."""
    tok = Counter()
    span = Counter()
    per_label_tp: Counter[str] = Counter()
    per_label_n: Counter[str] = Counter()
    for item, preds in zip(corpus, predictions, strict=True):
        pred = [(d.start, d.end) for d in preds]
        scored = [s for s in item.spans if s.type is not None]
        ignored = [s for s in item.spans if s.type is None]

        def hit(a: int, b: int, spans=pred) -> bool:
            return any(s < b and a < e for s, e in spans)

        for m in _TOKEN.finditer(item.text):
            a, b = m.span()
            gold = [s for s in scored if s.start < b and a < s.end]
            found = hit(a, b)
            if gold:
                tok["tp" if found else "fn"] += 1
                per_label_n[gold[0].label] += 1
                per_label_tp[gold[0].label] += int(found)
            elif found and not any(s.start < b and a < s.end for s in ignored):
                tok["fp"] += 1
        for s in scored:
            tokens = [m.span() for m in _TOKEN.finditer(item.text, s.start, s.end)]
            found = bool(tokens) and all(hit(a, b) for a, b in tokens)
            span["tp" if found else "fn"] += 1
        for a, b in pred:
            overlaps = [s for s in item.spans if s.start < b and a < s.end]
            if not overlaps:
                span["fp"] += 1
    per_type = {
        label: {"token_recall": per_label_tp[label] / n, "tokens": n}
        for label, n in sorted(per_label_n.items())
    }
    return (
        _scores(tok["tp"], tok["fn"], tok["fp"]),
        _scores(span["tp"], span["fn"], span["fp"]),
        per_type,
    )


def evaluate(
    corpus: Sequence[LabelledText],
    detect_batch: Callable[[list[str]], list[list[Detection]]],
    engine: str,
) -> DeidMetrics:
    texts = [c.text for c in corpus]
    start = time.perf_counter()
    predictions = detect_batch(texts)
    elapsed = time.perf_counter() - start
    tokens, spans, per_type = score(corpus, predictions)
    return DeidMetrics(
        engine=engine,
        n_notes=len(corpus),
        n_gold_spans=sum(1 for c in corpus for s in c.spans if s.type is not None),
        token_recall=tokens.recall,
        token_precision=tokens.precision,
        f2=tokens.f2,
        span_recall=spans.recall,
        span_precision=spans.precision,
        span_f2=spans.f2,
        per_type=per_type,
        notes_per_s=len(corpus) / elapsed if elapsed > 0 else float("inf"),
    )


def presidio_default_detect_batch() -> Callable[[list[str]], list[list[Detection]]]:
    """presidio's default recognizers and spaCy NER (with the same offline spaCy package, as
    the default en_core_web_lg cannot be downloaded here): the baseline we compare against."""
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    # presidio's EmailRecognizer calls `tldextract.extract`, which downloads the public suffix
    # list on first use; the extractor below uses the snapshot shipped in the package instead.
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    from governance.deid.engine import SPACY_PACKAGE, OfflineSpacyNlpEngine

    nlp_engine: SpacyNlpEngine = OfflineSpacyNlpEngine(
        models=[{"lang_code": "en", "model_name": SPACY_PACKAGE}], with_ner=True
    )
    nlp_engine.load()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp_engine)
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine)

    def run(texts: list[str]) -> list[list[Detection]]:
        out = []
        for text, artifacts in nlp_engine.process_batch(texts, language="en", batch_size=32):
            results = analyzer.analyze(text=text, language="en", nlp_artifacts=artifacts)
            out.append([Detection(r.start, r.end, r.entity_type, r.score) for r in results])
        return out

    return run
