"""Top-1/top-5 and schema-valid rate of generated differentials on the demo test split.

Usage: python benchmarks/model_quality.py [--limit 30] [--adapter artifacts/adapter/sft ...]
Each model (the base without fine-tuning, then each adapter) generates a constrained
differential for `--limit` test notes spread over the conditions (`cds.corpus.spread`), with
the prompts of the dataset stage (retrieved passages included). top-k: the gold pathology is
among the first k items.
Each note's conditions are narrowed to the candidates its dataset prompt lists (chosen as
`cds suggest` chooses them, `cds.model.generate.choose_candidates`); a record without any lets
the model choose from the whole list. With `--candidates K` they are instead the first K
distinct conditions of its top `--candidate-pool` retrieved passages
(`cds.model.generate.candidate_conditions`).
A generation that fails to parse counts as schema-invalid and as a miss.
Writes benchmarks/results/model_quality.json (or `--out`).
(The full evaluation with confidence intervals is `cds eval`, a later stage.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from pathlib import Path

from cds.config import load_section
from cds.corpus.build import read_corpus, spread
from cds.model.dataset import DatasetConfig, load_retriever
from cds.model.generate import (
    DifferentialGenerator,
    GenerationError,
    candidate_conditions,
    condition_codes,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--notes", type=Path, default=Path("data/deid/notes.jsonl"))
    parser.add_argument("--adapter", type=Path, action="append", default=[])
    parser.add_argument("--no-base", action="store_true", help="Skip the base model.")
    parser.add_argument("--candidates", type=int, default=0, help="0: the whole list")
    parser.add_argument("--candidate-pool", type=int, default=20)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/model_quality.json"))
    args = parser.parse_args()
    adapters = args.adapter or [Path("artifacts/adapter/sft")]
    records = spread(read_corpus(args.notes, split="test"), args.limit)
    codes = condition_codes(Path("data/external/ddxplus"))
    sft_rows = {
        json.loads(line)["note_id"]: json.loads(line)
        for line in Path("data/sft/sft_test.jsonl").read_text().splitlines()
    }
    candidates: dict[str, tuple[str, ...]] = {}
    if args.candidates:
        retriever = load_retriever(load_section(args.params, "dataset", DatasetConfig))
        for r in records:
            pool = retriever.retrieve(r.note, k=args.candidate_pool)
            candidates[r.note.id] = candidate_conditions(pool, codes, args.candidates)
    results = {}
    for adapter in ([] if args.no_base else [None]) + adapters:
        name = "base" if adapter is None else str(adapter)
        generator = DifferentialGenerator(Path("artifacts/base"), codes, adapter)
        top1 = top5 = valid = 0
        seconds, tokens = [], []
        for r in records:
            row = sft_rows.get(r.note.id)
            try:
                out = generator.generate(
                    r.note,
                    chat=row["prompt"] if row else None,
                    candidates=candidates.get(
                        r.note.id, tuple(row.get("candidates", ())) if row else ()
                    ),
                )
            except GenerationError:
                continue
            valid += 1
            seconds.append(out.seconds)
            tokens.append(out.new_tokens)
            names = [i.condition for i in out.differential.items]
            top1 += names[:1] == [r.pathology]
            top5 += r.pathology in names[:5]
        n = len(records)
        results[name] = {
            "n": n,
            "schema_valid_rate": valid / n,
            "top1": top1 / n,
            "top5": top5 / n,
            "median_seconds_per_note": statistics.median(seconds) if seconds else None,
            "median_new_tokens": statistics.median(tokens) if tokens else None,
        }
        print(name, results[name], flush=True)
    machine = {"platform": platform.platform(), "cpus": os.cpu_count()}
    setting = {"candidates": args.candidates, "candidate_pool": args.candidate_pool}
    args.out.write_text(
        json.dumps({"machine": machine, "setting": setting, "models": results}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
