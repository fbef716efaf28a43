"""Real guardrail classifiers trained once per session on small samples of the real sets."""

from __future__ import annotations

import shutil

import pytest

from cds.corpus import CorpusConfig, build_corpus
from cds.guardrails.train import GuardrailsConfig, train_guardrails
from tests.conftest import DDXPLUS
from tests.rag.conftest import knowledge_base, tiny_kb  # noqa: F401 - shared session fixtures


@pytest.fixture(scope="session")
def corpus_notes_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("gr_corpus")
    src = root / "ddxplus"
    src.mkdir()
    for name in ("release_conditions.json", "release_evidences.json"):
        shutil.copy(DDXPLUS / name, src / name)
    lines = (DDXPLUS / "release_test_patients_subset.csv").read_text(encoding="utf-8").splitlines()
    (src / "release_test_patients_subset.csv").write_text("\n".join(lines[:61]) + "\n")
    build_corpus(CorpusConfig(source_dir=src, out_dir=root / "raw"), show_progress=False)
    return root / "raw" / "notes.jsonl"


@pytest.fixture(scope="session")
def guardrails_cfg(tmp_path_factory, corpus_notes_file, tiny_kb) -> GuardrailsConfig:  # noqa: F811
    cfg = GuardrailsConfig(
        out_dir=tmp_path_factory.mktemp("guardrails"),
        notes_file=corpus_notes_file,
        kb_documents=tiny_kb.out_dir / "documents.jsonl",
        benign_per_source=40,
    )
    train_guardrails(cfg, show_progress=False)
    return cfg
