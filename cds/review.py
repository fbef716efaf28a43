"""What the review queue needs from `cds`: the corrected differential validated by the schema,
free text (reasons, rationales) scrubbed of identifiers before it enters the log, and overrides
turned into DPO preference pairs in the training set's format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from audit.review import Case
from cds.errors import CdsError
from cds.model.generate import listed
from cds.model.prompt import MAX_ITEMS, MAX_LINES_PER_ITEM, messages, render_output
from cds.schemas import Differential, Note
from governance.deid.stage import DeidConfig


class ReviewInputError(CdsError):
    exit_code = 2


class FreeTextScrubber:
    """Redacts identifiers a reviewer may type into a reason or rationale (PHI never enters
    an audit payload); the same detector settings as the `deidentify` section."""

    def __init__(self, deid: DeidConfig) -> None:
        from governance.deid.anonymize import Anonymizer
        from governance.deid.engine import PhiDetector
        from governance.deid.keys import load_key

        self.detector = PhiDetector(with_ner=deid.ner, threshold=deid.threshold)
        self.anonymizer = Anonymizer(load_key(), "redact")

    def __call__(self, text: str) -> str:
        found = self.detector.detect(text)
        return self.anonymizer.anonymize(text, found, "review") if found else text


def read_corrected(path: Path, case: Case, scrub: FreeTextScrubber) -> dict[str, Any]:
    """A clinician's corrected differential (JSON, the `Differential` schema), validated against
    the case's note line count, with rationales scrubbed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ReviewInputError(f"{path}: not a readable JSON file ({type(e).__name__})") from e
    line_count = case.suggestion.get("note_line_count", 1)
    try:
        differential = Differential.model_validate(data, context={"note_line_count": line_count})
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReviewInputError(f"{path}: {where or 'differential'}: {first['msg']}") from e
    out = differential.model_dump(mode="json")
    for item in out["items"]:
        item["rationale"] = scrub(item["rationale"])
    return out


def _model_items(differential: dict[str, Any]) -> list[dict[str, Any]]:
    """A differential in the form the model is trained to write (`cds.model.prompt`)."""
    items = []
    for item in differential["items"][:MAX_ITEMS]:
        lines = sorted(
            {
                n
                for c in item.get("citations", ())
                if c.get("kind") == "note"
                for n in range(c["line_start"], c["line_end"] + 1)
            }
        )[:MAX_LINES_PER_ITEM]
        items.append(
            {
                "condition": item["condition"],
                "probability": max(1, min(99, round(item["probability"] * 100))),
                "rationale": item["rationale"],
                "lines": lines,
            }
        )
    return items


def preference_pairs(cases: list[Case], kb=None) -> list[dict[str, Any]]:
    """One DPO record per overridden case: chosen = the clinician's differential, rejected =
    the model's. Prompts carry the candidates the model was offered and the passages it saw
    (when the KB still has them), so the pair trains on the prompt `cds generate` builds."""
    pairs = []
    for case in cases:
        override = [a for a in case.actions if a["meaning"] == "overridden"][-1]
        model = case.suggestion["differential"]
        if case.deid_text is None or model is None:
            continue
        note = Note.from_text(case.case_id, "review", case.deid_text)
        passages = []
        if kb is not None:
            for item in model["items"]:
                for c in item.get("citations", ()):
                    if c.get("kind") == "kb":
                        rec = kb.passage_at(c["doc_id"], c["passage_id"], c["version"])
                        if rec is not None and (c["passage_id"], rec.text) not in passages:
                            passages.append((c["passage_id"], rec.text))
        pairs.append(
            {
                "case_id": case.case_id,
                "kind": "clinician_override",
                "reviewer": override["username"],
                "prompt": messages(
                    note, passages, listed(case.candidates, case.candidate_probabilities)
                ),
                "chosen": [{"role": "assistant",
                            "content": render_output(_model_items(override["corrected"]))}],
                "rejected": [{"role": "assistant", "content": render_output(_model_items(model))}],
            }
        )
    return pairs
