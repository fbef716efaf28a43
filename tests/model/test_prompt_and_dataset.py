"""The output schema, its conversion to a Differential, and the SFT/DPO records (no model)."""

import json
import random

import pytest
from pydantic import ValidationError

from cds.corpus import CorpusConfig, build_corpus, read_corpus
from cds.model.dataset import DatasetConfig, build_dataset, corrupt, target_items
from cds.model.prompt import output_model, render_output, to_differential


def test_schema_allows_only_known_conditions_and_existing_lines():
    schema = output_model(["Pneumonia", "Influenza"], line_count=4)
    ok = schema.model_validate_json(
        render_output(
            [{"condition": "Pneumonia", "probability": 60, "rationale": "r", "lines": [2, 4]}]
        )
    )
    assert ok.items[0].lines == [2, 4]
    for bad in (
        {"condition": "Made up", "probability": 60, "rationale": "r", "lines": [1]},
        {"condition": "Pneumonia", "probability": 60, "rationale": "r", "lines": [5]},
        {"condition": "Pneumonia", "probability": 100, "rationale": "r", "lines": [1]},
        {"condition": "Pneumonia", "probability": 60, "rationale": "r", "lines": []},
    ):
        with pytest.raises(ValidationError):
            schema.model_validate_json(render_output([bad]))
    json_schema = schema.model_json_schema()
    assert "Pneumonia" in json.dumps(json_schema) and "enum" in json.dumps(json_schema)


def test_candidates_are_the_first_distinct_listed_conditions_of_the_passages():
    from types import SimpleNamespace

    from cds.model.generate import candidate_conditions

    listed = {"Asthma": "J45", "Bronchitis": "J40", "Pneumonia": "J18"}
    passages = [
        SimpleNamespace(condition=c)
        for c in ["Bronchitis", None, "Bronchitis", "Unlisted", "Asthma", "Pneumonia"]
    ]
    assert candidate_conditions(passages, listed, 5) == ("Bronchitis", "Asthma", "Pneumonia")
    assert candidate_conditions(passages, listed, 2) == ("Bronchitis", "Asthma")
    # nothing listed among the passages: no narrowing (the caller uses the whole list)
    assert candidate_conditions(passages[1:2] + passages[3:4], listed, 5) == ()


def test_to_differential_ranks_dedupes_scales_and_adds_codes():
    schema = output_model(["Pneumonia", "Influenza"], line_count=4)
    parsed = schema.model_validate_json(
        render_output(
            [
                {"condition": "Influenza", "probability": 30, "rationale": "a", "lines": [1]},
                {"condition": "Pneumonia", "probability": 90, "rationale": "b", "lines": [3, 2]},
                {"condition": "Influenza", "probability": 20, "rationale": "c", "lines": [1]},
            ]
        )
    )
    diff = to_differential(parsed, {"Pneumonia": "J17", "Influenza": "J11.1"}, 4)
    assert [i.condition for i in diff.items] == ["Pneumonia", "Influenza"]
    assert diff.items[0].icd10 == "J17"
    assert sum(i.probability for i in diff.items) <= 1.0 + 1e-9
    assert [c.line_start for c in diff.items[0].citations] == [2, 3]


def test_dataset_records_cite_the_lines_of_each_conditions_findings(tiny_ddxplus, tmp_path):
    build_corpus(
        CorpusConfig(source_dir=tiny_ddxplus, out_dir=tmp_path / "raw"), show_progress=False
    )
    corpus = tmp_path / "raw" / "notes.jsonl"
    cfg = DatasetConfig(
        in_file=corpus, ddxplus_dir=tiny_ddxplus, out_dir=tmp_path / "sft", kb_params=None
    )
    stats = build_dataset(cfg, show_progress=False)
    assert stats.sft["train"] > 0 and not stats.with_passages
    first = (tmp_path / "sft" / "sft_train.jsonl").read_text()
    again_stats = build_dataset(cfg, show_progress=False)
    assert again_stats == stats
    assert (tmp_path / "sft" / "sft_train.jsonl").read_text() == first  # deterministic
    row = json.loads(first.splitlines()[0])
    assert [m["role"] for m in row["prompt"]] == ["system", "user"]
    assert row["completion"][0]["role"] == "assistant"
    answer = json.loads(row["completion"][0]["content"])
    records = {r.note.id: r for r in read_corpus(corpus)}
    record = records[row["note_id"]]
    assert answer["items"][0]["condition"] in {g.condition for g in record.differential}
    cited = {ln for item in answer["items"] for ln in item["lines"]}
    evidence_lines = {ln for lines in record.evidence_lines.values() for ln in lines}
    assert cited <= evidence_lines  # every cited line states a finding
    probs = [i["probability"] for i in answer["items"]]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 100
    dpo = json.loads((tmp_path / "sft" / "dpo_train.jsonl").read_text().splitlines()[0])
    assert dpo["chosen"] != dpo["rejected"] and dpo["prompt"] == row["prompt"]
    # splits never share a patient
    patients = {}
    for split in ("train", "validation", "test"):
        lines = (tmp_path / "sft" / f"sft_{split}.jsonl").read_text().splitlines()
        patients[split] = {json.loads(x)["patient_id"] for x in lines}
    assert not patients["train"] & (patients["validation"] | patients["test"])


def test_corruptions_are_worse_answers(tiny_ddxplus, tmp_path):
    build_corpus(
        CorpusConfig(source_dir=tiny_ddxplus, out_dir=tmp_path / "raw"), show_progress=False
    )
    from cds.model.dataset import condition_evidences

    evidences = condition_evidences(tiny_ddxplus)
    record = next(
        r
        for r in read_corpus(tmp_path / "raw" / "notes.jsonl")
        if len(target_items(r, evidences)) >= 2
    )
    items = target_items(record, evidences)
    kinds = set()
    for seed in range(30):
        bad = corrupt(items, record, random.Random(seed))
        assert bad != items
        lines_of = {i["condition"]: i["lines"] for i in items}
        if any(i["lines"] != lines_of[i["condition"]] for i in bad):
            kinds.add("citations")
        elif bad[0]["probability"] == 99:
            kinds.add("overconfident")
        else:
            kinds.add("ranking")
    assert kinds == {"citations", "overconfident", "ranking"}
