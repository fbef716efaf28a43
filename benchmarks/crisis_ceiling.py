"""How much precision can a crisis detector have at recall 0.95 on the C-SSRS users at all?

Users alone (Ideation/Behavior/Attempt = crisis; Supportive/Indicator = not), logistic
regression per feature set:
- the rail's own features (all-MiniLM-L6-v2, [mean | max] pooled), TF-IDF word and character
  n-grams;
- writing style: the share of first-person words (the rail's `first_person_rate`) and of
  second-person words (a supporter writes to someone else), alone and added to the MiniLM vector.

Two readings per set, both printed as counts and rates only:
- `oof`: ROC AUC and the precision at the first threshold that reaches recall 0.95 on 5-fold
  out-of-fold scores (ties taken together). This is an upper bound: the threshold is picked on
  the scores it is judged on.
- `nested`: what the rail does. `cds.guardrails.classifiers.fit` (the rail's trainer, threshold
  at recall 0.95 of its own 5-fold scores) runs on the training folds and is judged on the
  held-out fold; precision and recall are pooled over the outer folds and averaged over 5
  shuffles.

Usage: python benchmarks/crisis_ceiling.py [--csv FILE] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from cds.guardrails import sources
from cds.guardrails.classifiers import fit, operating_point, threshold_for_recall
from cds.guardrails.embedding import shared_embedder
from cds.guardrails.input_rails import first_person_rate

RECALL = 0.95
SECOND_PERSON = re.compile(r"\b(you|your|yours|yourself|you're|youre|u)\b", re.IGNORECASE)
STYLE_SCALE = 30.0  # rates are a few hundredths; scaled to weigh like an embedding component


def second_person_rate(text: str) -> float:
    words = len(text.split())
    return len(SECOND_PERSON.findall(text)) / words if words else 0.0


def precision_at_recall(scores: np.ndarray, y: np.ndarray) -> float:
    """Precision at the highest threshold that reaches recall RECALL (ties kept together)."""
    return operating_point(scores, y, threshold_for_recall(scores, y, RECALL)).precision


def nested(x, y: np.ndarray, c: float, shuffles: int = 5) -> dict:
    """The rail's own `fit` (threshold from its 5-fold scores) on each training part, judged on
    the held-out fold; flags pooled over the outer folds, rates averaged over the shuffles."""
    precisions, recalls = [], []
    for seed in range(shuffles):
        flagged = np.zeros(len(y), dtype=bool)
        outer = StratifiedKFold(5, shuffle=True, random_state=seed)
        for train, test in outer.split(np.zeros(len(y)), y):
            clf = fit("crisis", "pooled", x[train], y[train], ("recall", RECALL), {}, seed, c)
            flagged[test] = clf.scores(x[test]) >= clf.threshold
        point = operating_point(flagged.astype(float), y, 1.0)
        precisions.append(point.precision)
        recalls.append(point.recall)
    return {
        "precision": round(float(np.mean(precisions)), 3),
        "recall": round(float(np.mean(recalls)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--csv",
        type=Path,
        default=Path("data/external/reddit-cssrs/500_Reddit_users_posts_labels.csv"),
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/crisis_ceiling.json"))
    args = parser.parse_args()
    users = sources.cssrs_users(args.csv, "all")
    texts = [t for _, _, t in users]
    y = np.array([label in sources.CRISIS_LABELS for _, label, _ in users])
    style = STYLE_SCALE * np.array([[first_person_rate(t), second_person_rate(t)] for t in texts])
    minilm = shared_embedder().pooled(texts)
    features = {
        "minilm_pooled": minilm,
        "tfidf_words_1_2": TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        .fit_transform(texts)
        .tocsr(),
        "tfidf_chars_2_5": TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True
        )
        .fit_transform(texts)
        .tocsr(),
        "style": style,
        "minilm_pooled+style": np.hstack([minilm, style]),
    }
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    results: dict[str, dict] = {
        "first_person_rate (no training)": {
            "roc_auc": round(float(roc_auc_score(y, style[:, 0])), 3),
            "precision_at_recall_0.95": round(precision_at_recall(style[:, 0], y), 3),
        }
    }
    for name, x in features.items():
        for c in (0.1, 1.0, 10.0):
            clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
            s = cross_val_predict(clf, x, y, cv=cv, method="predict_proba")[:, 1]
            results[f"{name} C={c}"] = {
                "roc_auc": round(float(roc_auc_score(y, s)), 3),
                "precision_at_recall_0.95": round(precision_at_recall(s, y), 3),
                "nested": nested(x, y, c),
            }
    report = {"users": len(users), "crisis_share": round(float(y.mean()), 3), "results": results}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
