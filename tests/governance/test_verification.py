"""The `verify` stage: the cited tests are the selection; failures are recorded, not fatal;
a selection pytest cannot run is an error."""

import json
from pathlib import Path

import pytest
import yaml

from governance.fmea import node_status, read_junit
from governance.hazards import load_registry
from governance.verification import (
    REQUIREMENTS,
    VerificationError,
    VerifyConfig,
    cited_tests,
    run_verification,
    selection,
)

PROJECT_TESTS = '''
def test_holds():
    assert 1 + 1 == 2


def test_breaks():
    assert 1 + 1 == 3
'''


def _project(tmp_path: Path, body: str = PROJECT_TESTS) -> Path:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")
    (tmp_path / "tests" / "test_checks.py").write_text(body)
    return tmp_path


def test_default_selection_is_every_cited_test_less_the_exclusions():
    selected = cited_tests()
    nodes = {t for c in load_registry().controls for t in c.tests}
    nodes |= {t for r in yaml.safe_load(REQUIREMENTS.read_text())["requirements"]
              for t in r["tests"]}
    files = {n.split("::")[0] for n in selected}
    # each cited node is selected, directly or through its whole file
    assert all(n in selected or n.split("::")[0] in selected for n in nodes)
    assert files <= {n.split("::")[0] for n in nodes} and len(set(selected)) == len(selected)
    default = selection(VerifyConfig())
    assert "tests/test_dvc_pipeline.py" in selected
    assert "tests/test_dvc_pipeline.py" not in default and len(default) == len(selected) - 1


def test_failures_are_recorded_with_the_scope(tmp_path):
    root = _project(tmp_path)
    cfg = VerifyConfig(tests=["tests/test_checks.py"])
    summary = run_verification(cfg, root, quiet=True)
    assert (summary["passed"], summary["failed"], summary["pytest_exit_code"]) == (1, 1, 1)
    outcomes = read_junit(root / cfg.junit)
    assert node_status("tests/test_checks.py::test_holds", outcomes) == "passed"
    assert node_status("tests/test_checks.py::test_breaks", outcomes) == "failed"
    assert json.loads((root / cfg.summary).read_text())["selected"] == ["tests/test_checks.py"]


def test_a_node_selection_runs_only_that_test(tmp_path):
    root = _project(tmp_path)
    summary = run_verification(VerifyConfig(tests=["tests/test_checks.py::test_holds"]), root,
                               quiet=True)
    assert (summary["tests"], summary["passed"], summary["failed"]) == (1, 1, 0)


@pytest.mark.parametrize("tests, exclude, message", [
    (["tests/test_gone.py"], [], "test file not found: tests/test_gone.py"),
    (["tests/test_checks.py"], ["tests/test_checks.py"], "no tests selected"),
])
def test_a_bad_selection_is_a_clear_error(tmp_path, tests, exclude, message):
    root = _project(tmp_path)
    with pytest.raises(VerificationError, match=message):
        run_verification(VerifyConfig(tests=tests, exclude=exclude), root, quiet=True)


def test_a_test_file_that_cannot_be_collected_is_an_error(tmp_path):
    root = _project(tmp_path, "def test_x(:\n    pass\n")
    with pytest.raises(VerificationError, match="did not run the selection"):
        run_verification(VerifyConfig(tests=["tests/test_checks.py"]), root, quiet=True)
