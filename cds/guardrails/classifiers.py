"""Small linear classifiers on sentence embeddings, one per question a rail asks.

- `safety`: is this a harmful medical request (MedSafetyBench, HH-RLHF red-team prompts) rather
  than benign clinical text (notes, clinical questions, sensitive but benign cases)?
- `scope`: is this something other than clinical text (e-mails, trivia, writing tasks)?
- `injection`: is this one segment an instruction addressed to an assistant (BIPIA attacks,
  requests) rather than a line of a note or a KB passage? Scored per segment.
- `crisis`: does this first-person text disclose suicidal ideation, behaviour or an attempt
  (C-SSRS Ideation/Behavior/Attempt) rather than support, indicators or clinical text?

Weights are logistic-regression coefficients stored as JSON (no pickle: the file is data, and
its SHA-256 is recorded). Thresholds are chosen on 5-fold out-of-fold scores by a rule per
classifier (a false-positive budget on benign text, or a recall floor for crisis).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cds.errors import CdsError

ClassifierName = Literal["safety", "scope", "injection", "crisis"]
Features = Literal["pooled", "segment"]


class GuardrailModelError(CdsError):
    exit_code = 2


class OperatingPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    threshold: float
    recall: float
    false_positive_rate: float
    precision: float
    positives: int
    negatives: int


class LinearClassifier(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: ClassifierName
    features: Features
    weights: list[float]
    bias: float
    threshold: float = Field(ge=0.0, le=1.0)
    rule: str
    cross_validated: OperatingPoint
    training_sets: dict[str, int]

    def scores(self, x: np.ndarray) -> np.ndarray:
        z = x @ np.asarray(self.weights, dtype=np.float32) + self.bias
        return 1.0 / (1.0 + np.exp(-z))


class GuardrailModels(BaseModel):
    model_config = ConfigDict(frozen=True)

    embedding_model: str
    classifiers: dict[str, LinearClassifier]

    def get(self, name: ClassifierName) -> LinearClassifier:
        if name not in self.classifiers:
            raise GuardrailModelError(
                f"guardrail classifier '{name}' missing (run `cds guardrails train`)"
            )
        return self.classifiers[name]


MODELS_FILE = "classifiers.json"


def save_models(models: GuardrailModels, out_dir: Path) -> str:
    out_dir.mkdir(parents=True, exist_ok=True)
    text = models.model_dump_json()
    (out_dir / MODELS_FILE).write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest()


def load_models(out_dir: Path) -> GuardrailModels:
    path = out_dir / MODELS_FILE
    if not path.exists():
        raise GuardrailModelError(f"{path}: not found (run `cds guardrails train` or `dvc repro`)")
    try:
        return GuardrailModels.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, OSError) as e:
        raise GuardrailModelError(
            f"{path}: not a guardrail model file ({type(e).__name__})"
        ) from None


def operating_point(scores: np.ndarray, labels: np.ndarray, threshold: float) -> OperatingPoint:
    flagged = scores >= threshold
    pos, neg = labels.sum(), (~labels).sum()
    tp = int((flagged & labels).sum())
    fp = int((flagged & ~labels).sum())
    return OperatingPoint(
        threshold=round(float(threshold), 6),
        recall=round(tp / pos, 4) if pos else 0.0,
        false_positive_rate=round(fp / neg, 4) if neg else 0.0,
        precision=round(tp / (tp + fp), 4) if tp + fp else 1.0,
        positives=int(pos),
        negatives=int(neg),
    )


def threshold_for_fpr(scores: np.ndarray, labels: np.ndarray, max_fpr: float) -> float:
    """The lowest threshold whose false-positive rate on the negatives is <= max_fpr."""
    negatives = np.sort(scores[~labels])[::-1]
    allowed = int(np.floor(max_fpr * len(negatives)))
    if allowed >= len(negatives):
        return 0.0
    return float(np.nextafter(negatives[allowed], 1.0))


def threshold_for_recall(scores: np.ndarray, labels: np.ndarray, min_recall: float) -> float:
    """The highest threshold whose recall on the positives is >= min_recall."""
    positives = np.sort(scores[labels])[::-1]
    needed = int(np.ceil(min_recall * len(positives)))
    return float(positives[max(needed - 1, 0)])


def fit(
    name: ClassifierName,
    features: Features,
    x: np.ndarray,
    labels: np.ndarray,
    rule: tuple[Literal["fpr", "recall"], float],
    training_sets: dict[str, int],
    seed: int = 0,
    c: float = 1.0,
) -> LinearClassifier:
    """Logistic regression; threshold by `rule` on 5-fold out-of-fold scores."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    oof = cross_val_predict(model, x, labels, cv=folds, method="predict_proba")[:, 1]
    kind, value = rule
    if kind == "fpr":
        threshold = threshold_for_fpr(oof, labels, value)
        rule_text = f"false-positive rate <= {value} on benign text (5-fold out-of-fold)"
    else:
        threshold = threshold_for_recall(oof, labels, value)
        rule_text = f"recall >= {value} (5-fold out-of-fold)"
    model.fit(x, labels)
    return LinearClassifier(
        name=name,
        features=features,
        weights=[float(w) for w in model.coef_[0]],
        bias=float(model.intercept_[0]),
        threshold=min(max(threshold, 0.0), 1.0),
        rule=rule_text,
        cross_validated=operating_point(oof, labels, threshold),
        training_sets=training_sets,
    )
