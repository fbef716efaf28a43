"""Real guardrail classifiers trained once per session on small samples of the real sets."""

from __future__ import annotations

import pytest

from cds.corpus import CorpusConfig, build_corpus
from cds.guardrails.train import GuardrailsConfig, train_guardrails
from tests.conftest import trimmed_ddxplus
from tests.rag.conftest import knowledge_base, tiny_kb  # noqa: F401 - shared session fixtures


@pytest.fixture(scope="session")
def corpus_notes_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("gr_corpus")
    src = trimmed_ddxplus(root, 60)
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
