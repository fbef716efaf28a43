"""Shared fixtures: paths into the repo and a tiny copy of the DDXPlus source."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DDXPLUS = ROOT / "data" / "external" / "ddxplus"


# One surrogate key for the whole suite. Without it each fresh clone creates a random
# `.secrets/deid.key`, so the de-identified notes, and the model's output on them, differ from
# clone to clone.
TEST_DEID_KEY = "pipeline-test-key-0123456789"


@pytest.fixture(scope="session", autouse=True)
def fixed_deid_key():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CDS_DEID_KEY", TEST_DEID_KEY)
        yield


def trimmed_ddxplus(root: Path, patients: int) -> Path:
    """DDXPlus folder with the real conditions/evidences and the first `patients` rows."""
    src = root / "ddxplus"
    src.mkdir()
    for name in ("release_conditions.json", "release_evidences.json"):
        shutil.copy(DDXPLUS / name, src / name)
    lines = (DDXPLUS / "release_test_patients_subset.csv").read_text(encoding="utf-8").splitlines()
    (src / "release_test_patients_subset.csv").write_text("\n".join(lines[: patients + 1]) + "\n")
    return src


@pytest.fixture
def tiny_ddxplus(tmp_path: Path) -> Path:
    return trimmed_ddxplus(tmp_path, 40)


@pytest.fixture(scope="session")
def base_model_dir(tmp_path_factory) -> Path:
    """The packaged GGUF model converted once per session (real weights, ~10 s)."""
    from cds.model.base import BaseModelConfig, prepare_base

    out = tmp_path_factory.mktemp("base") / "base"
    record = prepare_base(BaseModelConfig(out_dir=out))
    assert record["source"]["kind"] == "gguf" and len(record["source"]["sha256"]) == 64
    return out
