"""Training step time and peak memory, SFT (QLoRA) and DPO, at the demo recipes' settings.

Usage: python benchmarks/training_benchmark.py [--steps 4] [--out benchmarks/results/training.json]
Each run is a child process (so its peak resident memory is measured alone) training `--steps`
optimizer steps of `recipes/sft_demo.yaml` / `recipes/dpo_demo.yaml` with one sequence per step,
into a scratch directory. Reports seconds per step (median over steps after the first, which
includes warm-up), tokens per second and peak RSS. On a CUDA machine it also records peak GPU
memory. Needs `artifacts/base`, `data/sft/*` and (for DPO) `artifacts/adapter/sft`.
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
times = []
class Timer(TrainerCallback):
    def on_step_begin(self, args, state, control, **kw): self.t = time.perf_counter()
    def on_step_end(self, args, state, control, **kw): times.append(time.perf_counter() - self.t)
import transformers
orig = transformers.Trainer.__init__
def init(self, *a, **kw):
    orig(self, *a, **kw); self.add_callback(Timer())
transformers.Trainer.__init__ = init
if recipe.stage == "sft":
    meta = sft_mod.train_sft(recipe, show_progress=False)
else:
    from cds.model.train_dpo import train_dpo
    meta = train_dpo(recipe, show_progress=False)
import resource
gpu = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"step_seconds": times, "metrics": meta["metrics"], "gpu_peak_mib": gpu,
                  "peak_rss_mib": rss}))
"""


def run(recipe: str, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, recipe, str(steps), out],
            capture_output=True,
            text=True,
            check=True,
        )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    times = result["step_seconds"]
    steady = sorted(times[1:] or times)
    result["median_step_seconds"] = steady[len(steady) // 2]
    tokens = result["metrics"].get("num_tokens") or result["metrics"].get("total_flos")
    result["tokens_seen"] = tokens
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
        print(
            f"{name}: {r['median_step_seconds']:.1f} s/step, peak RSS {r['peak_rss_mib']:.0f} MiB"
        )
    machine = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    args.out.write_text(json.dumps({"machine": machine, "runs": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
