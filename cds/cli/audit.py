"""`cds audit verify|proof|export|checkpoint|tail` and `cds users add|list|passwd|deactivate`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from cds.cli._common import console, handle_errors, read_password

app = typer.Typer(help="Tamper evidence of the audit log.", no_args_is_help=True)
users_app = typer.Typer(help="Users, roles and signing keys.", no_args_is_help=True)
PARAMS = typer.Option(Path("params.yaml"), help="YAML file with the `audit:` section.")
JSON = typer.Option(False, "--json", help="One JSON object on stdout.")
STDIN = typer.Option(
    False, "--password-stdin", help="Read passwords from standard input, one per line."
)


def _open(params: Path, actor: str):
    from cds.audit_log import open_audit

    return open_audit(params, actor)


@app.command("verify")
@handle_errors
def verify(
    params: Path = PARAMS,
    public_key: Path | None = typer.Option(
        None, help="Trusted checkpoint key (hex or PEM); default: the configured signing key."
    ),
    anchor: list[Path] = typer.Option(
        [], help="checkpoints.jsonl from an earlier export: the log must still contain them."
    ),
    export_dir: Path | None = typer.Option(
        None, "--export", help="Verify an export directory instead of the database."
    ),
    as_json: bool = JSON,
) -> None:
    """Recompute the chain and the Merkle tree, check checkpoint and e-signatures; report the
    first bad sequence number. Exit 0 when intact, 4 when tampered."""
    from audit.errors import TamperDetected
    from audit.export import read_checkpoints, verify_export
    from audit.signing import load_public_hex
    from cds.audit_log import verify_configured_log

    anchors = [cp for path in anchor for cp in read_checkpoints(path)]
    if export_dir is not None:
        report = verify_export(export_dir, public_key, anchors)
    else:
        key = load_public_hex(public_key) if public_key else None
        report, _ = verify_configured_log(params, "cli:audit", key, anchors)
    summary = report.summary()
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        state = "[green]intact[/]" if report.ok else "[bold red]TAMPERED[/]"
        console.print(
            f"{state}: {report.events} events, {report.checkpoints} checkpoints, "
            f"{report.signatures} e-signatures; {report.sealed} events sealed by a signed "
            f"checkpoint; head {report.head_hash[:16]}"
        )
        for p in report.problems[:20]:
            console.print(f"  {p}", markup=False)
    if not report.ok:
        raise TamperDetected(f"first bad seq {report.first_bad_seq}")


@app.command("proof")
@handle_errors
def proof(
    seq: int = typer.Argument(..., help="Sequence number of the event."),
    params: Path = PARAMS,
    as_json: bool = JSON,
) -> None:
    """RFC 9162 inclusion proof of one event in the latest signed checkpoint."""
    from audit.proof import prove

    with _open(params, "cli:audit") as log:
        p = prove(log, seq)
    if as_json:
        typer.echo(json.dumps(p))
        return
    console.print(
        f"event {seq} (hash {p['event_hash'][:16]}) is leaf {p['leaf_index']} of the "
        f"{p['tree_size']}-event tree with root {p['root_hash'][:16]}, signed "
        f"{p['checkpoint']['ts']} by key {p['checkpoint']['key_id']}; audit path of "
        f"{len(p['audit_path'])} hashes: "
        + ("[green]verified[/]" if p["verified"] else "[red]does not verify[/]")
    )


@app.command("export")
@handle_errors
def export(
    out_dir: Path = typer.Argument(..., help="Directory for events.jsonl, checkpoints.jsonl and "
                                   "log_public_key.hex."),
    user: str = typer.Option(..., "--user", "-u", help="An auditor or reviewer-admin."),
    params: Path = PARAMS,
    password_stdin: bool = STDIN,
    as_json: bool = JSON,
) -> None:
    """Seal the log with a checkpoint and write it out for offline verification
    (`cds audit verify --export DIR`, or the procedure in docs/audit.md). The export itself is
    an event: who, when, and how many events."""
    from audit.export import export_log
    from audit.users import Users

    with _open(params, "cli:audit") as log:
        users = Users(log)
        who = users.authenticate(user, read_password("password", password_stdin),
                                 "audit export", "audit")
        users.authorise(who, "export", "audit export", "audit")
        log.append("audit_exported", "audit", {"username": who.username, "events": log.count()},
                   actor=f"user:{who.username}")
        summary = export_log(log, out_dir)
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        console.print(f"{summary['events']} events, {summary['checkpoints']} checkpoints -> "
                      f"{out_dir}; root {str(summary['root_hash'])[:16]} at {summary['tree_size']}")


@app.command("checkpoint")
@handle_errors
def checkpoint(params: Path = PARAMS, as_json: bool = JSON) -> None:
    """Sign a checkpoint over every event so far (also done automatically)."""
    with _open(params, "cli:audit") as log:
        cp = log.checkpoint()
    if as_json:
        typer.echo(json.dumps(cp.as_json() if cp else None))
    elif cp is None:
        console.print("the log is empty")
    else:
        console.print(f"checkpoint at {cp.tree_size}: root {cp.root_hash[:16]}, key {cp.key_id}")


@app.command("tail")
@handle_errors
def tail(
    n: int = typer.Option(20, "-n", help="How many of the newest events."),
    subject: str | None = typer.Option(None, help="Only this subject (a case or note id)."),
    params: Path = PARAMS,
    as_json: bool = JSON,
) -> None:
    """The newest events (payloads are de-identified; see docs/audit.md)."""
    with _open(params, "cli:audit") as log:
        after = max(0, log.count() - n) if subject is None else 0
        events = list(log.events(subject_id=subject, after_seq=after))[-n:]
    if as_json:
        typer.echo(json.dumps([e.as_json() for e in events]))
        return
    table = Table()
    for col in ("seq", "ts", "type", "actor", "subject", "payload"):
        table.add_column(col)
    for e in events:
        payload = e.payload if len(e.payload) < 120 else e.payload[:117] + "..."
        table.add_row(str(e.seq), e.ts, e.type, e.actor, e.subject_id, payload)
    console.print(table)


# ---------------------------------------------------------------------- users


@users_app.command("add")
@handle_errors
def users_add(
    username: str = typer.Argument(..., help="Login name: a-z 0-9 . _ -"),
    name: str = typer.Option(..., "--name", help="Full name, printed on signatures."),
    role: str = typer.Option(..., help="clinician | reviewer-admin | auditor"),
    admin: str | None = typer.Option(
        None, help="The reviewer-admin enrolling this user (not needed for the first user)."
    ),
    params: Path = PARAMS,
    password_stdin: bool = STDIN,
) -> None:
    """Enrol a user with a role, a password and a signing key. The first user must be a
    reviewer-admin; with --password-stdin, the new password comes first, then the admin's."""
    from audit.users import Users

    with _open(params, "cli:users") as log:
        users = Users(log)
        password = read_password(f"password for {username}", password_stdin, confirm=True)
        by = None
        if admin is not None:
            admin_password = read_password(f"password for {admin}", password_stdin)
            by = users.authenticate(admin, admin_password, "users add", f"user:{username}")
        user = users.add(username, name, role, password, by=by)
    console.print(f"enrolled {user.username} ({user.full_name}, {user.role}), signing key "
                  f"{user.public_key[:16]}")


