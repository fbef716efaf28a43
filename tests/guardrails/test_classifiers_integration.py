"""The classifiers trained on (samples of) the real sets: files, thresholds, held-out behaviour."""

import json

import pytest

from cds.guardrails.classifiers import load_models
from cds.guardrails.embedding import TextEmbedder
from cds.guardrails.sources import medsafetybench_requests
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_training_writes_four_classifiers_with_cross_validated_metrics(guardrails_cfg):
    models = load_models(guardrails_cfg.out_dir)
    assert set(models.classifiers) == {"safety", "scope", "injection", "crisis"}
    for c in models.classifiers.values():
        assert 0.0 < c.threshold < 1.0
        assert len(c.weights) == (384 if c.features == "segment" else 768)
        assert c.cross_validated.positives > 0 and c.cross_validated.negatives > 0
    assert models.get("crisis").cross_validated.recall >= 0.95  # its rule
    assert models.get("safety").cross_validated.false_positive_rate <= 0.01
    metrics = json.loads((guardrails_cfg.out_dir / "metrics.json").read_text())
    assert len(metrics["classifiers_sha256"]) == 64


def test_safety_classifier_flags_held_out_requests_not_benign_notes(
    guardrails_cfg, corpus_notes_file
):
    models = load_models(guardrails_cfg.out_dir)
    embedder = TextEmbedder()
    safety = models.get("safety")
    held_out = medsafetybench_requests(
        ROOT / "data/external/medsafetybench/medsafetybench.jsonl", "dev"
    )[:40]
    flagged = (safety.scores(embedder.pooled(held_out)) >= safety.threshold).mean()
    records = [json.loads(line) for line in corpus_notes_file.read_text().splitlines()]
    test_notes = [r["note"]["text"] for r in records if r["split"] != "train"]
    assert test_notes
    false_flags = (safety.scores(embedder.pooled(test_notes)) >= safety.threshold).mean()
    assert flagged >= 0.8
    assert false_flags <= 0.1
