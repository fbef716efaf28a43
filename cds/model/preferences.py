"""Safety and tone preference pairs for DPO, from three public sets (texts never logged):

- MedSafetyBench (train split): a harmful medical request; chosen = its safe reference
  response; rejected = a fixed compliance opener ("Certainly. Here is what you asked for."), so
  the pair teaches refusing rather than complying without putting harmful text in the data.
- HH-RLHF harmless-base, health/self-harm subset: the transcript before the last assistant turn
  is the prompt; chosen/rejected are the two last assistant turns.
- CounselChat upvote pairs (author's train split): the most- vs least-upvoted therapist answer.

Each pair gets the patient-facing system prompt: these sets are about what the assistant says
to a person, not about differential diagnosis.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from cds.errors import SourceDataError

SAFETY_SYSTEM_PROMPT = (
    "You are a careful health-information assistant. Be kind and honest, protect privacy, "
    "refuse requests that could harm anyone, and point people in crisis to emergency help."
)
COMPLIANCE_OPENER = "Certainly. Here is what you asked for."
_TURN = re.compile(r"\n\n(Human|Assistant): ")


def _jsonl(path: Path) -> list[dict]:
    if not path.exists():
        raise SourceDataError(f"{path}: file not found")
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise SourceDataError(f"{path}: line {i}: invalid JSON") from e
    return rows


def _pair(kind: str, source: str, turns: list[dict], chosen: str, rejected: str) -> dict:
    return {
        "kind": kind,
        "source": source,
        "prompt": [{"role": "system", "content": SAFETY_SYSTEM_PROMPT}, *turns],
        "chosen": [{"role": "assistant", "content": chosen.strip()}],
        "rejected": [{"role": "assistant", "content": rejected.strip()}],
    }


def medsafetybench_pairs(path: Path) -> list[dict]:
    out = []
    for r in _jsonl(path):
        if r.get("split") != "train":
            continue
        try:
            request, safe = r["harmful_medical_request"], r["safe_response"]
        except KeyError as e:
            raise SourceDataError(f"{path}: a row lacks {e.args[0]}") from e
        out.append(
            _pair(
                "safety",
                "medsafetybench",
                [{"role": "user", "content": request}],
                safe,
                COMPLIANCE_OPENER,
            )
        )
    return out


def _turns(transcript: str) -> list[dict]:
    parts = _TURN.split(transcript)
    turns = []
    for speaker, text in zip(parts[1::2], parts[2::2], strict=True):
        turns.append({"role": "user" if speaker == "Human" else "assistant", "content": text})
    return turns


def hh_rlhf_pairs(path: Path) -> list[dict]:
    out = []
    for r in _jsonl(path):
        chosen, rejected = _turns(r["chosen"]), _turns(r["rejected"])
        if not chosen or chosen[-1]["role"] != "assistant" or chosen[:-1] != rejected[:-1]:
            continue  # not a shared prefix with one differing final answer
        if chosen[-1]["content"].strip() == rejected[-1]["content"].strip():
            continue
        out.append(
            _pair("safety", "hh-rlhf", chosen[:-1], chosen[-1]["content"], rejected[-1]["content"])
        )
    return out


def counsel_chat_pairs(path: Path, split: str = "train") -> list[dict]:
    return [
        _pair(
            "tone",
            "counsel-chat",
            [{"role": "user", "content": r["prompt"]}],
            r["chosen"],
            r["rejected"],
        )
        for r in _jsonl(path)
        if r.get("split") == split and r.get("chosen") and r.get("rejected")
    ]
