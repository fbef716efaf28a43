"""The real model end to end: convert the packaged GGUF, QLoRA-train a few steps on a handful
of records, save and reload the adapter, and generate a schema-valid Differential from it."""

import json
from pathlib import Path

import pytest

from cds.corpus import CorpusConfig, build_corpus, read_corpus
from cds.model.dataset import DatasetConfig, build_dataset
from cds.model.generate import DifferentialGenerator, GenerationError, condition_codes
from cds.model.recipe import Recipe
from cds.model.train_dpo import train_dpo
from cds.model.train_sft import META_FILE, train_sft
from cds.schemas import Differential

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base_dir(base_model_dir) -> Path:
    out = base_model_dir
    assert (out / "model.safetensors").exists() and (out / "chat_template.jinja").exists()
    return out


def test_qlora_train_save_reload_generate(base_dir, tiny_ddxplus, tmp_path):
    build_corpus(
        CorpusConfig(source_dir=tiny_ddxplus, out_dir=tmp_path / "raw"), show_progress=False
    )
    build_dataset(
        DatasetConfig(
            in_file=tmp_path / "raw" / "notes.jsonl",
            ddxplus_dir=tiny_ddxplus,
            out_dir=tmp_path / "sft",
            kb_params=None,
            suggest_params=None,
            max_records=3,
        ),
        show_progress=False,
    )
    recipe = Recipe(
        name="it",
        method="qlora",
        base_model=base_dir,
        train_file=tmp_path / "sft" / "sft_train.jsonl",
        output_dir=tmp_path / "adapter",
        max_records=3,
        max_steps=2,
        gradient_accumulation_steps=1,
        max_length=768,
        logging_steps=1,
        save_steps=1,
    )
    meta = train_sft(recipe, show_progress=False)
    assert meta["metrics"]["global_step"] == 2
    assert meta["metrics"]["train_loss"] > 0
    saved = json.loads((tmp_path / "adapter" / META_FILE).read_text())
    assert saved["recipe"]["method"] == "qlora" and len(saved["data_hash"]) == 64
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()
    # resumable: the checkpoints are there and a resumed run continues from the newest one
    assert list((tmp_path / "adapter" / "checkpoints").glob("checkpoint-*"))
    resumed = train_sft(recipe, resume=True, show_progress=False)
    assert resumed["metrics"]["global_step"] >= 2

    from peft import PeftModel

    from cds.model.loading import load_base

    reloaded = PeftModel.from_pretrained(load_base(base_dir, four_bit=True), tmp_path / "adapter")
    lora = [n for n, _ in reloaded.named_parameters() if "lora_" in n]
    assert lora  # the saved adapter's LoRA weights are back on the 4-bit base

    generator = DifferentialGenerator(
        base_dir, condition_codes(tiny_ddxplus), tmp_path / "adapter", four_bit=True
    )
    note = read_corpus(tmp_path / "raw" / "notes.jsonl")[0].note
    try:
        out = generator.generate(note)
    except GenerationError as e:  # fail closed is allowed, a crash is not
        pytest.fail(f"constrained generation did not close the JSON: {e}")
    assert isinstance(out.differential, Differential)
    Differential.model_validate(
        out.differential.model_dump(), context={"note_line_count": note.line_count}
    )
    known = condition_codes(tiny_ddxplus)
    for item in out.differential.items:
        assert known[item.condition] == item.icd10
        assert all(1 <= c.line_end <= note.line_count for c in item.citations)

    # DPO on that adapter, with the adapter-disabled model as reference
    dpo = Recipe(
        name="it-dpo",
        stage="dpo",
        method="qlora",
        base_model=base_dir,
        adapter_init=tmp_path / "adapter",
        train_file=tmp_path / "sft" / "dpo_train.jsonl",
        output_dir=tmp_path / "dpo",
        max_records=2,
        max_steps=1,
        gradient_accumulation_steps=1,
        max_length=768,
        logging_steps=1,
        save_steps=1,
    )
    dpo_meta = train_dpo(dpo, show_progress=False)
    assert dpo_meta["metrics"]["global_step"] == 1
    assert (tmp_path / "dpo" / "adapter_model.safetensors").exists()

    # the optional safety-penalised loss: L = L_task + lambda * unlikelihood(unsafe answers)
    safety = recipe.model_copy(
        update={
            "output_dir": tmp_path / "safety",
            "max_steps": 1,
            "safety_lambda": 0.5,
            "safety_file": tmp_path / "sft" / "dpo_safety_train.jsonl",
            "safety_records": 2,
        }
    )
    safety_meta = train_sft(safety, show_progress=False)
    assert safety_meta["metrics"]["safety_unlikelihood_mean"] > 0
