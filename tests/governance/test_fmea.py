"""The hazard registry and the FMEA computed from it and a run's artifacts."""

import json
import re

import pytest
import yaml

from cds.errors import ConfigError
from governance.fmea import ArtifactError, acceptability, occurrence_class, read_junit, run_fmea
from governance.hazards import HazardRegistry, load_registry
from tests.conftest import ROOT


def test_the_registry_names_only_tests_that_exist():
    registry = load_registry()
    assert len(registry.hazards) >= 8
    for control in registry.controls:
        for node in control.tests:
            path, _, name = node.partition("::")
            source = (ROOT / path).read_text()
            assert not name or re.search(rf"^def {name}\(", source, re.M), node
    used = {c for h in registry.hazards for c in h.controls}
    assert used == {c.id for c in registry.controls}  # no orphan control


def test_registry_errors_are_one_line(tmp_path):
    data = yaml.safe_load((ROOT / "governance" / "hazards.yaml").read_text())
    data["hazards"][0]["controls"] = ["CT-NOPE"]
    path = tmp_path / "h.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="unknown control CT-NOPE"):
        load_registry(path)


@pytest.mark.parametrize("rate, cls", [(0, 1), (0.001, 1), (0.005, 2), (0.05, 3), (0.1, 4),
                                       (0.5, 5)])
def test_occurrence_classes(rate, cls):
    assert occurrence_class(rate) == cls


def test_acceptability_matrix():
    assert acceptability(1, 4) == "acceptable"
    assert acceptability(3, 3) == "ALARP"
    assert acceptability(5, 5) == "unacceptable"


def junit(path, cases):
    rows = "".join(
        f'<testcase classname="{c}" name="{n}">' + ("" if ok else "<failure/>") + "</testcase>"
        for c, n, ok in cases)
    path.write_text(f'<testsuites><testsuite name="pytest">{rows}</testsuite></testsuites>')


REGISTRY = {
    "hazards": [
        {"id": "HZ-A", "hazard": "a", "situation": "s", "harm": "h", "severity": 5,
         "causes": ["c"], "occurrence_before": 5,
         "occurrence": {"artifact": "m.json", "path": "recall", "complement": True},
         "controls": ["CT-X", "CT-Y"]},
        {"id": "HZ-B", "hazard": "b", "situation": "s", "harm": "h", "severity": 2,
         "causes": ["c"], "occurrence_before": 3,
         "occurrence": {"artifact": "m.json", "path": "leaks", "divide_by": "n"},
         "controls": ["CT-X"]},
        {"id": "HZ-C", "hazard": "c", "situation": "s", "harm": "h", "severity": 3,
         "causes": ["c"], "occurrence_before": 4, "controls": []},
    ],
    "controls": [
        {"id": "CT-X", "description": "x", "tests": ["tests/a/test_x.py::test_one"],
         "acceptance": {"artifact": "m.json", "path": "recall", "op": ">=", "value": 0.9}},
        {"id": "CT-Y", "description": "y", "tests": ["tests/a/test_y.py"]},
    ],
}


def test_fmea_joins_registry_measurements_and_test_results(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps({"recall": 0.97, "leaks": 0, "n": 20}))
    junit(tmp_path / "junit.xml", [("tests.a.test_x", "test_one[sqlite]", True),
                                   ("tests.a.test_x", "test_one[postgresql]", True),
                                   ("tests.a.test_y", "test_two", False)])
    fmea = run_fmea(HazardRegistry.model_validate(REGISTRY), tmp_path,
                    read_junit(tmp_path / "junit.xml"))
    a, b, c = fmea["hazards"]
    assert a["measured_rate"] == pytest.approx(0.03) and a["after"]["occurrence"] == 3
    assert a["open_controls"] == ["CT-Y"] and a["after"]["detection"] == 3  # a test failed
    assert a["before"]["rpn"] == 125 and a["after"]["rpn"] == 5 * 3 * 3
    assert a["after"]["risk"] == "unacceptable"
    assert fmea["unacceptable_after"] == ["HZ-A", "HZ-C"]  # C: O 4 x S 3, no measured control
    assert b["measured_rate"] == 0 and b["after"] == {"occurrence": 1, "detection": 1, "rpn": 2,
                                                      "risk": "acceptable"}
    assert c["after"]["occurrence"] == 4 and c["after"]["detection"] == 5  # nothing measured
    assert fmea["open_controls"] == ["CT-Y"]

    # the measurement moves: the acceptance criterion fails and CT-X opens too
    (tmp_path / "m.json").write_text(json.dumps({"recall": 0.5, "leaks": 2, "n": 20}))
    fmea = run_fmea(HazardRegistry.model_validate(REGISTRY), tmp_path,
                    read_junit(tmp_path / "junit.xml"))
    assert fmea["open_controls"] == ["CT-X", "CT-Y"]
    assert fmea["hazards"][1]["measured_rate"] == 0.1 and fmea["hazards"][1]["after"]["rpn"] == 40


def test_missing_inputs_are_named(tmp_path):
    registry = HazardRegistry.model_validate(REGISTRY)
    with pytest.raises(ArtifactError, match="junit.xml: missing"):
        read_junit(tmp_path / "junit.xml")
    junit(tmp_path / "junit.xml", [])
    with pytest.raises(ArtifactError, match="m.json: missing"):
        run_fmea(registry, tmp_path, read_junit(tmp_path / "junit.xml"))


def test_classification_follows_the_imdrf_table_and_the_hazards():
    from governance.classification import IMDRF, classify, load_intended_use

    use = load_intended_use()
    fmea = {"hazards": [{"id": "HZ-X", "severity": 5, "before": {"risk": "unacceptable"}},
                        {"id": "HZ-Y", "severity": 3, "before": {"risk": "ALARP"}}]}
    result = classify(use, fmea)
    assert result["imdrf_category"] == IMDRF[use.healthcare_situation][use.significance] == "II"
    assert result["iec62304_class"] == "C" and result["fda_documentation_level"] == "Enhanced"
    assert "HZ-X" in result["iec62304_rationale"]
    assert result["cds_non_device"] is False and "SaMD" in result["cds_rationale"]
    mild = {"hazards": [{**h, "severity": 2} for h in fmea["hazards"]]}
    assert classify(use, mild)["iec62304_class"] == "A"
    assert classify(use, mild)["fda_documentation_level"] == "Basic"
    criteria = [c.model_copy(update={"met": True}) for c in use.cds_criteria]
    assert classify(use.model_copy(update={"cds_criteria": criteria}), mild)["cds_non_device"]


def test_sbom_lists_the_installed_stack_with_versions_and_licences():
    import importlib.metadata as md

    from governance.sbom import build_sbom

    bom = build_sbom()
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5"
    by_name = {c["name"]: c for c in bom["components"]}
    assert len(by_name) == len(bom["components"])  # one entry per distribution
    for name in ("torch", "presidio-analyzer", "transformers", "sqlmodel"):
        assert by_name[name]["version"] == md.version(name)
        assert by_name[name]["purl"] == f"pkg:pypi/{name}@{md.version(name)}"
    assert "licenses" in by_name["presidio-analyzer"]
    assert "cds-toolkit" not in by_name
