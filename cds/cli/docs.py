"""`cds docs fmea`: the regulatory documents built from the run's artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from cds.cli._common import console, handle_errors

app = typer.Typer(help="Regulatory documents from the run's artifacts.", no_args_is_help=True)


@app.command("fmea")
@handle_errors
def fmea(
    registry: Path | None = typer.Option(None, help="Hazard registry YAML (default: "
                                         "governance/hazards.yaml)."),
    junit: Path = typer.Option(Path("reports/verification/junit.xml"), help="pytest JUnit XML of "
                               "this commit (`cds docs verify` writes it)."),
    out: Path | None = typer.Option(None, help="Also write the FMEA as JSON here."),
    as_json: bool = typer.Option(False, "--json", help="The FMEA as one JSON object."),
) -> None:
    """FMEA: severity from the registry, occurrence from the evaluation and red-team results,
    detection from verified controls; RPN and ISO 14971 acceptability before and after
    controls. A control whose test failed or is missing, or whose acceptance criterion is not
    met, is open."""
    from governance.fmea import read_junit, run_fmea
    from governance.hazards import REGISTRY, load_registry

    result = run_fmea(load_registry(registry or REGISTRY), Path("."), read_junit(junit))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title="FMEA (S x O x D; before -> after controls)")
    for col in ("hazard", "S", "O", "D", "RPN", "risk", "measured", "open controls"):
        table.add_column(col)
    for r in result["hazards"]:
        b, a = r["before"], r["after"]
        table.add_row(
            f"{r['id']}: {r['hazard']}", str(r["severity"]),
            f"{b['occurrence']}->{a['occurrence']}", f"{b['detection']}->{a['detection']}",
            f"{b['rpn']}->{a['rpn']}", f"{b['risk']}->{a['risk']}",
            "-" if r["measured_rate"] is None else f"{r['measured_rate']:.4f}",
            ", ".join(r["open_controls"]) or "none",
        )
    console.print(table)


@app.command("classify")
@handle_errors
def classify(
    junit: Path = typer.Option(Path("reports/verification/junit.xml"), help="pytest JUnit XML of "
                               "this commit (the FMEA needs it)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """IMDRF SaMD category, IEC 62304 safety class, FDA documentation level and the CDS-criteria
    analysis, from governance/intended_use.yaml and the FMEA, each with its rationale."""
    from governance.classification import classify as classify_device
    from governance.classification import load_intended_use
    from governance.fmea import read_junit, run_fmea
    from governance.hazards import load_registry

    result = classify_device(load_intended_use(),
                             run_fmea(load_registry(), Path("."), read_junit(junit)))
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key, value in result.items():
        console.print(f"{key}: {value}", markup=False)


@app.command("sbom")
@handle_errors
def sbom(
    out: Path = typer.Option(Path("reports/sbom.cdx.json"), help="CycloneDX JSON file."),
) -> None:
    """The SOUP list: every installed Python distribution with version, declared licence and
    package URL, as CycloneDX 1.5 JSON."""
    from governance.sbom import build_sbom

    bom = build_sbom()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(bom, indent=2) + "\n", encoding="utf-8")
    unlicensed = sum(1 for c in bom["components"] if "licenses" not in c)
    console.print(f"{len(bom['components'])} components ({unlicensed} without a declared "
                  f"licence) -> {out}")


@app.command("verify")
@handle_errors
def verify(
    params: Path = typer.Option(Path("params.yaml"), help="YAML file with the `verify:` section "
                                "(optional: its defaults)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="pytest's short output."),
    as_json: bool = typer.Option(False, "--json", help="The summary as one JSON object."),
) -> None:
    """Run the tests the risk controls and requirements cite (the `verify` stage) and write
    their JUnit XML for the pack. Failing tests are recorded, not fatal: the pack lists them
    and their controls stay open."""
    from cds.config import load_section
    from governance.verification import VerifyConfig, run_verification

    cfg = load_section(params, "verify", VerifyConfig, missing_ok=True)
    summary = run_verification(cfg, Path("."), quiet=quiet)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    style = "green" if summary["failed"] == 0 else "bold red"
    console.print(f"[{style}]{summary['passed']} passed, {summary['failed']} failed[/], "
                  f"{summary['skipped']} skipped in {summary['seconds']} s -> {cfg.junit}")


@app.command("build")
@handle_errors
def build(
    params: Path = typer.Option(Path("params.yaml"), help="YAML file with the `package:` and "
                                "`audit:` sections (optional: their defaults)."),
    out: Path | None = typer.Option(None, help="The PDF (default: package.out); its JSON twin "
                                    "is written beside it (.json)."),
    junit: Path | None = typer.Option(None, help="pytest JUnit XML of this commit (default: "
                                      "package.junit, written by `cds docs verify`)."),
    audit_export: Path | None = typer.Option(
        None, help="A `cds audit export` directory to verify and summarise (default: the "
        "configured audit database)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary line."),
) -> None:
    """The submission pack from this run's artifacts: intended use, classification, FMEA,
    verification and validation, red team, de-identification, lineage, model card, SOUP, audit
    trail, anomalies and labelling, with the hashes of every input. A missing input is an error
    that names it."""
    from cds.config import load_section
    from governance.pack.build import PackageConfig, audit_summary, build_pack

    cfg = load_section(params, "package", PackageConfig, missing_ok=True)
    cfg = cfg.model_copy(update={"out": out or cfg.out, "junit": junit or cfg.junit,
                                 "audit_export": audit_export or cfg.audit_export})
    out = cfg.out
    contents = build_pack(cfg, Path("."), audit_summary(params, cfg.audit_export))
    if not quiet:
        console.print(f"{out} and {out.with_suffix('.json')}: {len(contents['inputs'])} inputs, "
                      f"{len(contents['fmea']['open_controls'])} open controls")
