"""Evaluation sets read from paths: corpus splits, external DDXPlus CSVs and vignettes."""

import json
from dataclasses import dataclass

import pytest

from cds.errors import SourceDataError
from cds.eval.sets import corpus_cases, ddxplus_cases, match_condition, vignette_cases
from tests.conftest import DDXPLUS, trimmed_ddxplus


@dataclass
class Profile:  # the two attributes match_condition reads from rag's ConditionProfile
    name: str
    icd10: str
    synonyms: tuple = ()

    @property
    def names(self):
        return (self.name, *self.synonyms)


PROFILES = {p.name: p for p in [
    Profile("Pneumonia", "J18.9"),
    Profile("Acute pulmonary edema", "J81.0", ("flash pulmonary edema",)),
    Profile("Pulmonary embolism", "I26.9", ("PE",)),
    Profile("Anemia", "D64.9"),
]}


@pytest.mark.parametrize("gold, expected", [
    ("pneumonia", "Pneumonia"),                       # name, any case
    ("Flash pulmonary edema", "Acute pulmonary edema"),  # synonym
    ("Saddle embolus (I26.9)", "Pulmonary embolism"),   # ICD-10 code in the text
    ("severe acute pulmonary edema with hypoxia", "Acute pulmonary edema"),  # all words
    ("Iron-deficiency anemia", "Anemia"),
    ("Kawasaki disease", None),                       # outside the model's list
])
def test_match_condition(gold, expected):
    assert match_condition(gold, PROFILES) == expected


def test_vignettes_are_read_and_matched(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"case_description": "A 70-year-old with fever and productive cough.",
         "correct_diagnosis": "Community-acquired pneumonia"},
        {"case_description": "A child with 5 days of fever and a strawberry tongue.",
         "correct_diagnosis": "Kawasaki disease", "id": "k1"},
    ]) + "\n\n")
    cases = vignette_cases(path, PROFILES, None)
    assert [(c.case_id, c.pathology) for c in cases] == [("vignette-1", "Pneumonia"),
                                                        ("k1", None)]
    path.write_text('{"case_description": "x"}\n')
    with pytest.raises(SourceDataError, match=":1: needs case_description and correct_diagnosis"):
        vignette_cases(path, PROFILES, None)


def test_external_ddxplus_csv_becomes_notes_with_fresh_phi(tmp_path):
    src = trimmed_ddxplus(tmp_path, 12)
    cases = ddxplus_cases(src / "release_test_patients_subset.csv", DDXPLUS, limit=5)
    assert len(cases) == 5
    for c in cases:
        assert c.pathology and c.differential and c.phi and c.sex in ("F", "M")
        assert all(v in c.text for v in c.phi)
    with pytest.raises(SourceDataError, match="not found"):
        ddxplus_cases(tmp_path / "missing.csv", DDXPLUS, None)
    with pytest.raises(SourceDataError, match="cds corpus"):
        corpus_cases(tmp_path / "none.jsonl", "test", None)
