"""The condition ranker (dvc stage `ranker`, `cds model ranker`): P(condition | note), learned
from the de-identified training notes and their gold conditions.

A 135M-parameter model writes a fluent, citing differential, but on its own it ranks the right
condition first for a minority of notes (docs/model.md). A linear classifier over the note's
words (TF-IDF of words and word pairs, multinomial logistic regression) reads every finding at
once and ranks far better. The pipeline uses it to choose the conditions the model may write
(`suggest.candidates`) and as a calibration feature; the model still writes each rationale and
its note-line citations, and the citation rail still checks them.

Stored without pickle: the vocabulary and classes as JSON, the weights as a NumPy archive, so
that loading a ranker never executes code from a file.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cds.corpus.build import SplitName, read_corpus
from cds.errors import CdsError

WEIGHTS_FILE = "ranker.npz"
META_FILE = "ranker.json"
TOKEN_PATTERN = r"(?u)\b\w\w+\b"


class RankerError(CdsError):
    exit_code = 2


class RankerConfig(BaseModel):
    """`ranker:` section of params.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notes_file: Path = Path("data/deid/notes.jsonl")
    ddxplus_dir: Path = Path("data/external/ddxplus")
    train_split: SplitName = "train"
    eval_split: SplitName = "validation"
    max_ngram: int = Field(2, ge=1, le=3, description="word n-grams up to this length")
    min_df: int = Field(2, ge=1, description="a feature must occur in this many training notes")
    inverse_regularisation: float = Field(10.0, gt=0, description="logistic regression's C")
    out_dir: Path = Path("artifacts/ranker")
    metrics_file: Path = Path("reports/ranker.json")


class ConditionRanker:
    def __init__(
        self,
        vocabulary: dict[str, int],
        idf: np.ndarray,
        coef: np.ndarray,
        intercept: np.ndarray,
        classes: tuple[str, ...],
        max_ngram: int,
        meta: dict | None = None,
    ):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.classes = classes
        self.coef, self.intercept = coef, intercept
        self.meta = meta or {}
        self._vectorizer = TfidfVectorizer(
            vocabulary=vocabulary,
            ngram_range=(1, max_ngram),
            sublinear_tf=True,
            token_pattern=TOKEN_PATTERN,
        )
        self._vectorizer.idf_ = idf

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """One row per text, one column per class (`classes`), each row summing to 1."""
        scores = self._vectorizer.transform(texts) @ self.coef.T + self.intercept
        scores = np.asarray(scores) - np.asarray(scores).max(axis=1, keepdims=True)
        weights = np.exp(scores)
        return weights / weights.sum(axis=1, keepdims=True)

    def rank(self, text: str) -> list[tuple[str, float]]:
        """Every condition the ranker knows, most probable first."""
        return self.ranked(self.probabilities([text])[0])

    def ranked(self, row: np.ndarray) -> list[tuple[str, float]]:
        """A row of `probabilities` as (condition, probability), most probable first (ties in
        class order)."""
        return [(self.classes[k], float(row[k])) for k in np.argsort(-row, kind="stable")]

    def save(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            out_dir / WEIGHTS_FILE,
            idf=self._vectorizer.idf_,
            coef=self.coef,
            intercept=self.intercept,
        )
        meta = {
            **self.meta,
            "classes": list(self.classes),
            "max_ngram": self._vectorizer.ngram_range[1],
            "vocabulary": self._vectorizer.vocabulary,
        }
        (out_dir / META_FILE).write_text(json.dumps(meta, sort_keys=True) + "\n", "utf-8")

    @classmethod
    def load(cls, out_dir: Path) -> ConditionRanker:
        weights, meta_file = out_dir / WEIGHTS_FILE, out_dir / META_FILE
        if not weights.exists() or not meta_file.exists():
            raise RankerError(f"{out_dir}: no condition ranker (run `dvc repro ranker`)")
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            with np.load(weights, allow_pickle=False) as w:
                idf, coef, intercept = w["idf"], w["coef"], w["intercept"]
            vocabulary = {str(k): int(v) for k, v in meta.pop("vocabulary").items()}
            classes = tuple(meta.pop("classes"))
            max_ngram = int(meta.pop("max_ngram"))
        except (ValueError, KeyError, OSError) as e:
            raise RankerError(f"{out_dir}: not a condition ranker ({type(e).__name__})") from None
        if coef.shape != (len(classes), len(vocabulary)) or idf.shape != (len(vocabulary),):
            raise RankerError(f"{out_dir}: weights do not match the vocabulary and classes")
        return cls(vocabulary, idf, coef, intercept, classes, max_ngram, meta)


