"""A tiny but real knowledge base: all DDXPlus condition sheets plus a few MedQuAD pages,
embedded with the packaged MiniLM model and indexed once per test session."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml

from rag.build import Approvals, KbConfig, SourceApproval, build_kb
from tests.conftest import DDXPLUS, ROOT

MEDQUAD = ROOT / "data" / "external" / "medquad" / "medquad_qa_collections_1-9.jsonl.gz"
TINY_FOCUS = {"Pneumonia", "Asthma", "Anemia", "Fanconi anemia", "Tuberculosis (TB)"}


def write_tiny_medquad(path: Path) -> None:
    """Up to three MedQuAD records per chosen focus (one of which matches no condition)."""
    kept: dict[str, int] = {}
    with gzip.open(MEDQUAD, "rt", encoding="utf-8") as src, gzip.open(path, "wt") as out:
        for line in src:
            rec = json.loads(line)
            focus = rec.get("focus")
            if focus in TINY_FOCUS and kept.get(focus, 0) < 3:
                kept[focus] = kept.get(focus, 0) + 1
                out.write(line)


def kb_config(root: Path, ddxplus: Path, medquad: Path, rejected: list[str] = ()) -> KbConfig:
    ok = SourceApproval(status="approved", approver="Test Reviewer", approved_on="2026-11-23")
    return KbConfig(
        ddxplus_dir=ddxplus,
        medquad_file=medquad,
        out_dir=root / "kb",
        index_dir=root / "index",
        approvals=Approvals(ddxplus_sheets=ok, medquad=ok, rejected=list(rejected)),
    )


def write_params(cfg: KbConfig, path: Path) -> Path:
    path.write_text(yaml.safe_dump({"kb": json.loads(cfg.model_dump_json())}))
    return path


@pytest.fixture(scope="session")
def tiny_kb(tmp_path_factory) -> KbConfig:
    root = tmp_path_factory.mktemp("tiny_kb")
    ddx = root / "ddxplus"
    ddx.mkdir()
    for name in ("release_conditions.json", "release_evidences.json"):
        shutil.copy(DDXPLUS / name, ddx / name)
    write_tiny_medquad(root / "medquad.jsonl.gz")
    cfg = kb_config(root, ddx, root / "medquad.jsonl.gz", rejected=["ddx-ebola"])
    build_kb(cfg, show_progress=False)
    return cfg


@pytest.fixture(scope="session")
def knowledge_base(tiny_kb):
    from rag.kb import KnowledgeBase

    return KnowledgeBase(tiny_kb)
