"""The demo corpus: determinism, gold PHI spans, splits and the evidence-line map."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cds.corpus import CorpusConfig, build_corpus, read_corpus, spread
from cds.corpus.ddxplus import load_knowledge
from cds.schemas import PhiType
from tests.conftest import DDXPLUS

SHAPES = {
    PhiType.PHONE: re.compile(r"^(\+1 )?\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}$"),
    PhiType.EMAIL: re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$"),
    PhiType.MRN: re.compile(r"^\d{7,8}$"),
    PhiType.DATE: re.compile(
        r"^(\d{2}[/-]\d{2}[/-]\d{4}|\d{4}-\d{2}-\d{2}"
        r"|[A-Z][a-z]+ \d{2}, \d{4}|\d{2} [A-Z][a-z]{2} \d{4})$"
    ),
    PhiType.AGE: re.compile(r"^(9\d|1[01]\d)$"),
}


@pytest.fixture(scope="module")
def full_corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    build_corpus(CorpusConfig(source_dir=DDXPLUS, out_dir=out), show_progress=False)
    return out / "notes.jsonl"


def test_same_seed_same_bytes_and_other_seed_differs(tiny_ddxplus, tmp_path):
    outs = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        cfg = CorpusConfig(source_dir=tiny_ddxplus, out_dir=tmp_path / name, seed=seed)
        build_corpus(cfg, show_progress=False)
        outs.append((tmp_path / name / "notes.jsonl").read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]


def test_note_depends_only_on_its_row(tiny_ddxplus, tmp_path):
    """Adding patients must not change earlier notes (per-row seeding)."""
    small = CorpusConfig(source_dir=tiny_ddxplus, out_dir=tmp_path / "s", max_patients=5)
    large = CorpusConfig(source_dir=tiny_ddxplus, out_dir=tmp_path / "l")
    build_corpus(small, show_progress=False)
    build_corpus(large, show_progress=False)
    texts_small = [r.note.text for r in read_corpus(tmp_path / "s" / "notes.jsonl")]
    texts_large = [r.note.text for r in read_corpus(tmp_path / "l" / "notes.jsonl")][:5]
    assert texts_small == texts_large


def test_every_gold_phi_span_matches_its_text(full_corpus):
    records = read_corpus(full_corpus)
    assert len(records) == 1567
    n_spans = 0
    for r in records:
        text = r.note.text
        for span in r.phi:
            value = text[span.start : span.end]
            n_spans += 1
            assert value == value.strip() and value, (r.note.id, span)
            assert "\n" not in value
            shape = SHAPES.get(span.type)
            if shape is not None:
                assert shape.match(value), (r.note.id, span.type, value)
        # spans never overlap
        ordered = sorted(r.phi, key=lambda s: s.start)
        assert all(a.end <= b.start for a, b in zip(ordered, ordered[1:], strict=False))
    assert n_spans > 10 * len(records)


def test_identifiers_in_the_text_are_all_labelled(full_corpus):
    """Every phone/e-mail-like string and every header name is inside a gold span."""
    for r in read_corpus(full_corpus)[:300]:
        text = r.note.text
        covered = [(s.start, s.end) for s in r.phi]
        for m in re.finditer(r"\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}|[\w.+-]+@[\w-]+\.[\w.]+", text):
            assert any(a <= m.start() and m.end() <= b for a, b in covered), (r.note.id, m.group())
        header = r.note.lines[2].text
        if header.split(":")[0] in ("Patient", "Name", "Pt name"):
            start = text.index(header) + header.index(":") + 2
            assert any(a == start for a, _ in covered)


def test_ages_over_89_are_phi_and_younger_are_not(full_corpus):
    records = read_corpus(full_corpus)
    old = [r for r in records if r.age > 89]
    assert old, "the corpus should contain patients over 89"
    for r in old:
        assert any(s.type == PhiType.AGE for s in r.phi)
    for r in records:
        if r.age <= 89:
            assert not any(s.type == PhiType.AGE for s in r.phi)


def test_splits_are_by_patient_with_stated_proportions(full_corpus):
    records = read_corpus(full_corpus)
    by_split: dict[str, set[str]] = {}
    for r in records:
        by_split.setdefault(r.split, set()).add(r.note.patient_id)
    assert not by_split["train"] & by_split["test"]
    assert not by_split["train"] & by_split["validation"]
    assert abs(len(by_split["test"]) / len(records) - 0.1) < 0.02
    assert abs(len(by_split["train"]) / len(records) - 0.8) < 0.02


def test_evidence_lines_state_the_evidence(full_corpus):
    kb = load_knowledge(DDXPLUS)
    for r in read_corpus(full_corpus)[:200]:
        assert r.evidence_lines
        for code, lines in r.evidence_lines.items():
            assert code in kb.evidences
            for n in lines:
                assert r.note.lines[n - 1].text.strip(), (r.note.id, code, n)


def test_notes_vary_in_structure(full_corpus):
    records = read_corpus(full_corpus)[:200]
    second_lines = {r.note.lines[1].text for r in records}
    hpi_headings = {
        ln.text
        for r in records
        for ln in r.note.lines
        if ln.text.startswith(("HPI", "History of", "HISTORY"))
    }
    assert len(second_lines) >= 3
    assert len(hpi_headings) >= 3


def test_no_raw_evidence_codes_in_notes(full_corpus):
    for r in read_corpus(full_corpus):
        assert not re.search(r"\b[EV]_\d+\b", r.note.text), r.note.id


def test_a_spread_slice_covers_the_conditions_a_plain_slice_misses(full_corpus):
    test_split = read_corpus(full_corpus, "test")
    conditions = {r.pathology for r in test_split}
    plain = {r.pathology for r in test_split[:25]}
    spread_slice = spread(test_split, 25)
    assert len(spread_slice) == 25
    # the file is grouped by condition: a plain slice sees a handful of them
    assert len(conditions) > 3 * len(plain)
    assert len({r.pathology for r in spread_slice}) > 1.5 * len(plain)
    # the order depends on the notes only, not on the order they came in
    assert [r.note.id for r in spread(test_split[::-1], 25)] == [r.note.id for r in spread_slice]
    assert len(spread(test_split)) == len(test_split)
