"""The `dataset` stage: de-identified notes + gold -> SFT chat records and DPO pairs.

SFT (`prompt`/`completion` conversational records, so TRL puts the loss on the answer only):
system prompt, the numbered note and, when the KB index exists, the top retrieved passages;
the target is the gold differential in the model's output format, each item citing the note
lines that state findings the condition explains (DDXPlus evidences of that condition present
in the note), with whole-percent probabilities. Items with no such line are left out.

DPO (`prompt`/`chosen`/`rejected`): chosen = the SFT target; rejected = the same answer
corrupted in one of three ways, chosen per note by its seed: citations moved to lines that
state nothing about the condition, probabilities made overconfident (top item 99%), or the
ranking reversed. (The disclaimer is added by code, never by the model, so there is no
"missing disclaimer" corruption to learn from.)

Safety and tone pairs (`dpo_safety_train.jsonl`, `kind` safety/tone): see
`cds.model.preferences`; DPO recipes mix them in with `mix_files`.

Deterministic: the same inputs and seed give byte-identical files. Splits follow the corpus's
patient-level splits.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cds.corpus.build import read_corpus, spread
from cds.corpus.ddxplus import load_knowledge
from cds.errors import SourceDataError
from cds.model.preferences import counsel_chat_pairs, hh_rlhf_pairs, medsafetybench_pairs
from cds.model.prompt import (
    MAX_ITEMS,
    MAX_LINES_PER_ITEM,
    RATIONALE_CHARS,
    messages,
    render_output,
)
from cds.schemas import CorpusRecord, Note


class DatasetConfig(BaseModel):
    """`dataset:` section of params.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    in_file: Path = Path("data/deid/notes.jsonl")
    ddxplus_dir: Path = Path("data/external/ddxplus")
    out_dir: Path = Path("data/sft")
    kb_params: Path | None = Path("params.yaml")
    """Where the `kb:` section is; null or no built index: prompts without passages."""
    passages: int = Field(3, ge=0, le=10)
    seed: int = 1234
    max_records: int | None = Field(None, ge=1)
    """Cap per split (for quick experiments and tests)."""
    medsafetybench_file: Path | None = Path("data/external/medsafetybench/medsafetybench.jsonl")
    hh_rlhf_file: Path | None = Path(
        "data/external/hh-rlhf-harmless-test/harmless-base_test_health_selfharm_subset.jsonl"
    )
    counsel_chat_file: Path | None = Path(
        "data/external/counsel-chat/counsel_chat_upvote_pairs.jsonl"
    )


class DatasetStats(BaseModel):
    sft: dict[str, int]
    dpo: dict[str, int]
    preference_pairs: dict[str, int]
    with_passages: bool
    mean_items: float


def condition_evidences(ddxplus_dir: Path) -> dict[str, set[str]]:
    kb = load_knowledge(ddxplus_dir)
    return {name: set(c.symptoms) | set(c.antecedents) for name, c in kb.conditions.items()}


def _rationale(lines: list[int], condition: str) -> str:
    text = f"Lines {', '.join(map(str, lines))} fit {condition}."
    return text if len(text) <= RATIONALE_CHARS else text[: RATIONALE_CHARS - 1] + "."


def target_items(record: CorpusRecord, evidences: dict[str, set[str]]) -> list[dict]:
    items = []
    total = 0
    for gold in record.differential[: MAX_ITEMS * 2]:
        codes = evidences.get(gold.condition, set())
        lines = sorted(
            {ln for code, lns in record.evidence_lines.items() if code in codes for ln in lns}
        )[:MAX_LINES_PER_ITEM]
        percent = max(1, min(99, round(gold.probability * 100)))
        if not lines or total + percent > 100:
            continue
        total += percent
        items.append(
            {
                "condition": gold.condition,
                "probability": percent,
                "rationale": _rationale(lines, gold.condition),
                "lines": lines,
            }
        )
        if len(items) == MAX_ITEMS:
            break
    return sorted(items, key=lambda i: -i["probability"])


