"""Loading the base model for training or generation: NF4 4-bit (QLoRA) or full precision."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cds.model.base import SOURCE_FILE, ModelError, base_hash, quiet_transformers
from cds.model.recipe import QuantSettings


def compute_dtype(setting: str):
    import torch

    if setting == "auto":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return getattr(torch, setting)


def check_model_dir(path: Path) -> None:
    if not (path / "config.json").exists():
        raise ModelError(f"{path}: no model here (run `dvc repro base_model` or set a path)")


def load_tokenizer(path: Path):
    from transformers import AutoTokenizer

    check_model_dir(path)
    quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base(path: Path, four_bit: bool, quant: QuantSettings | None = None):
    """The base model, in NF4 4-bit with double quantisation (QLoRA) or as saved."""
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    check_model_dir(path)
    quiet_transformers()
    quant = quant or QuantSettings()
    dtype = compute_dtype(quant.compute_dtype)
    kwargs: dict = {"dtype": dtype}
    if four_bit:
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=quant.quant_type,
            bnb_4bit_use_double_quant=quant.double_quant,
            bnb_4bit_compute_dtype=dtype,
            bnb_4bit_quant_storage=getattr(torch, quant.quant_storage),
        )
    if torch.cuda.is_available():
        # On the GPU where there is one, 4-bit or full precision, for training and generation.
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    return AutoModelForCausalLM.from_pretrained(path, **kwargs)


def recorded_base_hash(path: Path) -> str:
    """The hash of a base model directory (from its source record when present)."""
    record = path / SOURCE_FILE
    if record.exists():
        files = json.loads(record.read_text())["files"]
        return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return base_hash(path)