def fit_ranker(
    texts: list[str], labels: list[str], cfg: RankerConfig, meta: dict | None = None
) -> ConditionRanker:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if not texts:
        raise RankerError("cannot train a ranker on no notes")
    vectorizer = TfidfVectorizer(
        ngram_range=(1, cfg.max_ngram),
        min_df=min(cfg.min_df, len(texts)),
        sublinear_tf=True,
        token_pattern=TOKEN_PATTERN,
    )
    features = vectorizer.fit_transform(texts)
    classes = sorted(set(labels))
    if len(classes) == 1:
        # A corpus of one condition (a small site's first export): the ranker can only say that
        # condition, with certainty; `suggest` takes the other candidates from retrieval.
        coef, intercept = np.zeros((1, features.shape[1])), np.zeros(1)
    else:
        model = LogisticRegression(C=cfg.inverse_regularisation, max_iter=5000)
        model.fit(features, labels)
        coef, intercept, classes = model.coef_, model.intercept_, list(model.classes_)
        if len(classes) == 2:  # sklearn keeps one row for two classes: spell out both
            coef, intercept = (
                np.vstack([-coef[0] / 2, coef[0] / 2]),
                np.r_[-intercept / 2, intercept / 2],
            )
    vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
    return ConditionRanker(
        vocabulary,
        vectorizer.idf_,
        coef,
        intercept,
        tuple(str(c) for c in classes),
        cfg.max_ngram,
        meta,
    )


def ranking_metrics(ranker: ConditionRanker, texts: list[str], labels: list[str]) -> dict:
    """Top-1, top-5 and mean reciprocal rank of the gold condition, and the mean log loss."""
    if not texts:
        return {"n": 0}
    places, losses = [], []
    for row, gold in zip(ranker.probabilities(texts), labels, strict=True):
        order = [c for c, _ in ranker.ranked(row)]
        places.append(order.index(gold) + 1 if gold in order else math.inf)
        p = row[ranker.classes.index(gold)] if gold in ranker.classes else 0.0
        losses.append(-math.log(max(float(p), 1e-12)))
    return {
        "n": len(texts),
        "top1": round(sum(p == 1 for p in places) / len(places), 4),
        "top5": round(sum(p <= 5 for p in places) / len(places), 4),
        "mrr": round(sum(1 / p for p in places) / len(places), 4),
        "log_loss": round(sum(losses) / len(losses), 4),
    }


def train_ranker(cfg: RankerConfig) -> dict:
    """Fit on `train_split`, score on `eval_split`, save to `out_dir`, write `metrics_file`."""
    from cds.model.generate import condition_codes

    if not cfg.notes_file.exists():
        raise RankerError(f"{cfg.notes_file}: not found (run `cds deid run` first)")
    conditions = condition_codes(cfg.ddxplus_dir)
    train = [r for r in read_corpus(cfg.notes_file, cfg.train_split) if r.pathology in conditions]
    held_out = [r for r in read_corpus(cfg.notes_file, cfg.eval_split) if r.pathology in conditions]
    if not train:
        raise RankerError(f"{cfg.notes_file}: no {cfg.train_split} notes with a listed condition")
    started = time.perf_counter()
    meta = {
        "notes_sha256": hashlib.sha256(cfg.notes_file.read_bytes()).hexdigest(),
        "train_split": cfg.train_split,
        "train_notes": len(train),
        "config": cfg.model_dump(mode="json"),
    }
    ranker = fit_ranker([r.note.text for r in train], [r.pathology for r in train], cfg, meta)
    fit_seconds = time.perf_counter() - started
    metrics = {
        "train_notes": len(train),
        "conditions": len(ranker.classes),
        "features": int(ranker.coef.shape[1]),
        "fit_seconds": round(fit_seconds, 2),
        cfg.eval_split: ranking_metrics(
            ranker, [r.note.text for r in held_out], [r.pathology for r in held_out]
        ),
    }
    # the artifact keeps the held-out scores, not the timing: the same data gives the same bytes
    ranker.meta["metrics"] = {k: v for k, v in metrics.items() if k != "fit_seconds"}
    ranker.save(cfg.out_dir)
    cfg.metrics_file.parent.mkdir(parents=True, exist_ok=True)
    cfg.metrics_file.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics
