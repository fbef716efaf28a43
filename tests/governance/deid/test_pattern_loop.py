"""The recognizers' own pattern loop: cued patterns, timeouts, and label-first id patterns."""

from pathlib import Path

import pytest
from presidio_analyzer import Pattern

from governance.deid.errors import DeidError
from governance.deid.evaluate import load_labelled
from governance.deid.recognizers import RECOGNIZERS, base
from governance.deid.recognizers.base import ClinicalPatternRecognizer, CuedPattern

from .test_recognizers import FOUND

PHYSIONET = Path("data/external/physionet-deid/deid_nursing_notes.jsonl")


class _CuedOnClinic(ClinicalPatternRecognizer):
    """A cue the pattern does not imply ("clinic" for a word before "hospital"): what
    test_cues_change_no_detection guards against in the registry."""

    ENTITY = "NAME"
    PATTERNS = [CuedPattern("word before hospital", r"\b\w+(?=\s+hospital\b)", 0.8, "clinic")]


def test_a_cued_pattern_is_skipped_on_a_text_without_its_cue(monkeypatch):
    def spans(text: str) -> list[tuple[int, int]]:
        return [(r.start, r.end) for r in _CuedOnClinic().analyze(text, ["NAME"])]

    assert spans("Mercy hospital") == []
    assert spans("Mercy hospital, not the clinic") == [(0, 5)]
    monkeypatch.setattr(ClinicalPatternRecognizer, "use_cues", False)
    assert spans("Mercy hospital") == [(0, 5)]


def _texts() -> list[str]:
    notes = [item.text for item in load_labelled(PHYSIONET)]
    return notes + [text for rows in FOUND.values() for text, _ in rows]


def test_cues_change_no_detection(detector, monkeypatch):
    """Every cue in the registry is implied by its pattern: on the PhysioNet notes and the
    recognizer tables, detections are identical with and without the cue checks."""
    cued = [
        p.name
        for cls in RECOGNIZERS.values()
        for p in getattr(cls, "PATTERNS", [])
        if isinstance(p, CuedPattern)
    ]
    assert len(cued) >= 5
    texts = _texts()
    with_cues = detector.detect_batch(texts)
    monkeypatch.setattr(ClinicalPatternRecognizer, "use_cues", False)
    without_cues = detector.detect_batch(texts)
    assert sum(map(len, with_cues)) > 500
    assert with_cues == without_cues


def test_a_pattern_that_times_out_fails_the_note_and_names_no_text(monkeypatch):
    class Catastrophic(ClinicalPatternRecognizer):
        ENTITY = "NAME"
        PATTERNS = [Pattern("nested repeat", r"(?:a|aa)+$", 0.8)]

    monkeypatch.setattr(base, "REGEX_TIMEOUT_SECONDS", 0.01)
    text = "a" * 40 + "Zorbatrix"
    with pytest.raises(DeidError, match="Catastrophic/nested repeat timed out") as e:
        Catastrophic().analyze(text, ["NAME"])
    assert "Zorbatrix" not in str(e.value)


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("MRN: 00482913", ["00482913"]),
        ("mrn 48291-3 then unit no. 77120", ["48291-3", "77120"]),
        ("record #A1234B", ["A1234B"]),
        ("unit 6 was busy", []),  # too short for an id
        ("medical record reviewed", []),  # no digit
    ],
)
def test_a_labelled_id_is_the_id_without_its_label(text, ids):
    results = RECOGNIZERS["MrnRecognizer"]().analyze(text, ["MRN"])
    assert [text[r.start : r.end] for r in results] == ids
