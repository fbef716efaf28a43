"""Training recipes: every knob of a run in one YAML file, validated by pydantic.

`recipes/sft_demo.yaml` keeps `make demo` short on a 2-core CPU; `recipes/sft_full.yaml` is the
quality run (hours on CPU, minutes on a GPU). DPO recipes start from an SFT adapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cds.config import load_section


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    r: int = Field(16, ge=1, le=512)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: str | list[str] = "all-linear"


class QuantSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    quant_type: Literal["nf4", "fp4"] = "nf4"
    double_quant: bool = True
    compute_dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    """auto: bfloat16 on a GPU that has it, else float32 (bf16 matmuls are slow on most CPUs)."""
    quant_storage: Literal["uint8", "bfloat16"] = "uint8"
    """bfloat16 when FSDP shards the 4-bit weights (configs/accelerate/fsdp_qlora.yaml)."""


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    method: Literal["qlora", "lora"] = "qlora"
    """qlora: NF4 4-bit base (bitsandbytes) + LoRA; lora: full-precision base + LoRA."""
    stage: Literal["sft", "dpo"] = "sft"
    base_model: Path = Path("artifacts/base")
    adapter_init: Path | None = None
    """DPO: the SFT adapter to start from (its disabled form is the reference model)."""
    train_file: Path
    eval_file: Path | None = None
    output_dir: Path
    seed: int = 1234
    max_records: int | None = Field(None, ge=1)
    max_eval_records: int | None = Field(32, ge=1)
    max_length: int = Field(1024, ge=64)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, ge=-1)
    """-1: run `epochs` over the data."""
    batch_size: int = Field(1, ge=1)
    gradient_accumulation_steps: int = Field(4, ge=1)
    learning_rate: float = Field(2e-4, gt=0)
    lr_scheduler: str = "cosine"
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    logging_steps: int = Field(5, ge=1)
    save_steps: int = Field(50, ge=1)
    gradient_checkpointing: bool = False
    lora: LoraSettings = LoraSettings()
    quant: QuantSettings = QuantSettings()
    dpo_beta: float = Field(0.1, gt=0)
    safety_lambda: float = Field(0.0, ge=0)
    """Weight of the unlikelihood term on unsafe continuations (0 = off)."""
    safety_file: Path | None = None
    """Safety pairs whose rejected answers are the unsafe continuations (SFT with lambda > 0)."""
    safety_records: int | None = Field(64, ge=1)
    mix_files: list[Path] = Field(default_factory=list)
    """DPO: more pair files mixed into the training data (e.g. safety and tone pairs)."""
    mix_records: int | None = Field(None, ge=1)
    """At most this many pairs from each mix file."""


def load_recipe(path: Path) -> Recipe:
    """Raises ConfigError (one line naming the field) for a missing or invalid recipe."""
    return load_section(path, None, Recipe)
