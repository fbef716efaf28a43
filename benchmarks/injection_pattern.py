"""How often the fixed injection pattern (`cds.guardrails.input_rails.INJECTION_PATTERN`) fires:
on BIPIA's attacks (training and dev categories apart) and on the repo's benign texts (KB
documents, de-identified demo notes, MedQuAD questions and answers, PhysioNet nursing notes).
`matched` counts texts the whole pattern flags; `steering` those flagged by its output-steering
clauses ("in your response", "modify your answer"). Only counts are written.

Usage: python benchmarks/injection_pattern.py [--out FILE.json]
Needs `dvc repro` outputs (data/kb/documents.jsonl, data/deid/notes.jsonl).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from cds.guardrails import sources
from cds.guardrails.input_rails import _OUTPUT, INJECTION_PATTERN

EXTERNAL = Path("data/external")
STEERING_END = re.compile(rf"\byour {_OUTPUT}$", re.IGNORECASE)


def counts(texts: list[str]) -> dict[str, int]:
    matches = [[m.group(0) for m in INJECTION_PATTERN.finditer(t)] for t in texts]
    return {"n": len(texts), "matched": sum(bool(m) for m in matches),
            "steering": sum(any(STEERING_END.search(x) for x in m) for m in matches)}


def benign_texts() -> dict[str, list[str]]:
    medquad = EXTERNAL / "medquad" / "medquad_qa_collections_1-9.jsonl.gz"
    records = sources.read_jsonl(medquad)
    return {
        "kb_documents": [json.loads(line)["text"]
                         for line in Path("data/kb/documents.jsonl").read_text().splitlines()],
        "demo_notes": sources.corpus_notes(Path("data/deid/notes.jsonl"), "train"),
        "medquad_questions": [r["question"] for r in records if r.get("question")],
        "medquad_answers": [r["answer"] for r in records if r.get("answer")],
        "physionet_notes": sources.physionet_notes(
            EXTERNAL / "physionet-deid" / "deid_nursing_notes.jsonl", 100_000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path,
                        default=Path("benchmarks/results/injection_pattern.json"))
    args = parser.parse_args()
    bipia = EXTERNAL / "bipia" / "text_attack_train.json"
    attacks = {part: sources.bipia_attacks(bipia, part) for part in ("train", "dev")}
    report = {
        "attacks": {part: counts([t for _, t in a]) for part, a in attacks.items()},
        "benign": {name: counts(texts) for name, texts in benign_texts().items()},
    }
    report["benign_total"] = {k: sum(v[k] for v in report["benign"].values())
                              for k in ("n", "matched", "steering")}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
