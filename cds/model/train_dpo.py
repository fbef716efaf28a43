"""Direct preference optimisation (TRL `DPOTrainer`) on the SFT adapter.

The policy is the 4-bit base with the SFT adapter, trainable; the reference is the same model
with the adapter disabled (`ref_model=None` with a PEFT model), so no second copy of the model
is held in memory. Pairs come from the `dataset` stage (`dpo_train.jsonl`).
"""

from __future__ import annotations

from cds.errors import ConfigError
from cds.model.loading import load_base, load_tokenizer
from cds.model.recipe import Recipe
from cds.model.train_sft import common_args, read_records, run_and_save


def train_dpo(recipe: Recipe, resume: bool = False, show_progress: bool = True) -> dict:
    from datasets import Dataset
    from peft import PeftModel, prepare_model_for_kbit_training
    from transformers import set_seed
    from trl import DPOConfig, DPOTrainer

    if recipe.adapter_init is None or not (recipe.adapter_init / "adapter_config.json").exists():
        raise ConfigError(f"{recipe.name}: adapter_init must name a trained SFT adapter")
    set_seed(recipe.seed)
    keys = ("prompt", "chosen", "rejected")
    rows = read_records(recipe.train_file, recipe.max_records, keys)
    for extra in recipe.mix_files:
        rows += read_records(extra, recipe.mix_records, keys)
    tokenizer = load_tokenizer(recipe.base_model)
    four_bit = recipe.method == "qlora"
    base = load_base(recipe.base_model, four_bit=four_bit, quant=recipe.quant)
    if four_bit:
        base = prepare_model_for_kbit_training(
            base, use_gradient_checkpointing=recipe.gradient_checkpointing
        )
    model = PeftModel.from_pretrained(base, recipe.adapter_init, is_trainable=True)
    args = DPOConfig(
        **common_args(recipe, show_progress),
        beta=recipe.dpo_beta,
        max_length=recipe.max_length,
    )
    trainer = DPOTrainer(
        model=model,
        ref_model=None,  # the adapter-disabled policy is the reference
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )
    return run_and_save(trainer, tokenizer, recipe, rows, resume)
