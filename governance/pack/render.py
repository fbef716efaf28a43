"""The PDF of the pack (reportlab), drawn only from the gathered contents (`contents.gather`)."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (
    Image,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

SECTIONS = (
    "1. Device description and intended use",
    "2. Classification",
    "3. Risk management (FMEA)",
    "4. Verification and validation",
    "5. Red team",
    "6. De-identification",
    "7. Data lineage",
    "8. Model card",
    "9. SOUP and SBOM",
    "10. Audit trail",
    "11. Unresolved anomalies",
    "12. Labelling",
    "13. Requirements and traceability",
    "14. Cybersecurity",
    "15. Predetermined change control plan",
    "16. Input artifacts",
)
_styles = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=_styles["BodyText"], fontSize=9, leading=11.5)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=7.5, leading=9)
WIDTH = A4[0] - 3 * cm


def _p(text, style=BODY) -> Paragraph:
    from xml.sax.saxutils import escape

    return Paragraph(escape(str(text)), style)


def _table(header: list[str], rows: list[list], widths: list[float] | None = None) -> Table:
    data = [[_p(h, CELL) for h in header]] + [[_p(c, CELL) for c in r] for r in rows]
    cols = [WIDTH * w for w in widths] if widths else None
    t = Table(data, colWidths=cols, repeatRows=1)
    t.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE3EA")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return t


def _ci(m: dict | None) -> str:
    if not m or m.get("value") is None:
        return "-"
    lo, hi = m["ci95"]
    return f"{m['value']:.3f} [{lo:.3f}, {hi:.3f}]"


def _image(path: Path, width: float = WIDTH) -> Image:
    img = Image(str(path))
    scale = width / img.imageWidth
    img.drawWidth, img.drawHeight = width, img.imageHeight * scale
    return img


def scope_text(scope: dict) -> str:
    excluded = ", ".join(scope["excluded"]) or "none"
    return (f" ({len(scope['selected'])} selections; excluded: {excluded}), at commit "
            f"{(scope['git_commit'] or 'unknown')[:12]}"
            + (" with uncommitted source changes" if scope["git_dirty"] else "")
            + f", in {scope['seconds']} s")


def render_pdf(c: dict, root: Path, out: Path) -> None:
    from governance.pack.contents import PLOTS

    story: list = []
    h1, h2 = _styles["Title"], _styles["Heading2"]
    story += [Spacer(1, 4 * cm), _p(f"Submission pack: {c['device']}", h1),
              _p("SaMD documentation pack (FMEA, classification, 510(k)-style summary)"),
              Spacer(1, 1 * cm),
              _p(f"Git commit {c['git_commit']}" + (" (uncommitted changes)" if c["git_dirty"]
                                                     else "")),
              _p(f"Generated {c['generated_at']} from {len(c['inputs'])} input artifacts "
                 "(hashes in section 16)."), PageBreak()]

    use = c["intended_use"]
    story += [_p(SECTIONS[0], h2), _p(f"Intended use: {use['intended_use']}"),
              _p(f"Users: {', '.join(use['users'])}"), _p(f"Indications: {use['indications']}"),
              _p(f"Contraindications: {use['contraindications']}")]

    from governance.pack.architecture import drawing

    arch = c["architecture"]
    story += [Spacer(1, 6), _p("Software description: four packages; an arrow means \"imports\" "
                               "(generated from the source tree)."),
              drawing(arch, WIDTH),
              _p("cds: schemas, CLI, the guarded suggest pipeline, model, guardrails, evaluation. "
                 "rag: the vetted knowledge base, retrieval, citation checks. governance: "
                 "de-identification, lineage, hazards, FMEA, classification, this pack. audit: "
                 "the tamper-evident event log, e-signatures and the review queue (it imports "
                 "none of the others).")]
    cl = c["classification"]
    story += [_p(SECTIONS[1], h2), _table(["item", "result", "rationale"], [
        ["IMDRF SaMD category", cl["imdrf_category"], cl["imdrf_rationale"]],
        ["IEC 62304 safety class", cl["iec62304_class"], cl["iec62304_rationale"]],
        ["FDA documentation level", cl["fda_documentation_level"], cl["iec62304_rationale"]],
        ["FDA CDS criteria", "Non-Device CDS" if cl["cds_non_device"] else "device function",
         cl["cds_rationale"]],
    ], [0.22, 0.15, 0.63])]
    story += [Spacer(1, 4), _table(["CDS criterion", "met", "reason"], [
        [k["criterion"], "yes" if k["met"] else "no", k["reason"]] for k in use["cds_criteria"]
    ], [0.35, 0.08, 0.57])]

    f = c["fmea"]
    story += [_p(SECTIONS[2], h2),
              _p("RPN = S x O x D, before -> after controls; risk from the ISO 14971 P x S "
                 "index (<= 4 acceptable, <= 9 ALARP). A control is open when its test failed "
                 "or is missing, or its acceptance criterion is not met."),
              _table(["hazard", "harm", "S", "O", "D", "RPN", "risk after", "controls (open)"], [
                  [f"{r['id']}: {r['hazard']}", r["harm"], r["severity"],
                   f"{r['before']['occurrence']}->{r['after']['occurrence']}",
                   f"{r['before']['detection']}->{r['after']['detection']}",
                   f"{r['before']['rpn']}->{r['after']['rpn']}", r["after"]["risk"],
                   ", ".join(r["controls"]) + (f" (open: {', '.join(r['open_controls'])})"
                                               if r["open_controls"] else "")]
                  for r in f["hazards"]], [0.23, 0.15, 0.04, 0.06, 0.06, 0.08, 0.14, 0.24]),
              Spacer(1, 4),
              _table(["control", "status", "verified by"], [
                  [f"{k['id']}: {k['description']}", k["status"],
                   "; ".join(f"{t} ({s})" for t, s in k["tests"].items())
                   + (f"; {k['acceptance']['path']} = {k['acceptance']['measured']} "
                      f"{k['acceptance']['op']} {k['acceptance']['value']}"
                      if k["acceptance"] else "")]
                  for k in f["controls"]], [0.35, 0.08, 0.57])]

    v, e = c["verification"], c["evaluation"]
    p = e["pipeline"]
    story += [PageBreak(), _p(SECTIONS[3], h2),
              _p(f"Automated tests of this commit: {v['passed']} passed, {len(v['failed'])} "
                 f"failed, {v['skipped']} skipped (of {v['tests']})."),
              _p("Run by the `verify` stage: the tests the risk controls and requirements cite"
                 f"{scope_text(v['scope'])}." if v["scope"] else
                 "Scope not recorded (a JUnit XML given by hand)."),
              Spacer(1, 6),
              _p(f"Clinical performance on {e['set']} (n = {e['n']}), 95% bootstrap CIs:"),
              Spacer(1, 2),
              _table(["run", "top-1", "top-5", "MRR", "DDF1"], [
                  [name, _ci(r["top1"]), _ci(r["top5"]), _ci(r["mrr"]), _ci(r["ddf1"])]
                  for name, r in {"pipeline": p, **e["baselines"]}.items()]),
              Spacer(1, 8),
              _table(["measure", "value"], [
                  ["schema-valid rate", _ci(p["schema_valid_rate"])],
                  ["citation existence / support", f"{_ci(p['citation_existence_rate'])} / "
                   f"{_ci(p['citation_support_rate'])}"],
                  ["ECE (calibrated) [95% CI over cases]",
                   f"{e['ece']} {p.get('ece_95ci', '')}".strip()],
                  ["the model's own items: top-1 / top-5",
                   f"{_ci(p.get('model_top1'))} / {_ci(p.get('model_top5'))}"],
                  ["routes", ", ".join(f"{k} {n}" for k, n in p["routes"].items())],
                  ["auto-routed: top-1 / wrong first item",
                   f"{_ci(p.get('auto_top1'))} / {p.get('wrong_auto', '-')}"],
                  ["abstention rate", _ci(p["abstention_rate"])],
                  ["PHI leaks in output", e["phi_leaks"]],
                  ["latency p50 / p95 total (s)",
                   f"{p['latency_s']['total']['p50']} / {p['latency_s']['total']['p95']}"],
              ], [0.4, 0.6]),
              _image(root / PLOTS["accuracy"]), _image(root / PLOTS["subgroups"], WIDTH * 0.7),
              _image(root / PLOTS["reliability"], WIDTH * 0.45)]

    story += [PageBreak(), _p(SECTIONS[4], h2),
              _table(["measure", "value"], [[k, v] for k, v in c["redteam"].items()]),
              _image(root / PLOTS["redteam"], WIDTH * 0.8)]

    d = c["deidentification"]
    story += [_p(SECTIONS[5], h2), _table(["measure", "value"], [
        [k, v] for k, v in d.items() if not isinstance(v, dict | list)]),
        Spacer(1, 4), _table(["PHI type", "gold", "detected"], [
            [t, n, d.get("detected_per_type", {}).get(t, 0)]
            for t, n in sorted(d.get("gold_per_type", {}).items())])]

    lin = c["lineage"]
    story += [PageBreak(), _p(SECTIONS[6], h2),
              _p(f"Git commit {c['git_commit']}; knowledge base: {lin['kb_documents']} indexed "
                 "documents. dvc.lock outputs:"),
              _table(["stage", "output", "md5"], [
                  [stage, o["path"], (o["md5"] or "")[:16]]
                  for stage, outs in lin["stages"].items() for o in outs], [0.2, 0.55, 0.25]),
              Spacer(1, 4), _p("Dataset cards (data/external/*/SOURCE.md and LICENSE.md):"),
              _table(["folder", "data set", "licence"], [
                  [d["folder"], d["title"], d["licence"] or "see LICENSE.md"]
                  for d in lin["datasets"]], [0.2, 0.62, 0.18])]

    mc = c["model_card"]
    story += [_p(SECTIONS[7], h2), _table(["field", "value"], [
        ["base model", mc["base_model"]], ["adapter", mc["adapter"]],
        ["condition ranker", mc["condition_ranker"]],
        ["base hash", mc["base_hash"]], ["training data hash", mc["data_hash"]],
        ["seed", mc["seed"]], ["training seconds", mc["train_seconds"]],
        ["limitations", "; ".join(mc["limitations"])],
    ], [0.25, 0.75]), Spacer(1, 4), _table(["subgroup", "n", "top-1", "top-5"], [
        [f"{kind} {name}", g["n"], _ci(g["top1"]), _ci(g["top5"])]
        for kind, groups in mc["subgroups"].items() for name, g in groups.items()],
        [0.3, 0.1, 0.3, 0.3])]

    key = set(lin["packages"])
    story += [PageBreak(), _p(SECTIONS[8], h2),
              _p(f"{len(c['soup'])} Python distributions are installed; the key ones are below, "
                 "the full list is in the JSON twin and `cds docs sbom` (CycloneDX)."),
              _table(["package", "version", "licence"], [
                  [s["name"], s["version"], s["licence"]] for s in c["soup"]
                  if s["name"] in key], [0.35, 0.2, 0.45])]

    a = c["audit"]
    story += [_p(SECTIONS[9], h2), _p(
        "No audit summary was given." if a is None else
        f"Verified {a.get('source', 'audit trail')}: {a['events']} events, "
        f"{a['checkpoints']} checkpoints, {a['signatures']} e-signatures; "
        f"verification {'intact' if a['ok'] else 'FAILED at seq ' + str(a['first_bad_seq'])}; "
        f"last checkpoint covers {a['sealed_events']} events, head {a['head_hash'][:16]}.")]

    an = c["anomalies"]
    story += [_p(SECTIONS[10], h2), _table(["kind", "items"], [
        ["failed tests", ", ".join(an["failed_tests"]) or "none"],
        ["requirements not verified by this run's tests",
         ", ".join(an["unverified_requirements"]) or "none"],
        ["open risk controls", ", ".join(an["open_controls"]) or "none"],
        ["risks unacceptable after controls",
         ", ".join(an["unacceptable_after_controls"]) or "none"],
    ], [0.3, 0.7])]
    story += [_p(SECTIONS[11], h2), _p(c["labelling"])]

    tr = c["traceability"]
    story += [PageBreak(), _p(SECTIONS[12], h2), _table(
        ["requirement", "design", "tests", "result"],
        [[f"{r['id']}: {r['text']}", ", ".join(r["design"]), "\n".join(r["tests"]),
          r["result"]] for r in tr["requirements"]], [0.34, 0.2, 0.36, 0.1])]
    story += [_p(SECTIONS[13], h2), _table(
        ["threat", "vector", "controls (status)"],
        [[t["threat"], t["vector"], ", ".join(f"{k} ({v})" for k, v in t["status"].items())]
         for t in tr["threats"]], [0.3, 0.3, 0.4])]
    pc = c["change_control_plan"]
    story += [_p(SECTIONS[14], h2), _p("May change under this plan: " + "; ".join(
        pc["may_change"]) + "."), _p("May not change: " + ", ".join(pc["may_not_change"]) + "."),
        _table(["acceptance criterion for a changed version", "value"],
               [[k.replace("_", " "), v] for k, v in pc["acceptance"].items()], [0.6, 0.4])]
    story += [_p(SECTIONS[15], h2), _table(["artifact", "sha256"], [
        [k, h] for k, h in c["inputs"].items()], [0.4, 0.6])]

    out.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(str(out), pagesize=A4, leftMargin=1.5 * cm, rightMargin=1.5 * cm,
                            topMargin=1.5 * cm, bottomMargin=1.5 * cm,
                            title=f"Submission pack: {c['device']}")

    def footer(canvas, doc_) -> None:
        canvas.setFont("Helvetica", 7)
        canvas.drawString(1.5 * cm, 0.8 * cm, f"{c['device']} - commit "
                          f"{(c['git_commit'] or '')[:12]} - page {doc_.page}")

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
