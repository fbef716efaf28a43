"""Retrieval over the real tiny index, and citation verification against it."""

import pytest

from cds.schemas import DiagnosisItem, Differential, Note, NoteCitation, PassageCitation
from rag.verify import find_profile

NOTE = Note.from_text(
    "note-1",
    "pt-1",
    "CC: cough and fever\n"
    "HPI: She has a cough that produces colored sputum. She has a fever.\n"
    "She has had chills or shivers.\n"
    "Medical record #: 12345\n"
    "Social: lives alone",
)


def _item(condition, icd10, citations, p=0.6):
    return DiagnosisItem(
        condition=condition, icd10=icd10, probability=p, rationale="r", citations=citations
    )


def _sheet_passage(kb, doc_id, n=2):
    doc = kb.documents[doc_id]
    return PassageCitation(doc_id=doc_id, passage_id=f"{doc_id}#{n}", version=doc.version)


def test_passages_have_stable_ids_versions_and_ranks(knowledge_base):
    first = knowledge_base.retrieve("productive cough with fever and chills", k=5)
    again = knowledge_base.retrieve("productive cough with fever and chills", k=5)
    assert [p.passage_id for p in first] == [p.passage_id for p in again]
    assert len(first) == 5
    for p in first:
        assert p.passage_id.startswith(p.doc_id + "#")
        assert p.version == knowledge_base.documents[p.doc_id].version
        assert p.dense_rank is not None or p.lexical_rank is not None
    scores = [p.score for p in first]
    assert scores == sorted(scores, reverse=True)


def test_note_query_finds_the_condition_sheet(knowledge_base):
    found = knowledge_base.retrieve(NOTE, k=10)
    assert any(p.condition == "Pneumonia" for p in found)


def test_rejected_documents_are_listed_but_never_indexed(knowledge_base):
    entry = knowledge_base.manifest.entry("ddx-ebola")
    assert entry is not None and entry.approval == "rejected" and entry.passages == 0
    found = knowledge_base.retrieve("Ebola virus disease hemorrhagic fever travel Africa", k=20)
    assert all(p.doc_id != "ddx-ebola" for p in found)


def test_supported_citations_are_kept(knowledge_base):
    diff = Differential(
        items=(
            _item(
                "Pneumonia",
                "J18",
                (
                    NoteCitation(line_start=2, line_end=3),
                    _sheet_passage(knowledge_base, "ddx-pneumonia"),
                ),
            ),
        )
    )
    result = knowledge_base.verify(diff, NOTE)
    assert result.all_supported and not result.needs_review
    assert result.differential.items[0].citations == diff.items[0].citations


@pytest.mark.parametrize(
    ("make_citation", "verdict", "reason"),
    [
        (
            lambda kb: PassageCitation(
                doc_id="ddx-pneumonia",
                passage_id="ddx-pneumonia#99",
                version=kb.documents["ddx-pneumonia"].version,
            ),
            "not_found",
            "no such passage",
        ),
        (
            lambda kb: PassageCitation(
                doc_id="ddx-pneumonia", passage_id="ddx-pneumonia#1", version="0" * 16
            ),
            "not_found",
            "no such passage",
        ),
        (
            lambda kb: PassageCitation(
                doc_id="ddx-pneumonia",
                passage_id="ddx-influenza#1",
                version=kb.documents["ddx-pneumonia"].version,
            ),
            "not_found",
            "does not belong",
        ),
        (lambda kb: _sheet_passage(kb, "ddx-cluster-headache", 1), "unsupported", "another"),
        (lambda kb: NoteCitation(line_start=2, line_end=9), "not_found", "past the note"),
        (lambda kb: NoteCitation(line_start=4, line_end=5), "unsupported", "no finding"),
    ],
    ids=[
        "wrong-passage",
        "wrong-version",
        "foreign-passage-id",
        "other-condition",
        "line-out-of-range",
        "lines-without-findings",
    ],
)
def test_fabricated_citations_are_caught_and_removed(
    knowledge_base, make_citation, verdict, reason
):
    good = NoteCitation(line_start=2, line_end=2)
    bad = make_citation(knowledge_base)
    diff = Differential(items=(_item("Pneumonia", "J18", (good, bad)),))
    result = knowledge_base.verify(diff, NOTE)
    checks = {c.citation: c for c in result.citations}
    assert checks[good].verdict == "supported"
    assert checks[bad].verdict == verdict and reason in checks[bad].reason
    assert result.differential.items[0].citations == (good,)
    item = result.items[0]
    assert item.flagged and item.removed == 1 and not item.needs_review


def test_item_left_without_support_goes_to_review(knowledge_base):
    diff = Differential(
        items=(
            _item("Pneumonia", "J18", (NoteCitation(line_start=4, line_end=4),), 0.5),
            _item("Made-up syndrome", "Z99", (NoteCitation(line_start=2, line_end=2),), 0.2),
            _item("Influenza", "J11.1", (), 0.1),
        )
    )
    result = knowledge_base.verify(diff, NOTE)
    assert result.needs_review
    assert [i.needs_review for i in result.items] == [True, True, True]
    unknown = [c for c in result.citations if c.condition == "Made-up syndrome"][0]
    assert "not in the KB vocabulary" in unknown.reason


def test_profiles_are_found_by_name_synonym_or_code(knowledge_base):
    profiles = knowledge_base.profiles
    assert find_profile("pertussis", "X00", profiles).name == "Whooping cough"
    assert find_profile("Something else", "J17", profiles).name == "Pneumonia"
    assert find_profile("Something else", "X00", profiles) is None
