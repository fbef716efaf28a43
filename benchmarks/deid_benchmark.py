"""De-identification benchmark: `cds deid eval --baseline --json` on every labelled set.

Usage: python benchmarks/deid_benchmark.py [--out benchmarks/results/deid.json]
Runs each set once per repeat (default 3) and records the median notes/s and its spread,
with the machine it ran on.
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
    "physionet_nursing_notes": "data/external/physionet-deid/deid_nursing_notes.jsonl",
    "presidio_synth_pii": "data/external/presidio-synth-pii/synth_dataset_v2.json",
    "demo_corpus": "data/raw/notes.jsonl",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/deid.json"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cds = [sys.executable, "-m", "cds.cli.__main__"]
    results = {}
    for name, path in SETS.items():
        if not Path(path).exists():
            print(f"skip {name}: {path} missing (run `dvc repro` first)", file=sys.stderr)
            continue
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run(
                [*cds, "deid", "eval", path, "--json", "--baseline"],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(out.stdout))
        best = runs[-1]
        speeds = [r["notes_per_s"] for r in runs]
        base_speeds = [r["baseline"]["notes_per_s"] for r in runs]
        best["notes_per_s_median"] = statistics.median(speeds)
        best["notes_per_s_spread"] = [min(speeds), max(speeds)]
        best["baseline"]["notes_per_s_median"] = statistics.median(base_speeds)
        results[name] = best
        print(
            f"{name}: recall {best['token_recall']:.4f} precision {best['token_precision']:.4f} "
            f"{best['notes_per_s_median']:.1f} notes/s (presidio default "
            f"{best['baseline']['token_recall']:.4f} / {best['baseline']['token_precision']:.4f} / "
            f"{best['baseline']['notes_per_s_median']:.1f} notes/s)"
        )
    machine = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "processor": platform.processor(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "sets": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
