"""`cds review list|show|claim|approve|override|reject|acknowledge|history|export-pairs`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from cds.cli._common import console, handle_errors, read_password

app = typer.Typer(help="The clinician review queue (every action is an e-signature).",
                  no_args_is_help=True)
PARAMS = typer.Option(Path("params.yaml"), help="`audit:`, `deidentify:` and `kb:` sections.")
JSON = typer.Option(False, "--json", help="JSON on stdout.")
USER = typer.Option(..., "--user", "-u", help="Your user name (the signature's identity).")
STDIN = typer.Option(False, "--password-stdin", help="Read the password from standard input.")
CASE = typer.Argument(..., help="Case id (the note id `cds suggest` printed).")


def _queue(params: Path):
    from audit.review import ReviewQueue
    from cds.audit_log import open_audit

    log = open_audit(params, "cli:review")
    return log, ReviewQueue(log)


@app.command("list")
@handle_errors
def list_cases(
    all_cases: bool = typer.Option(False, "--all", help="Closed cases too."),
    params: Path = PARAMS,
    as_json: bool = JSON,
) -> None:
    """Open cases, crisis first, then urgent, blocked and review; least confident first."""
    log, queue = _queue(params)
    with log:
        cases = queue.cases(include_closed=all_cases)
    rows = [
        {"case_id": c.case_id, "route": c.route, "priority": c.priority, "status": c.status,
         "top_confidence": c.top_confidence, "opened_at": c.opened_at}
        for c in cases
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table(title=f"{len(rows)} case(s)")
    table.add_column("case", overflow="fold", min_width=26)  # ids are copied from here
    for col in ("route", "priority", "status", "confidence", "opened (UTC)"):
        table.add_column(col)
    for r in rows:
        conf = "-" if r["top_confidence"] is None else f"{r['top_confidence']:.2f}"
        table.add_row(r["case_id"], r["route"], r["priority"], r["status"], conf, r["opened_at"])
    console.print(table)


@app.command("show")
@handle_errors
def show(case_id: str = CASE, params: Path = PARAMS, as_json: bool = JSON) -> None:
    """The basis of a case: the de-identified note, the items with their cited lines and
    passages, every guardrail decision, and the actions so far."""
    log, queue = _queue(params)
    with log:
        case = queue.case(case_id)
    if as_json:
        typer.echo(json.dumps({**case.__dict__, "status": case.status}))
        return
    s = case.suggestion
    console.print(f"[bold]{case.case_id}[/] route {case.route}, priority {case.priority}, "
                  f"{case.status}; suggestion sha256 {case.suggestion_sha256[:16]}")
    lines = (case.deid_text or "").splitlines()
    if lines:
        console.print("de-identified note:")
        for i, line in enumerate(lines, 1):
            console.print(f"  {i:>3}  {line}", markup=False, highlight=False)
    if s.get("message"):
        console.print(s["message"], markup=False)
    diff = s.get("differential")
    if diff:
        table = Table(show_lines=True)
        conf = s.get("confidence") or []
        # One probability: the calibrated one the clinician was shown (records from before
        # re-ranking carry the model's number in the item and the calibrated one apart).
        p_column = "calibrated p" if conf else "model p (uncalibrated)"
        for col in ("#", "condition (ICD-10)", p_column, "rationale", "basis"):
            table.add_column(col)
        for i, item in enumerate(diff["items"]):
            basis = []
            for c in item.get("citations", ()):
                if c["kind"] == "note":
                    quoted = " / ".join(lines[c["line_start"] - 1 : c["line_end"]])[:80]
                    basis.append(f"line {c['line_start']}-{c['line_end']}: {quoted}")
                else:
                    basis.append(f"KB {c['passage_id']} @{c['version'][:8]}")
            p = conf[i] if i < len(conf) else item["probability"]
            table.add_row(str(i + 1), f"{item['condition']} ({item['icd10']})", f"{p:.2f}",
                          item["rationale"], "\n".join(basis) or "none")
        console.print(table)
    rails = Table(title="guardrail decisions")
    for col in ("rail", "verdict", "reason"):
        rails.add_column(col)
    for d in s.get("decisions", ()):
        rails.add_row(d["rail"], d["verdict"], d["reason"] + (f" [{d['error']}]" if d.get("error")
                                                              else ""))
    console.print(rails)
    for a in case.actions:
        console.print(f"seq {a['seq']}: {a['meaning']} by {a['printed_name']} ({a['username']}, "
                      f"{a['role']}) at {a['signed_at']}"
                      + (f" - reason: {a['reason']}" if a.get("reason") else ""), markup=False)


def _act(params: Path, action: str, case_id: str, user: str, password_stdin: bool,
         **details) -> None:
    """One signed action: open the log, sign, print the manifestation of the signature."""
    log, queue = _queue(params)
    with log:
        event = getattr(queue, action)(case_id, user, read_password("password", password_stdin),
                                       **details)
    m = event.data["manifest"]
    console.print(f"{m['meaning']} {m['case_id']}: signed by {m['printed_name']} "
                  f"({m['username']}) at {m['signed_at']}, meaning \"{m['meaning_text']}\"; "
                  f"event seq {event.seq}")


@app.command("claim")
@handle_errors
def claim(case_id: str = CASE, user: str = USER, params: Path = PARAMS,
          password_stdin: bool = STDIN) -> None:
    """Take a case: only its claimant can then approve, override or reject it."""
    _act(params, "claim", case_id, user, password_stdin)


@app.command("approve")
@handle_errors
def approve(case_id: str = CASE, user: str = USER, params: Path = PARAMS,
            password_stdin: bool = STDIN) -> None:
    """Approve the differential as shown (e-signature, meaning `approved`)."""
    _act(params, "approve", case_id, user, password_stdin)


@app.command("acknowledge")
@handle_errors
def acknowledge(case_id: str = CASE, user: str = USER, params: Path = PARAMS,
                password_stdin: bool = STDIN) -> None:
    """Close a crisis or blocked case, which has no differential (meaning `reviewed`)."""
    _act(params, "acknowledge", case_id, user, password_stdin)


def _scrubber(params: Path):
    from cds.config import load_section
    from cds.review import FreeTextScrubber
    from governance.deid.stage import DeidConfig

    return FreeTextScrubber(load_section(params, "deidentify", DeidConfig))


@app.command("reject")
@handle_errors
def reject(case_id: str = CASE, user: str = USER,
           reason: str = typer.Option(..., help="Why (identifiers are redacted before logging)."),
           params: Path = PARAMS, password_stdin: bool = STDIN) -> None:
    """Reject the differential: it must not be used (meaning `rejected`)."""
    _act(params, "reject", case_id, user, password_stdin, reason=_scrubber(params)(reason))


@app.command("override")
@handle_errors
def override(
    case_id: str = CASE,
    user: str = USER,
    reason: str = typer.Option(..., help="Why (identifiers are redacted before logging)."),
    differential: Path = typer.Option(..., help="Corrected differential, JSON (`Differential`)."),
    params: Path = PARAMS,
    password_stdin: bool = STDIN,
) -> None:
    """Replace the differential with yours, validated by the schema (meaning `overridden`).
    Overrides become DPO pairs with `cds review export-pairs`."""
    from audit.review import ReviewQueue
    from cds.audit_log import open_audit
    from cds.review import read_corrected

    scrub = _scrubber(params)
    with open_audit(params, "cli:review") as log:
        corrected = read_corrected(differential, ReviewQueue(log).case(case_id), scrub)
    _act(params, "override", case_id, user, password_stdin, reason=scrub(reason),
         corrected=corrected)


@app.command("history")
@handle_errors
def history(case_id: str = CASE, params: Path = PARAMS, as_json: bool = JSON) -> None:
    """Every event of a case, from input to the last signature."""
    log, queue = _queue(params)
    with log:
        events = queue.history(case_id)
    if as_json:
        typer.echo(json.dumps([e.as_json() for e in events]))
        return
    table = Table(title=case_id)
    for col in ("seq", "ts", "type", "actor", "what"):
        table.add_column(col)
    for e in events:
        d = e.data
        if e.type == "review_signature":
            m = d["manifest"]
            what = f"{m['meaning']} by {m['printed_name']}" + (
                f": {d['reason']}" if d.get("reason") else "")
        elif e.type == "guardrail_decision":
            what = f"{d['rail']}: {d['verdict']} - {d['reason']}"
        elif e.type == "route":
            what = f"route {d['route']} (priority {d['priority']})"
        elif e.type == "access_denied":
            what = f"{d['action']} refused for {d['username']}: {d['reason']}"
        else:
            what = ", ".join(f"{k}={v}" for k, v in d.items() if k != "deid_text")[:100]
        table.add_row(str(e.seq), e.ts, e.type, e.actor, what)
    console.print(table)


@app.command("export-pairs")
@handle_errors
def export_pairs(
    out: Path = typer.Argument(..., help="JSONL of DPO records (prompt/chosen/rejected)."),
    params: Path = PARAMS,
) -> None:
    """Clinician overrides as DPO preference pairs, in the format of data/sft/dpo_*.jsonl."""
    from cds.review import preference_pairs

    kb = None
    try:
        from cds.config import load_section
        from rag.build import KbConfig
        from rag.kb import KnowledgeBase

        kb = KnowledgeBase(load_section(params, "kb", KbConfig))
    except Exception:  # noqa: BLE001 - no KB: prompts without passages
        kb = None
    log, queue = _queue(params)
    with log:
        pairs = preference_pairs(queue.overrides(), kb)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs),
                   encoding="utf-8")
    console.print(f"{len(pairs)} preference pair(s) -> {out}")
