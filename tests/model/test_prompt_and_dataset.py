"""The output schema, its conversion to a Differential, and the SFT/DPO records (no model)."""

import json
import random

import pytest
from pydantic import ValidationError

from cds.corpus import CorpusConfig, build_corpus, read_corpus
from cds.model.dataset import DatasetConfig, build_dataset, corrupt, target_items
from cds.model.prompt import output_model, render_output, to_differential
from tests.conftest import DDXPLUS, trimmed_ddxplus


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
        in_file=corpus,
        ddxplus_dir=tiny_ddxplus,
        out_dir=tmp_path / "sft",
        kb_params=None,
        suggest_params=None,
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
    # the confirmed diagnosis leads when it has a cited finding
    assert answer["items"][0]["condition"] == record.pathology
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


def _record_with_diagnosis_second(tiny_ddxplus, tmp_path):
    build_corpus(
        CorpusConfig(source_dir=tiny_ddxplus, out_dir=tmp_path / "raw"), show_progress=False
    )
    from cds.model.dataset import condition_evidences

    evidences = condition_evidences(tiny_ddxplus)
    record = next(
        r
        for r in read_corpus(tmp_path / "raw" / "notes.jsonl")
        if len(target_items(r, evidences)) >= 3
    )
    gold = sorted(record.differential, key=lambda g: -g.probability)
    first, diagnosis = gold[0], next(g for g in gold if g.condition == record.pathology)
    # make another condition the differential's most probable one, the diagnosis second
    swapped = [
        g.model_copy(update={"probability": diagnosis.probability})
        if g is first
        else g.model_copy(update={"probability": first.probability})
        if g is diagnosis
        else g
        for g in gold
    ]
    if first is diagnosis:
        other = gold[1]
        swapped = [
            g.model_copy(update={"probability": other.probability})
            if g is diagnosis
            else g.model_copy(update={"probability": diagnosis.probability})
            if g is other
            else g
            for g in gold
        ]
    return record.model_copy(update={"differential": tuple(swapped)}), evidences


def test_the_confirmed_diagnosis_leads_the_target_and_candidates_restrict_it(
    tiny_ddxplus, tmp_path
):
    from cds.model.dataset import gold_ranking

    record, evidences = _record_with_diagnosis_second(tiny_ddxplus, tmp_path)
    top = max(record.differential, key=lambda g: g.probability)
    assert top.condition != record.pathology
    ranking = gold_ranking(record)
    assert ranking[0] == (record.pathology, top.probability)
    assert [p for _, p in ranking] == sorted((p for _, p in ranking), reverse=True)
    items = target_items(record, evidences)
    assert items[0]["condition"] == record.pathology
    assert top.condition in [i["condition"] for i in items]
    allowed = {i["condition"] for i in items} - {top.condition}
    restricted = target_items(record, evidences, allowed)
    assert {i["condition"] for i in restricted} <= allowed
    assert restricted[0]["condition"] == record.pathology
    # a diagnosis missing from the differential is still the first item
    without = record.model_copy(
        update={
            "differential": tuple(g for g in record.differential if g.condition != record.pathology)
        }
    )
    assert gold_ranking(without)[0][0] == record.pathology


def test_candidates_come_from_the_ranker_when_it_is_sure_and_retrieval_fills_up():
    from types import SimpleNamespace

    from cds.model.generate import choose_candidates, listed

    listed_conditions = {c: "X00" for c in ["Asthma", "Bronchitis", "Pneumonia", "GERD"]}
    pool = [SimpleNamespace(condition=c) for c in ["GERD", "Asthma", "Unlisted", "Bronchitis"]]
    sure = {"Pneumonia": 0.7, "Asthma": 0.2, "Bronchitis": 0.1}
    assert choose_candidates(sure, pool, listed_conditions, 2, 0.2) == (
        ("Pneumonia", "Asthma"),
        "ranker",
    )
    assert choose_candidates(sure, pool, listed_conditions, 4, 0.2) == (
        ("Pneumonia", "Asthma", "Bronchitis", "GERD"),
        "ranker",
    )
    unsure = {"Pneumonia": 0.15, "Asthma": 0.1}
    assert choose_candidates(unsure, pool, listed_conditions, 2, 0.2) == (
        ("GERD", "Asthma"),
        "retrieval",
    )
    assert listed(["GERD", "Asthma"], unsure) == [("GERD", 0.0), ("Asthma", 0.1)]
    assert listed(["GERD"], {}) == [("GERD", None)]


