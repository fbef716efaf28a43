import pytest
from pydantic import ValidationError

from cds.schemas import (
    DISCLAIMER,
    DiagnosisItem,
    Differential,
    GuardrailDecision,
    Note,
    NoteCitation,
    PassageCitation,
    Suggestion,
    Verdict,
)


def item(condition="Pneumonia", p=0.5, cites=(NoteCitation(line_start=1, line_end=2),)):
    return DiagnosisItem(
        condition=condition,
        icd10="J18",
        probability=p,
        rationale="fever and cough",
        citations=cites,
    )


def decision(verdict=Verdict.ALLOW, error=None):
    return GuardrailDecision(
        rail="scope", stage="input", verdict=verdict, reason="ok", latency_ms=0.1, error=error
    )


def test_note_lines_are_numbered_from_text():
    note = Note.from_text("n1", "pt-1", "a\nb\n\nc")
    assert [ln.number for ln in note.lines] == [1, 2, 3, 4]
    assert note.lines[3].text == "c"
    assert note.numbered().splitlines()[0] == "1| a"


def test_note_rejects_lines_that_do_not_match_text():
    good = Note.from_text("n1", "pt-1", "a\nb")
    with pytest.raises(ValidationError, match="reproduce"):
        Note(id="n1", patient_id="pt-1", text="a\nX", lines=good.lines)


@pytest.mark.parametrize("p", [-0.01, 1.01])
def test_probability_outside_unit_interval_rejected(p):
    with pytest.raises(ValidationError):
        item(p=p)


def test_probabilities_summing_above_one_rejected():
    with pytest.raises(ValidationError, match="sum"):
        Differential(items=(item("A", 0.6), item("B", 0.5)))


def test_probabilities_within_tolerance_accepted():
    d = Differential(items=(item("A", 0.6), item("B", 0.4004)))
    assert len(d.items) == 2


def test_differential_must_be_ranked_and_unique():
    with pytest.raises(ValidationError, match="ranked"):
        Differential(items=(item("A", 0.2), item("B", 0.5)))
    with pytest.raises(ValidationError, match="more than once"):
        Differential(items=(item("A", 0.3), item("a", 0.2)))


def test_citation_to_missing_line_rejected_with_note_context():
    data = {"items": [item(cites=(NoteCitation(line_start=3, line_end=9),)).model_dump()]}
    assert Differential.model_validate(data)  # no note known: only structural checks
    with pytest.raises(ValidationError, match="note has 5 lines"):
        Differential.model_validate(data, context={"note_line_count": 5})


def test_reversed_line_range_rejected():
    with pytest.raises(ValidationError):
        NoteCitation(line_start=4, line_end=2)


def test_citation_kinds_are_discriminated():
    d = Differential.model_validate(
        {
            "items": [
                {
                    "condition": "A",
                    "icd10": "J93",
                    "probability": 0.3,
                    "rationale": "r",
                    "citations": [
                        {"kind": "kb", "doc_id": "d1", "passage_id": "d1#0", "version": "abc"}
                    ],
                }
            ]
        }
    )
    assert isinstance(d.items[0].citations[0], PassageCitation)


def test_bad_icd10_rejected():
    with pytest.raises(ValidationError):
        DiagnosisItem(condition="A", icd10="j17, j18", probability=0.1, rationale="r")


def test_suggestion_checks_citations_against_its_note():
    with pytest.raises(ValidationError, match="note has 1 lines"):
        Suggestion(
            note_id="n",
            note_line_count=1,
            differential=Differential(items=(item(),)),
            decisions=(),
            disclaimer=DISCLAIMER,
            route="review",
        )


def test_auto_route_refused_when_a_rail_blocked_or_failed():
    diff = Differential(items=(item(),))
    with pytest.raises(ValidationError, match="auto"):
        Suggestion(
            note_id="n",
            note_line_count=5,
            differential=diff,
            decisions=(decision(Verdict.BLOCK),),
            disclaimer=DISCLAIMER,
            route="auto",
        )
    with pytest.raises(ValidationError, match="auto"):
        Suggestion(
            note_id="n",
            note_line_count=5,
            differential=diff,
            decisions=(decision(Verdict.MODIFY, error="TimeoutError"),),
            disclaimer=DISCLAIMER,
            route="auto",
        )
    ok = Suggestion(
        note_id="n",
        note_line_count=5,
        differential=diff,
        decisions=(decision(),),
        disclaimer=DISCLAIMER,
        route="auto",
    )
    assert ok.route == "auto"


def test_errored_rail_cannot_allow():
    with pytest.raises(ValidationError, match="fail closed"):
        decision(Verdict.ALLOW, error="RuntimeError")


def test_crisis_and_blocked_carry_no_model_output():
    diff = Differential(items=(item(),))
    with pytest.raises(ValidationError, match="model output"):
        Suggestion(
            note_id="n",
            note_line_count=5,
            differential=diff,
            decisions=(),
            disclaimer=DISCLAIMER,
            route="crisis",
            message="Call 988",
        )
    with pytest.raises(ValidationError, match="safe message"):
        Suggestion(
            note_id="n",
            note_line_count=5,
            differential=None,
            decisions=(),
            disclaimer=DISCLAIMER,
            route="blocked",
        )


def test_models_are_frozen_and_closed():
    n = Note.from_text("n1", "pt", "a")
    with pytest.raises(ValidationError):
        n.id = "x"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        NoteCitation(line_start=1, line_end=1, raw_text="PHI")  # type: ignore[call-arg]
