"""Documents, versions, the archive and the sources, without an index."""

import gzip
import json
from pathlib import Path

import pytest

from cds.corpus.ddxplus import load_knowledge
from rag.conditions import mentions, profiles
from rag.documents import KbDocument, VersionArchive, read_documents
from rag.errors import KbError
from rag.sources import condition_sheets, medquad_documents, read_medquad
from tests.conftest import DDXPLUS


def test_version_is_a_content_hash():
    v1 = KbDocument.content_version("Title", "Some text.")
    assert v1 == KbDocument.content_version("Title", "Some text.")
    assert v1 != KbDocument.content_version("Title", "Some text!")
    assert v1 != KbDocument.content_version("Other", "Some text.")


def test_archive_keeps_every_version(tmp_path):
    archive = VersionArchive(tmp_path / "versions.jsonl")
    assert archive.add("d", "a" * 16, {"d#1": "old"})
    assert not archive.add("d", "a" * 16, {"d#1": "old"})  # already there
    assert archive.add("d", "b" * 16, {"d#1": "new"})
    reopened = VersionArchive(tmp_path / "versions.jsonl")
    assert reopened.passage("d", "a" * 16, "d#1") == "old"
    assert reopened.passage("d", "b" * 16, "d#1") == "new"
    assert reopened.passage("d", "c" * 16, "d#1") is None
    assert sorted(reopened.versions("d")) == ["a" * 16, "b" * 16]


def test_one_sheet_per_condition_with_icd10_and_findings():
    kb = load_knowledge(DDXPLUS)
    sheets = list(condition_sheets(kb, profiles(kb), "approved", "R", "2026-11-23"))
    assert len(sheets) == len(kb.conditions)
    pneumonia = next(s for s in sheets if s.doc_id == "ddx-pneumonia")
    assert pneumonia.icd10 == "J17" and pneumonia.condition == "Pneumonia"
    assert "ICD-10 J17" in pneumonia.text and "The patient has a cough." in pneumonia.text
    assert "Answered yes" not in pneumonia.text
    assert pneumonia.approver == "R"


def test_medquad_keeps_pages_about_a_condition_only(tmp_path):
    from tests.rag.conftest import write_tiny_medquad

    path = tmp_path / "m.jsonl.gz"
    write_tiny_medquad(path)
    kb = load_knowledge(DDXPLUS)
    docs = list(medquad_documents(path, profiles(kb), True, "approved", None, None))
    conditions = {d.condition for d in docs}
    assert conditions <= {
        "Pneumonia",
        "Bronchospasm / acute asthma exacerbation",
        "Anemia",
        "Tuberculosis",
    }
    assert "Pneumonia" in conditions
    assert all(d.source_url.startswith("http") and "CC BY 4.0" in d.licence for d in docs)
    everything = list(medquad_documents(path, profiles(kb), False, "approved", None, None))
    fanconi = [d for d in everything if "fanconi" in d.title.lower()]
    assert fanconi and all(d.condition is None for d in fanconi)  # not "Anemia"


def test_mentions_names_synonyms_and_icd10_category():
    assert mentions("Community-acquired pneumonia is common", ("Pneumonia",))
    assert mentions("coded as J18.9 at discharge", ("x",), "J18")
    assert not mentions("pneumonitis after radiation", ("Pneumonia",))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00binary", "unreadable"),
        (b'{"qid": "1"}\n', "missing"),
        (b"not json\n", "invalid JSON"),
    ],
)
def test_bad_medquad_file_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(KbError, match=message):
        list(read_medquad(path))


def test_bad_documents_file_is_one_clear_error(tmp_path):
    path = tmp_path / "documents.jsonl"
    path.write_text('{"doc_id": "x"}\n')
    with pytest.raises(KbError, match="line 1: not a KB document"):
        read_documents(path)
    with pytest.raises(KbError, match="not found"):
        read_documents(tmp_path / "missing.jsonl")


def test_gzip_is_read(tmp_path):
    path = tmp_path / "m.jsonl.gz"
    rec = {"qid": "1-1", "question": "q?", "answer": "a", "url": "https://x", "source": "CDC"}
    with gzip.open(path, "wt") as f:
        f.write(json.dumps(rec) + "\n")
    assert [r["qid"] for r in read_medquad(Path(path))] == ["1-1"]
