"""Training step time and peak memory, SFT (QLoRA) and DPO, at the demo recipes' settings.

Usage: python benchmarks/training_benchmark.py [--steps 4] [--out benchmarks/results/training.json]
Each run is a child process (so its peak resident memory is measured alone) training `--steps`
optimizer steps of `recipes/sft_demo.yaml` / `recipes/dpo_demo.yaml` with one sequence (one
preference pair for DPO) per step, into a scratch directory. Reports seconds per step (median
over steps after the first, which includes warm-up), tokens per second over the same steps
(tokens: the batch's attention-mask sum, prompt + completion; for DPO chosen and rejected
counted once each) and peak RSS. On a CUDA machine it also records peak GPU memory.
Needs `artifacts/base`, `data/sft/*` and (for DPO) `artifacts/adapter/sft`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
from pathlib import Path
import torch
from transformers import TrainerCallback
from cds.model.recipe import load_recipe
from cds.model import train_sft as sft_mod

recipe = load_recipe(Path(sys.argv[1])).model_copy(update={
    "max_steps": int(sys.argv[2]), "gradient_accumulation_steps": 1, "batch_size": 1,
    "output_dir": Path(sys.argv[3]), "save_steps": 10_000, "max_records": int(sys.argv[2]) * 2,
})
times, tokens = [], []
def sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()
class Timer(TrainerCallback):
    def on_step_begin(self, args, state, control, **kw): sync(); self.t = time.perf_counter()
    def on_step_end(self, args, state, control, **kw):
        sync(); times.append(time.perf_counter() - self.t)
def batch_tokens(inputs):
    masks = [v for k, v in inputs.items() if k.endswith("attention_mask") and hasattr(v, "sum")]
    if masks: return int(sum(int(m.sum()) for m in masks))
    return int(sum(v.numel() for k, v in inputs.items() if k.endswith("input_ids")))
import transformers
orig = transformers.Trainer.__init__
def init(self, *a, **kw):
    orig(self, *a, **kw); self.add_callback(Timer())
transformers.Trainer.__init__ = init
orig_step = transformers.Trainer.training_step
def training_step(self, model, inputs, *a, **kw):
    tokens.append(batch_tokens(inputs))
    return orig_step(self, model, inputs, *a, **kw)
transformers.Trainer.training_step = training_step
if recipe.stage == "sft":
    meta = sft_mod.train_sft(recipe, show_progress=False)
else:
    from cds.model.train_dpo import train_dpo
    meta = train_dpo(recipe, show_progress=False)
import resource
gpu = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"step_seconds": times, "step_tokens": tokens, "metrics": meta["metrics"],
                  "gpu_peak_mib": gpu, "peak_rss_mib": rss}))
"""


def run(recipe: str, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, recipe, str(steps), out],
            capture_output=True,
            text=True,
        )
    if proc.returncode != 0:
        raise SystemExit(f"{recipe}: benchmark child failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    times = result["step_seconds"]
    steady = sorted(times[1:] or times)
    result["median_step_seconds"] = steady[len(steady) // 2]
    # Tokens per second over the steps after the first (warm-up), as for the median.
    steps = len(times)
    measured = slice(1, steps) if steps > 1 else slice(0, steps)
    seconds = sum(times[measured])
    tokens = sum(result["step_tokens"][measured])
    result["tokens_per_second"] = tokens / seconds if seconds else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/training.json"))
    args = parser.parse_args()
    import torch

    results = {
        "sft_qlora": run("recipes/sft_demo.yaml", args.steps),
        "dpo_qlora": run("recipes/dpo_demo.yaml", args.steps),
    }
    for name, r in results.items():
        gpu = f", peak GPU {r['gpu_peak_mib']:.0f} MiB" if r["gpu_peak_mib"] else ""
        print(
            f"{name}: {r['median_step_seconds']:.2f} s/step, "
            f"{r['tokens_per_second']:.0f} tokens/s, peak RSS {r['peak_rss_mib']:.0f} MiB{gpu}"
        )
    machine = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
    }
    args.out.write_text(json.dumps({"machine": machine, "runs": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
