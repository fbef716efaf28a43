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
    junit: Path = typer.Option(Path("reports/junit.xml"), help="pytest JUnit XML of this "
                               "commit (`make test` writes it)."),
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
    junit: Path = typer.Option(Path("reports/junit.xml"), help="pytest JUnit XML of this "
                               "commit (the FMEA needs it)."),
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


@app.command("build")
@handle_errors
def build(
    out: Path = typer.Option(Path("reports/submission.pdf"), help="The PDF; its JSON twin is "
                             "written beside it (.json)."),
    junit: Path = typer.Option(Path("reports/junit.xml"), help="pytest JUnit XML of this "
                               "commit (`make test` writes it)."),
    audit_export: Path | None = typer.Option(
        None, help="A `cds audit export` directory: verified, and summarised in the pack."
    ),
) -> None:
    """The submission pack from this run's artifacts: intended use, classification, FMEA,
    verification and validation, red team, de-identification, lineage, model card, SOUP, audit
    trail, anomalies and labelling, with the hashes of every input. A missing input is an error
    that names it."""
    from governance.pack.contents import gather
    from governance.pack.render import render_pdf

    summary = None
    if audit_export is not None:
        from audit.export import verify_export

        summary = verify_export(audit_export).summary()
    contents = gather(Path("."), junit, summary)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(contents, indent=2) + "\n", encoding="utf-8")
    render_pdf(contents, Path("."), out)
    console.print(f"{out} and {out.with_suffix('.json')}: {len(contents['inputs'])} inputs, "
                  f"{len(contents['fmea']['open_controls'])} open controls")
