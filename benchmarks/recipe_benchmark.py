"""Train one whole recipe and record wall time, tokens per second and peak GPU memory.

Usage: python benchmarks/recipe_benchmark.py RECIPE.yaml OUT.json
Runs `cds.model.train_sft.train_sft` on the recipe as `cds train sft` does (progress bars on),
then writes the training metrics, the tokens trained on (the attention-mask sum of every
micro-batch: prompt and completion, no padding), tokens per second over the training runtime
and, on a CUDA machine, the peak allocated and reserved GPU memory. Used for the GPU rows of
docs/performance.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
import transformers

from cds.model.recipe import load_recipe
from cds.model.train_sft import train_sft


def count_tokens() -> list[int]:
    """Make every Trainer count the non-padding tokens of each micro-batch it trains on."""
    counted: list[int] = []
    training_step = transformers.Trainer.training_step

    def counting_step(self, model, inputs, *args, **kwargs):
        counted.append(int(inputs["attention_mask"].sum()))
        return training_step(self, model, inputs, *args, **kwargs)

    transformers.Trainer.training_step = counting_step
    return counted


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    counted = count_tokens()
    recipe = load_recipe(Path(sys.argv[1]))
    start = time.perf_counter()
    meta = train_sft(recipe, show_progress=True)
    metrics = meta["metrics"]
    cuda = torch.cuda.is_available()
    tokens = sum(counted)
    result = {
        "recipe": sys.argv[1],
        "wall_seconds": time.perf_counter() - start,
        "tokens": tokens,
        "tokens_per_second": tokens / metrics["train_runtime"] if tokens else None,
        "gpu_peak_allocated_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        "gpu_peak_reserved_mib": torch.cuda.max_memory_reserved() / 2**20 if cuda else None,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "records": meta["records"],
        "data_hash": meta["data_hash"],
        "base_hash": meta["base_hash"],
        "metrics": metrics,
        "packages": meta["packages"] | {"torch_cuda": torch.version.cuda},
    }
    Path(sys.argv[2]).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
