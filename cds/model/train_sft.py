"""Supervised fine-tuning with QLoRA (TRL `SFTTrainer` + PEFT), loss on the answer only.

The base is loaded in NF4 4-bit with double quantisation (bitsandbytes; it trains on the CPU
too) and LoRA adapters go on every linear layer; `method: lora` keeps a full-precision base.
The dataset is prompt/completion conversations, for which TRL masks the prompt out of the loss
(`completion_only_loss`). Saved with the adapter: `training_meta.json` with the recipe, seed,
data hash, base hash, package versions and the training metrics. Resumable: `resume=True`
continues from the newest checkpoint in `output_dir/checkpoints`.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from cds.errors import SourceDataError
from cds.model.loading import load_base, load_tokenizer, recorded_base_hash
from cds.model.recipe import Recipe

META_FILE = "training_meta.json"


def read_records(path: Path, limit: int | None, keys: tuple[str, ...]) -> list[dict]:
    if not path.exists():
        raise SourceDataError(f"{path}: file not found (run `dvc repro dataset`)")
    rows = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, start=1):
            if limit is not None and len(rows) >= limit:
                break
            try:
                rec = json.loads(line)
                rows.append({k: rec[k] for k in keys})
            except (json.JSONDecodeError, KeyError) as e:
                raise SourceDataError(f"{path}: line {i}: not a {'/'.join(keys)} record") from e
    if not rows:
        raise SourceDataError(f"{path}: no records")
    return rows


def data_hash(rows: list[dict]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps(r, sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()


def lora_config(recipe: Recipe):
    from peft import LoraConfig

    return LoraConfig(
        r=recipe.lora.r,
        lora_alpha=recipe.lora.alpha,
        lora_dropout=recipe.lora.dropout,
        target_modules=recipe.lora.target_modules,
        task_type="CAUSAL_LM",
    )


def peft_model(recipe: Recipe):
    """The base (4-bit for QLoRA) with fresh LoRA adapters on all linear layers."""
    from peft import get_peft_model, prepare_model_for_kbit_training

    four_bit = recipe.method == "qlora"
    model = load_base(recipe.base_model, four_bit=four_bit, quant=recipe.quant)
    if four_bit:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=recipe.gradient_checkpointing
        )
    return get_peft_model(model, lora_config(recipe))


def checkpoint_to_resume(output_dir: Path) -> str | None:
    checkpoints = sorted(
        (output_dir / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])
    )
    return str(checkpoints[-1]) if checkpoints else None


def common_args(recipe: Recipe, show_progress: bool) -> dict:
    import datasets
    import torch

    if not show_progress:
        datasets.disable_progress_bars()

    return {
        "output_dir": str(recipe.output_dir / "checkpoints"),
        "seed": recipe.seed,
        "data_seed": recipe.seed,
        "num_train_epochs": recipe.epochs,
        "max_steps": recipe.max_steps,
        "per_device_train_batch_size": recipe.batch_size,
        "per_device_eval_batch_size": recipe.batch_size,
        "gradient_accumulation_steps": recipe.gradient_accumulation_steps,
        "learning_rate": recipe.learning_rate,
        "lr_scheduler_type": recipe.lr_scheduler,
        "warmup_steps": recipe.warmup_ratio,  # < 1: a fraction of the steps
        "logging_steps": recipe.logging_steps,
        "save_steps": recipe.save_steps,
        "save_total_limit": 2,
        "eval_strategy": "no",
        "report_to": [],
        "disable_tqdm": not show_progress,
        "bf16": torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        "use_cpu": not torch.cuda.is_available(),
        "gradient_checkpointing": recipe.gradient_checkpointing,
        "dataloader_num_workers": 0,
    }


def save_meta(recipe: Recipe, rows: list[dict], metrics: dict, seconds: float) -> dict:
    from importlib.metadata import version

    meta = {
        "recipe": json.loads(recipe.model_dump_json()),
        "seed": recipe.seed,
        "records": len(rows),
        "data_hash": data_hash(rows),
        "base_hash": recorded_base_hash(recipe.base_model),
        "train_seconds": round(seconds, 2),
        "metrics": metrics,
        "packages": {
            p: version(p) for p in ("torch", "transformers", "peft", "trl", "bitsandbytes")
        },
    }
    (recipe.output_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def run_and_save(trainer, tokenizer, recipe: Recipe, rows: list[dict], resume: bool) -> dict:
    """Train (from the newest checkpoint when resuming), save adapter, tokenizer and meta."""
    start = time.perf_counter()
    result = trainer.train(
        resume_from_checkpoint=checkpoint_to_resume(recipe.output_dir) if resume else None
    )
    seconds = time.perf_counter() - start
    trainer.save_model(str(recipe.output_dir))
    tokenizer.save_pretrained(str(recipe.output_dir))
    metrics = dict(result.metrics) | {"global_step": result.global_step}
    return save_meta(recipe, rows, metrics, seconds)


def train_sft(recipe: Recipe, resume: bool = False, show_progress: bool = True) -> dict:
    from datasets import Dataset
    from transformers import set_seed
    from trl import SFTConfig, SFTTrainer

    set_seed(recipe.seed)
    rows = read_records(recipe.train_file, recipe.max_records, ("prompt", "completion"))
    tokenizer = load_tokenizer(recipe.base_model)
    model = peft_model(recipe)
    args = SFTConfig(
        **common_args(recipe, show_progress),
        max_length=recipe.max_length,
        completion_only_loss=True,
        packing=False,
    )
    common = {
        "model": model,
        "args": args,
        "train_dataset": Dataset.from_list(rows),
        "processing_class": tokenizer,
    }
    if recipe.safety_lambda == 0:
        return run_and_save(SFTTrainer(**common), tokenizer, recipe, rows, resume)
    from cds.model.safety_loss import SafetyPenalisedSFTTrainer, unsafe_examples

    if recipe.safety_file is None or not recipe.safety_file.exists():
        raise SourceDataError(f"{recipe.name}: safety_lambda > 0 needs an existing safety_file")
    unsafe = unsafe_examples(
        recipe.safety_file, tokenizer, recipe.max_length, recipe.safety_records
    )
    trainer = SafetyPenalisedSFTTrainer(**common, unsafe=unsafe, safety_lambda=recipe.safety_lambda)
    meta = run_and_save(trainer, tokenizer, recipe, rows, resume)
    meta["metrics"]["safety_unlikelihood_mean"] = sum(trainer.safety_terms) / max(
        1, len(trainer.safety_terms)
    )
    (recipe.output_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return meta
