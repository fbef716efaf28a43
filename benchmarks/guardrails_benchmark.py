"""Guardrail and retrieval overhead: `suggest` wall time vs the generation inside it, and vs
bare generation (same model, same de-identified note, no rails, no retrieval), per note.

Usage: python benchmarks/guardrails_benchmark.py [--notes 20] [--out FILE.json]
Needs `dvc repro` outputs (adapter, KB index, guardrail classifiers, calibration).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from cds.corpus import read_corpus, spread
from cds.pipeline import ListSink, load_suggester
from cds.schemas import Note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notes", type=int, default=20)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/guardrails.json"))
    args = parser.parse_args()
    records = spread(read_corpus(Path("data/deid/notes.jsonl"), "test"), args.notes)
    sink = ListSink()
    suggester = load_suggester(args.params, sink)
    suggester.suggest(records[0].note.text)  # warm-up: loads every model once
    per_note = []
    for r in records:
        sink.events.clear()
        start = time.perf_counter()
        s = suggester.suggest(r.note.text)
        total = time.perf_counter() - start
        gen = sum(e[2]["seconds"] for e in sink.events if e[0] == "model_output")
        start = time.perf_counter()
        suggester.generator.generate(Note.from_text("bare", "bare", r.note.text))
        bare = time.perf_counter() - start
        per_note.append({"route": s.route, "suggest_s": total, "generation_s": gen, "bare_s": bare})
    overhead = [(n["suggest_s"] - n["generation_s"]) / n["suggest_s"] for n in per_note]
    result = {
        "notes": len(per_note),
        "suggest_s_median": round(statistics.median(n["suggest_s"] for n in per_note), 3),
        "generation_in_suggest_s_median": round(
            statistics.median(n["generation_s"] for n in per_note), 3
        ),
        "bare_generation_s_median": round(statistics.median(n["bare_s"] for n in per_note), 3),
        "rails_and_retrieval_s_median": round(
            statistics.median(n["suggest_s"] - n["generation_s"] for n in per_note), 3
        ),
        "rails_and_retrieval_share_median": round(statistics.median(overhead), 4),
        "rails_and_retrieval_share_max": round(max(overhead), 4),
        "routes": {
            k: sum(n["route"] == k for n in per_note)
            for k in ("auto", "review", "blocked", "crisis")
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
