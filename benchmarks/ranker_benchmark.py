"""The condition ranker on the held-out splits, with a learning curve and its speed.

Fits `cds.model.ranker` with the `ranker:` settings of params.yaml on a growing share of the
training split's notes (the corpus is split by patient, so no patient is on both sides) and
scores top-1, top-5, MRR and log loss on the validation and test splits; counts the held-out
notes whose top probability is under `suggest.ranker_min_probability` (they take retrieval's
candidates); times `ConditionRanker.rank` per note. Nothing is saved but the results.

Usage: python benchmarks/ranker_benchmark.py [--notes data/deid/notes.jsonl]
       [--params params.yaml] [--out benchmarks/results/ranker.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from cds.config import load_section
from cds.corpus import read_corpus, spread
from cds.model.ranker import RankerConfig, fit_ranker, ranking_metrics
from cds.pipeline import SuggestConfig

SHARES = (0.1, 0.25, 0.5, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notes", type=Path, default=None, help="default: ranker.notes_file")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ranker.json"))
    args = parser.parse_args()
    cfg = load_section(args.params, "ranker", RankerConfig)
    notes = args.notes or cfg.notes_file
    train = read_corpus(notes, cfg.train_split)
    held_out = {split: read_corpus(notes, split) for split in ("validation", "test")}
    curve = []
    for share in SHARES:
        # `spread` is a fixed pseudo-random order over notes, so every share mixes conditions
        rows = spread(train, max(2, round(share * len(train))))
        started = time.perf_counter()
        ranker = fit_ranker([r.note.text for r in rows], [r.pathology for r in rows], cfg)
        fit_seconds = time.perf_counter() - started
        curve.append(
            {
                "train_notes": len(rows),
                "fit_seconds": round(fit_seconds, 2),
                **{
                    split: ranking_metrics(
                        ranker, [r.note.text for r in rs], [r.pathology for r in rs]
                    )
                    for split, rs in held_out.items()
                },
            }
        )
        print(json.dumps(curve[-1]))
    # notes the pipeline would hand to retrieval instead (top probability under the floor)
    floor = load_section(args.params, "suggest", SuggestConfig).ranker_min_probability
    under_floor = {
        split: int((ranker.probabilities([r.note.text for r in rs]).max(axis=1) < floor).sum())
        for split, rs in held_out.items()
    }
    texts = [r.note.text for r in held_out["test"]]
    timings = []
    for text in texts:
        started = time.perf_counter()
        ranker.rank(text)
        timings.append((time.perf_counter() - started) * 1000)
    result = {
        "notes_file": str(notes),
        "config": cfg.model_dump(mode="json"),
        "learning_curve": curve,
        "ranker_min_probability": floor,
        "notes_under_floor": under_floor,
        "rank_ms_per_note": {
            "p50": round(statistics.median(timings), 3),
            "p95": round(sorted(timings)[int(0.95 * (len(timings) - 1))], 3),
            "n": len(timings),
        },
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=2))


if __name__ == "__main__":
    main()