def corrupt(items: list[dict], record: CorpusRecord, rng: random.Random) -> list[dict]:
    """A plausible but worse answer (see module docstring)."""
    kind = rng.choice(["citations", "overconfident", "ranking"])
    out = [dict(i) for i in items]
    if kind == "citations" or len(out) < 2:
        cited = {ln for i in items for ln in i["lines"]}
        free = [n for n in range(1, record.note.line_count + 1) if n not in cited] or [1]
        for i in out:
            i["lines"] = sorted(rng.sample(free, min(len(i["lines"]), len(free))))
    elif kind == "overconfident":
        out[0]["probability"] = 99
        for i in out[1:]:
            i["probability"] = 1
    else:
        probs = [i["probability"] for i in out]
        for i, p in zip(reversed(out), probs, strict=True):
            i["probability"] = p
        out = sorted(out, key=lambda i: -i["probability"])
    return out


def passages_for(retriever, note: Note, k: int) -> Sequence[tuple[str, str]]:
    if retriever is None or k == 0:
        return ()
    return [(p.passage_id, p.text) for p in retriever.retrieve(note, k=k)]


def load_retriever(cfg: DatasetConfig):
    """The KB retriever the prompts use, or None (no kb section, no index, or 0 passages)."""
    if cfg.kb_params is None or cfg.passages == 0 or not cfg.kb_params.exists():
        return None
    from cds.config import load_section
    from rag.build import KbConfig
    from rag.retrieve import Retriever

    kb = load_section(cfg.kb_params, "kb", KbConfig)
    if not (kb.index_dir / "index_meta.json").exists():
        return None
    return Retriever.load(kb.index_dir, kb.embedding_model, kb.lexical_weight)


def build_dataset(cfg: DatasetConfig, show_progress: bool = True) -> DatasetStats:
    if not cfg.in_file.exists():
        raise SourceDataError(f"{cfg.in_file}: file not found (run `cds deid run` first)")
    records = read_corpus(cfg.in_file)
    evidences = condition_evidences(cfg.ddxplus_dir)
    retriever = load_retriever(cfg)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    sft_counts: dict[str, int] = {}
    dpo_counts: dict[str, int] = {}
    n_items = []
    from rich.progress import track

    for split in ("train", "validation", "test"):
        chosen_records = spread([r for r in records if r.split == split], cfg.max_records)
        sft_lines, dpo_lines = [], []
        for record in track(
            chosen_records, description=f"dataset {split}", disable=not show_progress
        ):
            items = target_items(record, evidences)
            if not items:
                continue
            n_items.append(len(items))
            prompt = messages(record.note, passages_for(retriever, record.note, cfg.passages))
            answer = render_output(items)
            meta = {"note_id": record.note.id, "patient_id": record.note.patient_id}
            sft_lines.append(
                {**meta, "prompt": prompt, "completion": [{"role": "assistant", "content": answer}]}
            )
            rng = random.Random(f"{cfg.seed}:{record.note.id}")
            rejected = render_output(corrupt(items, record, rng))
            if rejected != answer:
                dpo_lines.append(
                    {
                        **meta,
                        "kind": "ddx",
                        "prompt": prompt,
                        "chosen": [{"role": "assistant", "content": answer}],
                        "rejected": [{"role": "assistant", "content": rejected}],
                    }
                )
        _write_jsonl(cfg.out_dir / f"sft_{split}.jsonl", sft_lines)
        _write_jsonl(cfg.out_dir / f"dpo_{split}.jsonl", dpo_lines)
        sft_counts[split] = len(sft_lines)
        dpo_counts[split] = len(dpo_lines)
    preference = preference_pairs(cfg)
    _write_jsonl(cfg.out_dir / "dpo_safety_train.jsonl", preference)
    stats = DatasetStats(
        sft=sft_counts,
        dpo=dpo_counts,
        preference_pairs=dict(sorted(Counter(p["source"] for p in preference).items())),
        with_passages=retriever is not None,
        mean_items=round(sum(n_items) / max(1, len(n_items)), 3),
    )
    (cfg.out_dir / "dataset_stats.json").write_text(json.dumps(stats.model_dump(), indent=2) + "\n")
    return stats


def preference_pairs(cfg: DatasetConfig) -> list[dict]:
    """Safety and tone pairs (see `cds.model.preferences`), in a seeded order."""
    pairs: list[dict] = []
    if cfg.medsafetybench_file is not None:
        pairs += medsafetybench_pairs(cfg.medsafetybench_file)
    if cfg.hh_rlhf_file is not None:
        pairs += hh_rlhf_pairs(cfg.hh_rlhf_file)
    if cfg.counsel_chat_file is not None:
        pairs += counsel_chat_pairs(cfg.counsel_chat_file)
    random.Random(cfg.seed).shuffle(pairs)
    return pairs


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
