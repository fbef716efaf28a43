"""The `dataset` stage: de-identified notes + gold -> SFT chat records and DPO pairs.

SFT (`prompt`/`completion` conversational records, so TRL puts the loss on the answer only):
system prompt, the numbered note, when the KB index exists the top retrieved passages, and,
when a condition ranker is configured (`suggest_params`), the candidate conditions `cds suggest`
would give the model, chosen the same way (`cds.model.generate.choose_candidates`). The target
is the gold differential in the model's output format with the confirmed diagnosis first (the
DDXPlus differential puts it first for only about three patients in four; its probabilities keep
their descending order), restricted to the candidates when there are any (the decoder allows
no other condition), each item citing the note lines that state findings the condition explains
(DDXPlus evidences of that condition present in the note), with whole-percent probabilities.
Items with no such line are left out.

Training notes get their candidates from a ranker that never saw them: the training split is cut
into `ranker_folds` folds by patient and each fold is ranked by a ranker fitted on the others
(cross-fitting). A ranker fitted on all of them would rank its own training notes almost
perfectly, and the model would learn to copy a first candidate that is right far more often
than it is on new notes. Validation and test notes are ranked by the `ranker` stage's ranker.

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

import hashlib
import json
import random
from collections import Counter
from collections.abc import Collection, Sequence
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
    suggest_params: Path | None = Path("params.yaml")
    """Where the `suggest:` and `ranker:` sections are: the prompts list the candidates `cds
    suggest` would; null, or a `suggest:` section without a ranker: no candidates listed."""
    ranker_folds: int = Field(5, ge=2, le=20)


class DatasetStats(BaseModel):
    sft: dict[str, int]
    dpo: dict[str, int]
    preference_pairs: dict[str, int]
    with_passages: bool
    with_candidates: bool
    gold_among_candidates: dict[str, float]
    """Per split, the share of records whose confirmed diagnosis is one of the candidates."""
    mean_items: float


def condition_evidences(ddxplus_dir: Path) -> dict[str, set[str]]:
    kb = load_knowledge(ddxplus_dir)
    return {name: set(c.symptoms) | set(c.antecedents) for name, c in kb.conditions.items()}


def _rationale(lines: list[int], condition: str) -> str:
    text = f"Lines {', '.join(map(str, lines))} fit {condition}."
    return text if len(text) <= RATIONALE_CHARS else text[: RATIONALE_CHARS - 1] + "."


def gold_ranking(record: CorpusRecord) -> list[tuple[str, float]]:
    """The gold differential with the confirmed diagnosis first and the others in their order;
    the probabilities keep their descending order by place (the diagnosis takes the largest)."""
    ordered = sorted(record.differential, key=lambda g: -g.probability)
    names = [g.condition for g in ordered if g.condition != record.pathology]
    probabilities = [g.probability for g in ordered]
    if len(probabilities) == len(names):  # the diagnosis was not in the differential
        probabilities.insert(0, probabilities[0] if probabilities else 1.0)
    return list(zip([record.pathology, *names], probabilities, strict=True))


def target_items(
    record: CorpusRecord,
    evidences: dict[str, set[str]],
    allowed: Collection[str] | None = None,
) -> list[dict]:
    """The answer the model is trained to write; `allowed`: the note's candidates (None: any)."""
    items = []
    total = 0
    ranking = [(c, p) for c, p in gold_ranking(record) if allowed is None or c in allowed]
    for condition, probability in ranking[: MAX_ITEMS * 2]:
        codes = evidences.get(condition, set())
        lines = sorted(
            {ln for code, lns in record.evidence_lines.items() if code in codes for ln in lns}
        )[:MAX_LINES_PER_ITEM]
        percent = max(1, min(99, round(probability * 100)))
        if not lines or total + percent > 100:
            continue
        total += percent
        items.append(
            {
                "condition": condition,
                "probability": percent,
                "rationale": _rationale(lines, condition),
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


class CandidateSource:
    """The candidates of each note's prompt, chosen as `cds suggest` chooses them (see the
    module docstring for the cross-fitted rankers of the training notes)."""

    def __init__(self, cfg: DatasetConfig, records: Sequence[CorpusRecord], conditions: dict):
        from cds.config import load_section
        from cds.model.ranker import ConditionRanker, RankerConfig, fit_ranker
        from cds.pipeline import SuggestConfig

        self.suggest = load_section(cfg.suggest_params, "suggest", SuggestConfig)
        ranker_cfg = load_section(cfg.suggest_params, "ranker", RankerConfig)
        self.conditions = conditions
        self.fold_of = lambda r: int(hashlib.sha256(r.note.patient_id.encode()).hexdigest(), 16)
        self.folds = cfg.ranker_folds
        self.ranker = ConditionRanker.load(self.suggest.ranker)
        train = [
            r for r in records if r.split == ranker_cfg.train_split and r.pathology in conditions
        ]
        self.train_split = ranker_cfg.train_split
        self.fold_rankers = {}
        for fold in range(self.folds):
            others = [r for r in train if self.fold_of(r) % self.folds != fold]
            if others:
                self.fold_rankers[fold] = fit_ranker(
                    [r.note.text for r in others], [r.pathology for r in others], ranker_cfg
                )

    def ranked(self, record: CorpusRecord) -> dict[str, float]:
        ranker = self.ranker
        if record.split == self.train_split:
            ranker = self.fold_rankers.get(self.fold_of(record) % self.folds, ranker)
        return {c: p for c, p in ranker.rank(record.note.text) if c in self.conditions}

    def candidates(self, record: CorpusRecord, retriever) -> tuple[tuple[str, ...], dict]:
        from cds.model.generate import choose_candidates

        ranked = self.ranked(record)
        k = self.suggest.candidate_pool
        pool = [] if retriever is None else retriever.retrieve(record.note, k=k)
        chosen, _ = choose_candidates(
            ranked,
            pool,
            self.conditions,
            self.suggest.candidates,
            self.suggest.ranker_min_probability,
        )
        return chosen, ranked


def load_candidate_source(
    cfg: DatasetConfig, records: Sequence[CorpusRecord], conditions: dict
) -> CandidateSource | None:
    if cfg.suggest_params is None or not cfg.suggest_params.exists():
        return None
    from cds.config import load_section
    from cds.pipeline import SuggestConfig

    suggest = load_section(cfg.suggest_params, "suggest", SuggestConfig, missing_ok=True)
    if suggest.ranker is None or suggest.candidates == 0:
        return None
    return CandidateSource(cfg, records, conditions)


def build_dataset(cfg: DatasetConfig, show_progress: bool = True) -> DatasetStats:
    if not cfg.in_file.exists():
        raise SourceDataError(f"{cfg.in_file}: file not found (run `cds deid run` first)")
    records = read_corpus(cfg.in_file)
    evidences = condition_evidences(cfg.ddxplus_dir)
    retriever = load_retriever(cfg)
    from cds.model.generate import condition_codes, listed

    candidate_source = load_candidate_source(cfg, records, condition_codes(cfg.ddxplus_dir))
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    sft_counts: dict[str, int] = {}
    dpo_counts: dict[str, int] = {}
    gold_among: dict[str, float] = {}
    n_items = []
    from rich.progress import track

    for split in ("train", "validation", "test"):
        chosen_records = spread([r for r in records if r.split == split], cfg.max_records)
        sft_lines, dpo_lines = [], []
        hits = 0
        for record in track(
            chosen_records, description=f"dataset {split}", disable=not show_progress
        ):
            candidates, ranked = (), {}
            if candidate_source is not None:
                candidates, ranked = candidate_source.candidates(record, retriever)
            hits += record.pathology in candidates
            items = target_items(record, evidences, candidates or None)
            if not items:
                continue
            n_items.append(len(items))
            prompt = messages(
                record.note,
                passages_for(retriever, record.note, cfg.passages),
                listed(candidates, ranked),
            )
            answer = render_output(items)
            meta = {
                "note_id": record.note.id,
                "patient_id": record.note.patient_id,
                "candidates": list(candidates),
            }
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
        if candidate_source is not None and chosen_records:
            gold_among[split] = round(hits / len(chosen_records), 4)
        dpo_counts[split] = len(dpo_lines)
    preference = preference_pairs(cfg)
    _write_jsonl(cfg.out_dir / "dpo_safety_train.jsonl", preference)
    stats = DatasetStats(
        sft=sft_counts,
        dpo=dpo_counts,
        preference_pairs=dict(sorted(Counter(p["source"] for p in preference).items())),
        with_passages=retriever is not None,
        with_candidates=candidate_source is not None,
        gold_among_candidates=gold_among,
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
