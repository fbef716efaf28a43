"""Schema-constrained generation: the model can only write JSON of `output_model` (conditions
and line numbers are enums), decoded with outlines' JSON-schema logits processing on
transformers (CPU or GPU). The text is then re-validated with pydantic and turned into a
`Differential` (ICD-10 codes from the condition list; ranked; de-duplicated). A generation that
ends before the JSON closes (token budget) raises `GenerationError`: the caller fails closed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from cds.errors import CdsError
from cds.model.loading import load_base, load_tokenizer
from cds.model.prompt import messages, output_model, to_differential
from cds.schemas import Differential, Note

MAX_NEW_TOKENS = 640  # 5 items of at most ~110 tokens each, and the braces


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
        self._generators: dict[int, object] = {}

    def _generator(self, line_count: int):
        import outlines

        if line_count not in self._generators:
            from outlines.types import JsonSchema

            schema = output_model(sorted(self.conditions), line_count)
            # At most one space between tokens: free whitespace would let a weak model spend
            # its whole token budget on blanks.
            json_type = JsonSchema(schema, whitespace_pattern=r"[ ]?")
            self._generators[line_count] = (schema, outlines.Generator(self.model, json_type))
        return self._generators[line_count]

    def prompt(self, chat: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)

    def generate(
        self, note: Note, passages=(), chat: list[dict[str, str]] | None = None
    ) -> Generated:
        """`chat` replaces the default prompt (system + numbered note + passages), e.g. to
        replay exactly the prompt of a dataset record."""
        import torch

        # The clock includes building the constrained decoder (once per note length): that is
        # generation cost, not the rails'.
        start = time.perf_counter()
        schema, generator = self._generator(note.line_count)
        with torch.inference_mode():
            text = generator(
                self.prompt(chat or messages(note, passages)),
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


@lru_cache(maxsize=1)
def condition_codes(ddxplus_dir: Path) -> dict[str, str]:
    """The configured condition list: DDXPlus condition name -> ICD-10 code."""
    from cds.corpus.ddxplus import load_knowledge

    kb = load_knowledge(ddxplus_dir)
    return {name: kb.icd10(name) for name in kb.conditions}
