"""What calibrated re-ranking does to the first item: the model's own first item, the first
item after `Calibrator.rerank` of the model's items alone, the first item when the candidates
the model left out are listed too (`Suggester.complete`, then `rerank`: what `cds suggest` shows,
before the output rails), and retrieval's first candidate alone, on notes spread over the
conditions.

Usage: python benchmarks/rerank.py [--split validation] [--limit 20] [--out FILE.json]
Needs `dvc repro` outputs (adapter, KB index, guardrail classifiers, calibration). The notes are
the de-identified corpus (`data/deid/notes.jsonl`); `cds eval` is the evaluation with intervals.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from pathlib import Path

from cds.corpus import read_corpus, spread
from cds.pipeline import load_suggester


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", default="validation")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--notes", type=Path, default=Path("data/deid/notes.jsonl"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/rerank.json"))
    args = parser.parse_args()
    suggester = load_suggester(args.params)
    if suggester.calibrator is None:
        raise SystemExit(f"no calibrator at {suggester.cfg.calibration} (run `dvc repro`)")
    rows = []
    for r in spread(read_corpus(args.notes, args.split), args.limit):
        s = suggester.screen(r.note.text, note_id=r.note.id, patient_id=r.note.patient_id)
        if s.stop is not None or s.note is None:
            continue
        generated = suggester.generate(s)
        model = [i.condition for i in generated.differential.items]
        reranked = suggester.calibrator.rerank(
            generated.differential, s.candidate_rank, s.ranker_probability
        )
        completed = suggester.complete(generated.differential, s)
        shown = suggester.calibrator.rerank(completed, s.candidate_rank, s.ranker_probability)
        shown_conditions = [i.condition for i in shown.items]
        rows.append(
            {
                "gold": r.pathology,
                "model_first": model[0] == r.pathology,
                "reranked_first": reranked.items[0].condition == r.pathology,
                "shown_first": shown_conditions[0] == r.pathology,
                "shown_in_5": r.pathology in shown_conditions[:5],
                "retrieval_first": s.candidates[:1] == (r.pathology,),
                "in_items": r.pathology in model,
                "in_candidates": r.pathology in s.candidates,
                "items": len(model),
                "seconds": generated.seconds,
            }
        )

    def rate(key: str) -> float:
        return round(sum(row[key] for row in rows) / len(rows), 3)

    result = {
        "split": args.split,
        "notes": len(rows),
        "adapter": str(suggester.cfg.adapter),
        "model_top1": rate("model_first"),
        "reranked_top1": rate("reranked_first"),
        "shown_top1": rate("shown_first"),
        "shown_top5": rate("shown_in_5"),
        "retrieval_top1": rate("retrieval_first"),
        "gold_in_items": rate("in_items"),
        "gold_in_candidates": rate("in_candidates"),
        "items_per_note": round(statistics.mean(row["items"] for row in rows), 2),
        "generation_s_median": round(statistics.median(row["seconds"] for row in rows), 2),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
