"""Optional safety-penalised SFT: L = L_task + lambda * L_unlikelihood.

The unlikelihood term (Welleck et al. 2020) pushes down the probability of every token of an
unsafe continuation: -mean log(1 - p(token)). Unsafe continuations are the rejected answers of
the safety pairs (`dpo_safety_train.jsonl`, `kind: safety`), after their own prompt. Off unless
the recipe sets `safety_lambda > 0`.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import torch
from trl import SFTTrainer


def unlikelihood_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean of -log(1 - p) over the labelled tokens (labels -100 are ignored; next-token
    shift as in causal LM training)."""
    logits, labels = logits[:, :-1, :], labels[:, 1:]
    mask = labels != -100
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    p = log_probs.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1).exp()
    penalty = -torch.log1p(-p.clamp(max=1 - 1e-6))
    return (penalty * mask).sum() / mask.sum().clamp(min=1)


def unsafe_examples(path: Path, tokenizer, max_length: int, limit: int | None) -> list[dict]:
    """Tokenised (prompt + unsafe answer) sequences with labels on the answer only."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        pair = json.loads(line)
        if pair.get("kind") != "safety":
            continue
        prompt = tokenizer.apply_chat_template(
            pair["prompt"], tokenize=False, add_generation_prompt=True
        )
        answer = pair["rejected"][0]["content"] + (tokenizer.eos_token or "")
        p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        a_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
        ids = (p_ids + a_ids)[-max_length:]
        n_answer = min(len(a_ids), len(ids))
        labels = [-100] * (len(ids) - n_answer) + ids[len(ids) - n_answer :]
        out.append({"input_ids": torch.tensor([ids]), "labels": torch.tensor([labels])})
        if limit is not None and len(out) >= limit:
            break
    return out


class SafetyPenalisedSFTTrainer(SFTTrainer):
    """SFTTrainer whose loss adds lambda times the unlikelihood of one unsafe example per step."""

    def __init__(self, *args, unsafe: list[dict], safety_lambda: float, **kwargs):
        super().__init__(*args, **kwargs)
        if not unsafe:
            raise ValueError("safety_lambda > 0 needs unsafe examples")
        self._unsafe = itertools.cycle(unsafe)
        self.safety_lambda = safety_lambda
        self.safety_terms: list[float] = []

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        result = super().compute_loss(model, inputs, True, num_items_in_batch)
        loss, outputs = result
        example = next(self._unsafe)
        device = loss.device
        logits = model(input_ids=example["input_ids"].to(device)).logits
        term = unlikelihood_loss(logits, example["labels"].to(device))
        self.safety_terms.append(float(term.detach()))
        total = loss + self.safety_lambda * term
        return (total, outputs) if return_outputs else total
