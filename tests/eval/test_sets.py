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
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"age,sex\n\xff\xfe\x00,F\n")
    with pytest.raises(SourceDataError, match="not a UTF-8 CSV"):
        ddxplus_cases(binary, DDXPLUS, 5)


def test_a_limit_takes_cases_spread_over_a_file_sorted_by_diagnosis(tmp_path):
    import csv

    with (DDXPLUS / "release_test_patients_subset.csv").open(encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    column = header.index("diagnosis")
    first_of_each: dict[str, list] = {}
    for row in rows:
        first_of_each.setdefault(row[column], [])
        if len(first_of_each[row[column]]) < 2:
            first_of_each[row[column]].append(row)
    sorted_rows = [r for d in sorted(first_of_each)[:10] for r in first_of_each[d]]  # 2 each
    path = tmp_path / "sorted.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *sorted_rows])
    cases = ddxplus_cases(path, DDXPLUS, limit=6)
    # the first 6 rows hold 3 conditions; a spread choice reaches more, the same on every run
    assert len(cases) == 6 and len({c.gold for c in cases}) > 3
    assert [c.case_id for c in ddxplus_cases(path, DDXPLUS, limit=6)] == [c.case_id for c in cases]
    vignettes = tmp_path / "v.jsonl"
    vignettes.write_text("".join(
        json.dumps({"case_description": "x", "correct_diagnosis": d, "id": f"{d}-{k}"}) + "\n"
        for d in sorted(first_of_each)[:10] for k in range(2)))
    chosen = vignette_cases(vignettes, PROFILES, 6)
    assert len(chosen) == 6 and len({c.gold for c in chosen}) > 3
    with pytest.raises(SourceDataError, match="cds corpus"):
        corpus_cases(tmp_path / "none.jsonl", "test", None)
