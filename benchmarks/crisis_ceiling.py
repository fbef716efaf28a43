"""How much precision can a crisis detector have at recall 0.95 on the C-SSRS users at all?

5-fold out-of-fold scores on the users alone (Ideation/Behavior/Attempt = crisis; Supportive/
Indicator = not), for the rail's own features (all-MiniLM-L6-v2, [mean | max] pooled) and for
TF-IDF word and character n-grams, each with logistic regression. Prints ROC AUC and the
precision at the first threshold that reaches recall 0.95. Only counts are printed.

Usage: python benchmarks/crisis_ceiling.py [--csv FILE] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from cds.guardrails import sources
from cds.guardrails.embedding import shared_embedder


def precision_at_recall(scores: np.ndarray, y: np.ndarray, recall: float = 0.95) -> float:
    order = np.argsort(-scores)
    tp = np.cumsum(y[order])
    k = int(np.searchsorted(tp, np.ceil(recall * y.sum()))) + 1
    return float(tp[k - 1] / k)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv", type=Path,
                        default=Path("data/external/reddit-cssrs/500_Reddit_users_posts_labels.csv"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/crisis_ceiling.json"))
    args = parser.parse_args()
    users = sources.cssrs_users(args.csv, "all")
    texts = [t for _, _, t in users]
    y = np.array([label in sources.CRISIS_LABELS for _, label, _ in users])
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    features = {
        "minilm_pooled": shared_embedder().pooled(texts),
        "tfidf_words_1_2": TfidfVectorizer(ngram_range=(1, 2), min_df=2,
                                           sublinear_tf=True).fit_transform(texts),
        "tfidf_chars_2_5": TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                           sublinear_tf=True).fit_transform(texts),
    }
    results = {}
    for name, x in features.items():
        for c in (0.1, 1.0, 10.0):
            clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
            s = cross_val_predict(clf, x, y, cv=cv, method="predict_proba")[:, 1]
            results[f"{name} C={c}"] = {"roc_auc": round(float(roc_auc_score(y, s)), 3),
                                        "precision_at_recall_0.95":
                                            round(precision_at_recall(s, y), 3)}
    report = {"users": len(users), "crisis_share": round(float(y.mean()), 3),
              "results": results}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
