"""The condition ranker: what it learns, that its pickle-free files reload to the same model,
and clear errors for files that are not a ranker."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cds.model.ranker import (
    META_FILE,
    WEIGHTS_FILE,
    ConditionRanker,
    RankerConfig,
    RankerError,
    fit_ranker,
    ranking_metrics,
    train_ranker,
)
from tests.conftest import DDXPLUS

# Each condition has its own findings; every note also carries shared filler and one finding
# of another condition, so that a single word never decides.
FINDINGS = {
    "Asthma": ["wheezing at night", "tight chest after exercise", "uses an inhaler"],
    "Pneumonia": ["productive cough", "fever and chills", "crackles at the right base"],
    "Anemia": ["pale conjunctivae", "tired all the time", "heavy menstrual bleeding"],
    "GERD": ["burning behind the sternum", "worse lying down", "sour taste after meals"],
}
FILLER = ["patient seen in clinic", "no known allergies", "vitals recorded", "lives alone"]


def _notes(seed: int, per_condition: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    names = sorted(FINDINGS)
    for name in names:
        others = [o for o in names if o != name]
        for _ in range(per_condition):
            own = list(rng.choice(FINDINGS[name], size=2, replace=False))
            stray = rng.choice(FINDINGS[others[rng.integers(len(others))]])
            lines = [*rng.choice(FILLER, size=2, replace=False), *own, stray]
            rng.shuffle(lines)
            texts.append(". ".join(lines) + ".")
            labels.append(name)
    return texts, labels


def test_the_ranker_learns_conditions_from_findings_and_ranks_held_out_notes():
    texts, labels = _notes(0, 30)
    ranker = fit_ranker(texts, labels, RankerConfig(min_df=1, inverse_regularisation=10))
    held_texts, held_labels = _notes(1, 10)
    metrics = ranking_metrics(ranker, held_texts, held_labels)
    assert metrics["n"] == 40 and metrics["top1"] >= 0.9 and metrics["top5"] == 1.0
    ranked = ranker.rank("Wheezing at night and a tight chest after exercise.")
    assert ranked[0][0] == "Asthma" and ranked[0][1] > 0.5
    assert sum(p for _, p in ranked) == pytest.approx(1.0)
    assert [p for _, p in ranked] == sorted((p for _, p in ranked), reverse=True)


def test_a_saved_ranker_reloads_to_the_same_probabilities_as_sklearn(tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = _notes(2, 20)
    cfg = RankerConfig(min_df=2)
    ranker = fit_ranker(texts, labels, cfg, meta={"note": "kept"})
    ranker.save(tmp_path / "r")
    loaded = ConditionRanker.load(tmp_path / "r")
    queries, _ = _notes(3, 3)
    assert loaded.classes == ranker.classes and loaded.meta == {"note": "kept"}
    np.testing.assert_allclose(loaded.probabilities(queries), ranker.probabilities(queries))
    # the same model as sklearn's own pipeline (the weights alone are stored, no pickle)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    features = vectorizer.fit_transform(texts)
    reference = LogisticRegression(C=cfg.inverse_regularisation, max_iter=5000).fit(
        features, labels
    )
    np.testing.assert_allclose(
        loaded.probabilities(queries),
        reference.predict_proba(vectorizer.transform(queries)),
        atol=1e-6,
    )


def test_two_conditions_give_two_probabilities_like_sklearn():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = _notes(4, 15)
    pairs = [(t, y) for t, y in zip(texts, labels, strict=True) if y in ("Asthma", "GERD")]
    texts, labels = [t for t, _ in pairs], [y for _, y in pairs]
    ranker = fit_ranker(texts, labels, RankerConfig(min_df=1))
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    reference = LogisticRegression(C=10.0, max_iter=5000).fit(
        vectorizer.fit_transform(texts), labels
    )
    np.testing.assert_allclose(
        ranker.probabilities(texts[:4]),
        reference.predict_proba(vectorizer.transform(texts[:4])),
        atol=1e-6,
    )
    # one condition (a small site's first export): that condition, with certainty
    only = fit_ranker(texts[:3], ["Asthma"] * 3, RankerConfig(min_df=1))
    assert only.classes == ("Asthma",) and only.rank("burning behind the sternum") == [
        ("Asthma", 1.0)
    ]
    with pytest.raises(RankerError, match="no notes"):
        fit_ranker([], [], RankerConfig(min_df=1))


def test_files_that_are_not_a_ranker_give_a_one_line_error(tmp_path):
    with pytest.raises(RankerError, match="dvc repro ranker"):
        ConditionRanker.load(tmp_path / "missing")
    texts, labels = _notes(5, 5)
    fit_ranker(texts, labels, RankerConfig(min_df=1)).save(tmp_path / "r")
    meta = json.loads((tmp_path / "r" / META_FILE).read_text())
    meta["classes"] = meta["classes"][:-1]  # weights for one class more than named
    (tmp_path / "r" / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(RankerError, match="do not match"):
        ConditionRanker.load(tmp_path / "r")
    # an archive holding a pickled object is refused, never unpickled
    np.savez(tmp_path / "r" / WEIGHTS_FILE, idf=np.array([{"x": 1}], dtype=object))
    with pytest.raises(RankerError, match="not a condition ranker") as e:
        ConditionRanker.load(tmp_path / "r")
    assert "\n" not in str(e.value)


def test_train_ranker_fits_on_the_train_split_and_scores_another(tmp_path):
    from cds.corpus import CorpusConfig, build_corpus
    from tests.conftest import trimmed_ddxplus

    src = trimmed_ddxplus(tmp_path, 40)
    build_corpus(CorpusConfig(source_dir=src, out_dir=tmp_path / "raw"), show_progress=False)
    notes = tmp_path / "raw" / "notes.jsonl"
    rows = [json.loads(line) for line in notes.read_text().splitlines()]
    cfg = RankerConfig(
        notes_file=notes,
        ddxplus_dir=DDXPLUS,
        min_df=1,
        eval_split="test",
        out_dir=tmp_path / "ranker",
        metrics_file=tmp_path / "ranker.json",
    )
    metrics = train_ranker(cfg)
    assert metrics["train_notes"] == sum(r["split"] == "train" for r in rows)
    assert metrics["test"]["n"] == sum(r["split"] == "test" for r in rows)
    assert json.loads(cfg.metrics_file.read_text()) == metrics
    loaded = ConditionRanker.load(cfg.out_dir)
    assert set(loaded.classes) == {r["pathology"] for r in rows if r["split"] == "train"}
    assert loaded.meta["train_notes"] == metrics["train_notes"]
    # the same notes give the same files: dvc sees no change on a rerun
    before = (cfg.out_dir / WEIGHTS_FILE).read_bytes(), (cfg.out_dir / META_FILE).read_bytes()
    train_ranker(cfg)
    assert before == (
        (cfg.out_dir / WEIGHTS_FILE).read_bytes(),
        (cfg.out_dir / META_FILE).read_bytes(),
    )
    with pytest.raises(RankerError, match="not found"):
        train_ranker(cfg.model_copy(update={"notes_file": tmp_path / "none.jsonl"}))
