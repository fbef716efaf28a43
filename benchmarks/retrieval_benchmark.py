"""Retrieval benchmark: `cds kb eval --json` on PubMedQA and on the demo notes.

Usage: python benchmarks/retrieval_benchmark.py [--out benchmarks/results/retrieval.json]
Needs the `kb` stage's outputs (`dvc repro kb`) and the de-identified demo corpus. Each set runs
`--repeats` times (default 3); quality numbers are identical across repeats, latencies are
reported as the median of the runs' p50/p95 with their spread. The notes are measured on the
validation split (where the fusion weight was chosen) and on the held-out test split.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

SETS = {
    "pubmedqa": ["--pubmedqa", "data/external/pubmedqa-pqal/ori_pqal.json"],
    "notes_validation": ["--notes", "data/deid/notes.jsonl", "--split", "validation"],
    "notes_test": ["--notes", "data/deid/notes.jsonl", "--split", "test"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/retrieval.json"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cds = [sys.executable, "-m", "cds.cli.__main__", "kb", "eval", "--json"]
    results = {}
    for name, extra in SETS.items():
        runs = [
            json.loads(
                subprocess.run([*cds, *extra], capture_output=True, text=True, check=True).stdout
            )
            for _ in range(args.repeats)
        ]
        best = runs[-1]
        for key in ("p50_ms", "p95_ms", "index_build_s"):
            values = [r[key] for r in runs if r.get(key) is not None]
            if values:
                best[f"{key}_median"] = statistics.median(values)
                best[f"{key}_spread"] = [min(values), max(values)]
        results[name] = best
        print(
            f"{name}: n={best['n']} R@1 {best['recall_at_1']:.3f} R@5 {best['recall_at_5']:.3f} "
            f"R@10 {best['recall_at_10']:.3f} MRR {best['mrr']:.3f} "
            f"p50 {best['p50_ms_median']:.1f} ms p95 {best['p95_ms_median']:.1f} ms"
        )
    stats_file = Path("data/kb/kb_stats.json")
    kb_stats = json.loads(stats_file.read_text()) if stats_file.exists() else None
    machine = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out = {"machine": machine, "kb_build": kb_stats, "sets": results}
    args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