@users_app.command("list")
@handle_errors
def users_list(params: Path = PARAMS, as_json: bool = JSON) -> None:
    """Users, roles and key ids (never password hashes or keys)."""
    from audit.signing import key_id
    from audit.users import Users

    with _open(params, "cli:users") as log:
        rows = [
            {"username": u.username, "full_name": u.full_name, "role": u.role,
             "active": u.active, "key_id": key_id(u.public_key), "created_at": u.created_at}
            for u in Users(log).all()
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table()
    for col in rows[0] if rows else ("username",):
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(v) for v in r.values()))
    console.print(table)


@users_app.command("passwd")
@handle_errors
def users_passwd(username: str, params: Path = PARAMS, password_stdin: bool = STDIN) -> None:
    """Change a password (re-encrypts the signing key; the key itself stays the same)."""
    from audit.users import Users

    with _open(params, "cli:users") as log:
        old = read_password("current password", password_stdin)
        new = read_password("new password", password_stdin, confirm=True)
        Users(log).change_password(username, old, new)
    console.print(f"password changed for {username}")


@users_app.command("deactivate")
@handle_errors
def users_deactivate(
    username: str,
    admin: str = typer.Option(..., help="The reviewer-admin doing it."),
    params: Path = PARAMS,
    password_stdin: bool = STDIN,
) -> None:
    """Deactivate a user: they can no longer sign; their past signatures still verify."""
    from audit.users import Users

    with _open(params, "cli:users") as log:
        users = Users(log)
        by = users.authenticate(admin, read_password(f"password for {admin}", password_stdin),
                                "users deactivate", f"user:{username}")
        users.deactivate(username, by)
    console.print(f"deactivated {username}")
