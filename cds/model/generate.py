"""Schema-constrained generation: the model can only write JSON of `output_model` (conditions
and line numbers are enums; the conditions are the whole configured list, or a note's
`candidate_conditions` from retrieval), decoded with outlines' JSON-schema logits processing on
transformers (CPU or GPU). The text is then re-validated with pydantic and turned into a
`Differential` (ICD-10 codes from the condition list; ranked; de-duplicated). A generation that
ends before the JSON closes (token budget) raises `GenerationError`: the caller fails closed.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from cds.errors import CdsError
from cds.model.loading import load_base, load_tokenizer
from cds.model.prompt import Candidates, messages, output_model, to_differential
from cds.schemas import Differential, Note

MAX_NEW_TOKENS = 640  # 5 items of at most ~110 tokens each, and the braces
CACHED_DECODERS = 32  # compiled constrained decoders kept (one per line count and condition set)


class GenerationError(CdsError):
    """The model's answer could not be parsed into the schema (never quotes the answer)."""

    exit_code = 3


@dataclass(frozen=True)
class Generated:
    differential: Differential
    raw_json: str
    new_tokens: int
    seconds: float


class DifferentialGenerator:
    """Load once, generate many. `adapter` is a PEFT adapter directory (or None: base model)."""

    def __init__(
        self,
        base_model: Path,
        conditions: dict[str, str],
        adapter: Path | None = None,
        four_bit: bool = False,
        max_new_tokens: int = MAX_NEW_TOKENS,
    ):
        import outlines

        self.tokenizer = load_tokenizer(base_model)
        model = load_base(base_model, four_bit=four_bit)
        if adapter is not None:
            from peft import PeftModel

            if not (adapter / "adapter_config.json").exists():
                raise GenerationError(f"{adapter}: no adapter here (run `cds train sft`)")
            model = PeftModel.from_pretrained(model, adapter)
        model.eval()
        self.model = outlines.from_transformers(model, self.tokenizer)
        self.conditions = conditions  # name -> ICD-10
        self.max_new_tokens = max_new_tokens
        self._generators: OrderedDict[tuple[int, tuple[str, ...]], tuple] = OrderedDict()

    def _generator(self, line_count: int, conditions: tuple[str, ...]):
        import outlines

        key = (line_count, conditions)
        if key not in self._generators:
            from outlines.types import JsonSchema

            schema = output_model(conditions, line_count)
            # At most one space between tokens: free whitespace would let a weak model spend
            # its whole token budget on blanks.
            json_type = JsonSchema(schema, whitespace_pattern=r"[ ]?")
            self._generators[key] = (schema, outlines.Generator(self.model, json_type))
            if len(self._generators) > CACHED_DECODERS:
                self._generators.popitem(last=False)
        self._generators.move_to_end(key)
        return self._generators[key]

    def prompt(self, chat: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)

    def generate(
        self,
        note: Note,
        passages=(),
        chat: list[dict[str, str]] | None = None,
        candidates: Sequence[str] = (),
        candidate_probabilities: Mapping[str, float] | None = None,
    ) -> Generated:
        """`chat` replaces the default prompt (system + numbered note + passages + candidates),
        e.g. to replay exactly the prompt of a dataset record. `candidates` (names from the
        condition list, best first) narrows the conditions the model may write and is listed in
        the prompt, with the ranker's `candidate_probabilities` when there are any; empty means
        the whole list."""
        import torch

        unknown = [c for c in candidates if c not in self.conditions]
        if unknown:
            raise GenerationError(f"{len(unknown)} candidate condition(s) not in the list")
        allowed = tuple(sorted(set(candidates) or self.conditions))
        # The clock includes building the constrained decoder (once per note length and
        # candidate set): that is generation cost, not the rails'.
        start = time.perf_counter()
        schema, generator = self._generator(note.line_count, allowed)
        with torch.inference_mode():
            text = generator(
                self.prompt(
                    chat or messages(note, passages, listed(candidates, candidate_probabilities))
                ),
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
            )
        seconds = time.perf_counter() - start
        try:
            parsed = schema.model_validate_json(text)
            differential = to_differential(parsed, self.conditions, note.line_count)
        except (ValidationError, ValueError, KeyError) as e:
            raise GenerationError(
                f"note {note.id}: model output is not a valid differential ({type(e).__name__})"
            ) from None
        tokens = len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return Generated(differential, json.dumps(json.loads(text)), tokens, seconds)


def candidate_conditions(
    passages: Iterable, conditions: dict[str, str], limit: int
) -> tuple[str, ...]:
    """The first `limit` distinct conditions of retrieved `passages` (best first) that are on
    the configured list: what the model may choose from for this note. Every candidate then
    has a vetted KB passage behind it. Empty when no passage names a listed condition (the
    caller falls back to the whole list)."""
    out: list[str] = []
    for p in passages:
        if p.condition in conditions and p.condition not in out:
            out.append(p.condition)
            if len(out) == limit:
                break
    return tuple(out)


def choose_candidates(
    ranked: Mapping[str, float],
    passages: Iterable,
    conditions: dict[str, str],
    limit: int,
    min_probability: float,
) -> tuple[tuple[str, ...], str]:
    """The conditions the model may write for a note, best first, and who proposed them: the
    ranker's `limit` most probable (`ranked`: condition -> probability, most probable first)
    when its best reaches `min_probability`, then, up to `limit`, the conditions of the
    retrieved `passages` (all of them when the ranker was unsure or knows fewer conditions: a
    corpus of one condition). `cds suggest` and the training prompts choose the same way."""
    chosen: tuple[str, ...] = ()
    if limit and max(ranked.values(), default=0.0) >= min_probability:
        chosen = tuple(c for c in ranked if c in conditions)[:limit]
    source = "ranker" if chosen else "retrieval"
    if limit and len(chosen) < limit:
        retrieved = candidate_conditions(passages, conditions, limit)
        chosen = (chosen + tuple(c for c in retrieved if c not in chosen))[:limit]
    return chosen, source


def listed(
    candidates: Sequence[str], probabilities: Mapping[str, float] | None = None
) -> Candidates:
    """Candidates as the prompt lists them: with the ranker's probability when a ranker ran."""
    return [(c, None if not probabilities else probabilities.get(c, 0.0)) for c in candidates]


@lru_cache(maxsize=1)
def condition_codes(ddxplus_dir: Path) -> dict[str, str]:
    """The configured condition list: DDXPlus condition name -> ICD-10 code."""
    from cds.corpus.ddxplus import load_knowledge

    kb = load_knowledge(ddxplus_dir)
    return {name: kb.icd10(name) for name in kb.conditions}