def test_the_prompt_lists_the_candidates_in_order_with_the_rankers_percent():
    from cds.model.prompt import user_message
    from cds.schemas import Note

    note = Note.from_text("n1", "p1", "Cough for a week.\nFever.")
    text = user_message(note, [], [("Pneumonia", 0.623), ("Bronchitis", None)])
    assert text.endswith("Candidate conditions:\n1. Pneumonia (62%)\n2. Bronchitis")
    assert "Candidate conditions" not in user_message(note)


def test_training_notes_are_ranked_by_rankers_that_never_saw_their_patient(tiny_ddxplus, tmp_path):
    import yaml

    from cds.model.dataset import CandidateSource
    from cds.model.generate import condition_codes
    from cds.model.ranker import RankerConfig, fit_ranker, train_ranker

    # every 8th patient: the file is sorted by diagnosis, so this spans many conditions
    (tmp_path / "spread").mkdir()
    big = trimmed_ddxplus(tmp_path / "spread", 0)
    rows = (DDXPLUS / "release_test_patients_subset.csv").read_text(encoding="utf-8")
    header, *patients = rows.splitlines()
    (big / "release_test_patients_subset.csv").write_text(
        "\n".join([header, *patients[::8]]) + "\n", encoding="utf-8"
    )
    build_corpus(CorpusConfig(source_dir=big, out_dir=tmp_path / "raw"), show_progress=False)
    corpus = tmp_path / "raw" / "notes.jsonl"
    ranker_section = {
        "notes_file": str(corpus),
        "ddxplus_dir": str(big),
        "min_df": 1,
        "out_dir": str(tmp_path / "ranker"),
        "metrics_file": str(tmp_path / "ranker.json"),
    }
    train_ranker(RankerConfig(**ranker_section))
    params = tmp_path / "params.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "ranker": ranker_section,
                "suggest": {
                    "ranker": str(tmp_path / "ranker"),
                    "candidates": 3,
                    "ranker_min_probability": 0.0,
                },
            }
        )
    )
    cfg = DatasetConfig(
        in_file=corpus,
        ddxplus_dir=big,
        out_dir=tmp_path / "sft",
        kb_params=None,
        suggest_params=params,
        ranker_folds=3,
    )
    records = read_corpus(corpus)
    codes = condition_codes(big)
    source = CandidateSource(cfg, records, codes)
    train = [r for r in records if r.split == "train" and r.pathology in codes]
    folds = {r.note.patient_id: source.fold_of(r) % 3 for r in train}
    assert len(set(folds.values())) == 3
    record = train[0]
    others = [r for r in train if folds[r.note.patient_id] != folds[record.note.patient_id]]
    assert record.note.patient_id not in {r.note.patient_id for r in others}
    unseen = fit_ranker(
        [r.note.text for r in others], [r.pathology for r in others], RankerConfig(min_df=1)
    )
    expected = [c for c, _ in unseen.rank(record.note.text) if c in codes]
    assert list(source.ranked(record)) == expected
    held_out = next(r for r in records if r.split == "test")
    assert list(source.ranked(held_out)) == [
        c for c, _ in source.ranker.rank(held_out.note.text) if c in codes
    ]
    stats = build_dataset(cfg, show_progress=False)
    assert stats.with_candidates and set(stats.gold_among_candidates) <= {
        "train",
        "validation",
        "test",
    }
    row = json.loads((tmp_path / "sft" / "sft_train.jsonl").read_text().splitlines()[0])
    assert 1 <= len(row["candidates"]) <= 3
    assert "Candidate conditions:\n1. " + row["candidates"][0] in row["prompt"][1]["content"]
    answer = json.loads(row["completion"][0]["content"])
    assert {i["condition"] for i in answer["items"]} <= set(row["candidates"])
