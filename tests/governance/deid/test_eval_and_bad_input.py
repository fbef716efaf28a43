import json

from typer.testing import CliRunner

from cds.cli import app
from governance.deid.engine import Detection
from governance.deid.evaluate import GoldSpan, LabelledText, load_labelled, score

runner = CliRunner()
TEXT = "Seen by dr healey on 7/22. BP 120/80. Year 1992."


def _labelled():
    return [
        LabelledText(
            TEXT,
            (
                GoldSpan(11, 17, "HCPName", "NAME"),
                GoldSpan(21, 25, "Date", "DATE"),
                GoldSpan(43, 47, "DateYear", None),
            ),
        )
    ]


def test_scores_count_hits_misses_and_false_positives():
    preds = [
        [
            Detection(11, 17, "NAME", 0.9),
            Detection(30, 36, "DATE", 0.5),
            Detection(43, 47, "DATE", 0.5),
        ]
    ]
    tokens, spans, per_type = score(_labelled(), preds)
    assert (tokens.tp, tokens.fn, tokens.fp) == (
        1,
        2,
        2,
    )  # 7/22 = two tokens missed; 120/80 two FPs; year ignored
    assert spans.tp == 1 and spans.fn == 1
    assert per_type["HCPName"]["token_recall"] == 1.0 and per_type["Date"]["token_recall"] == 0.0


def test_all_three_formats_load(tmp_path):
    phys = tmp_path / "p.jsonl"
    phys.write_text(
        json.dumps({"text": TEXT, "phi": [{"start": 11, "end": 17, "type": "HCPName"}]}) + "\n"
    )
    pres = tmp_path / "s.json"
    pres.write_text(
        json.dumps(
            [
                {
                    "full_text": TEXT,
                    "spans": [{"entity_type": "PERSON", "start_position": 11, "end_position": 17}],
                }
            ]
        )
    )
    for path in (phys, pres):
        [item] = load_labelled(path)
        assert item.spans[0].type == "NAME"


def test_presidio_age_is_not_scored_but_ours_is(tmp_path):
    """presidio-research tags every age; only ages over 89 are identifiers (ours: AGE)."""
    pres = tmp_path / "s.json"
    span = {"entity_type": "AGE", "start_position": 0, "end_position": 2}
    pres.write_text(json.dumps([{"full_text": "43 years old", "spans": [span]}]))
    ours = tmp_path / "o.jsonl"
    ours.write_text(json.dumps({"text": "93 yo", "phi": [{"start": 0, "end": 2, "type": "AGE"}]}))
    assert load_labelled(pres)[0].spans[0].type is None
    assert load_labelled(ours)[0].spans[0].type == "AGE"


def test_eval_cli_json_has_required_keys(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"text": TEXT, "phi": [{"start": 11, "end": 17, "type": "HCPName"}]}) + "\n"
    )
    result = runner.invoke(
        app, ["deid", "eval", str(path), "--json", "--params", str(tmp_path / "none.yaml")]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    for key in ("token_recall", "token_precision", "f2", "per_type", "notes_per_s"):
        assert key in data
    assert data["token_recall"] == 1.0


def _audit_params(tmp_path, deidentify: str = ""):
    params = tmp_path / "params.yaml"
    params.write_text(
        f"deidentify:\n  max_chars: 1000000\n{deidentify}"
        f"audit:\n  database_url: sqlite:///{tmp_path}/audit.db\n"
        f"  signing_key: {tmp_path}/key.pem\n"
    )
    return params


def _rejections(params) -> list[dict]:
    from cds.audit_log import open_audit

    with open_audit(params, "test") as log:
        return [e.data for e in log.events(types=["input_rejected"])]


def test_bad_labelled_files_give_one_line_errors_and_an_audit_event(tmp_path):
    params = _audit_params(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "Peggy Smith", "phi": [{"start": 0, "end": 99, "type": "PTName"}]}\n')
    result = runner.invoke(app, ["deid", "eval", str(bad), "--params", str(params)])
    assert result.exit_code == 2 and "outside the text" in result.output
    assert "Peggy" not in result.output
    bad.write_bytes(b"\xff\xfe{")
    result = runner.invoke(app, ["deid", "eval", str(bad), "--params", str(params)])
    assert result.exit_code == 2 and "UTF-8" in result.output
    events = _rejections(params)
    assert [e["reason"].split(":")[0] for e in events] == ["record 1", "not UTF-8 text"]
    assert all(e["file"] == str(bad) and len(e["raw_sha256"]) == 64 for e in events)
    assert "Peggy" not in json.dumps(events)


def test_deid_run_rejects_a_bad_corpus_file_with_an_audit_event(tmp_path):
    """Invalid UTF-8, a line that is not a corpus record, an empty file: exit 2, one line,
    no traceback, no text quoted, and one `input_rejected` event each."""
    corpus = tmp_path / "notes.jsonl"
    params = _audit_params(tmp_path, f"  in_file: {corpus}\n  out_dir: {tmp_path / 'out'}\n")
    cases = [
        (b'{"note": "Peggy \xff Smith"}\n', "not valid UTF-8"),
        (b'{"note": "Peggy Smith"}\n', "not a corpus record"),
        (b"\n\n", "no records"),
    ]
    for content, words in cases:
        corpus.write_bytes(content)
        result = runner.invoke(app, ["deid", "run", "--params", str(params), "--quiet"])
        assert result.exit_code == 2 and words in result.output, result.output
        assert "Peggy" not in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
    events = _rejections(params)
    assert [words in e["reason"] for e, (_, words) in zip(events, cases, strict=True)] == [True] * 3
    assert "Peggy" not in json.dumps(events)
    assert not (tmp_path / "out" / "notes.jsonl").exists()


def test_text_command_bad_inputs(tmp_path):
    """Each bad input: exit 2, one line naming the problem, no PHI, no traceback, and an
    `input_rejected` audit event with a hash and the reason (never the text)."""
    params = tmp_path / "params.yaml"
    params.write_text(
        "deidentify:\n  max_chars: 1000000\n"
        f"audit:\n  database_url: sqlite:///{tmp_path}/audit.db\n"
        f"  signing_key: {tmp_path}/key.pem\n"
    )
    empty = tmp_path / "e.txt"
    empty.write_text("   ")
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\x00\x01\x02Peggy")
    huge = tmp_path / "h.txt"
    huge.write_text("Patient Peggy Smith. " * 500_000)  # ~10 MB
    invalid = tmp_path / "u.txt"
    invalid.write_bytes(b"Peggy \xff\xfe Smith")
    expected = {empty: "empty", binary: "binary", huge: "max_chars", invalid: "UTF-8"}
    for path, word in expected.items():
        result = runner.invoke(app, ["deid", "text", str(path), "--params", str(params)])
        assert result.exit_code == 2 and word in result.output, result.output
        assert "Peggy" not in result.output and "Traceback" not in result.output
    events = _rejections(params)
    assert len(events) == 4
    assert "Peggy" not in json.dumps(events)
