"""`cds kb build|search|show|eval`: the vetted knowledge base (dvc stage `kb`)."""

import json
from pathlib import Path

import typer
from rich.table import Table

from cds.cli._common import console, handle_errors
from cds.config import load_section

app = typer.Typer(
    help="Build, search, inspect and evaluate the knowledge base.", no_args_is_help=True
)
PARAMS = typer.Option(Path("params.yaml"), help="YAML file with a `kb:` section.")


def _config(params: Path):
    from rag.build import KbConfig

    return load_section(params, "kb", KbConfig)


def _kb(params: Path):
    from rag.kb import KnowledgeBase

    return KnowledgeBase(_config(params))


@app.command("build")
@handle_errors
def build(
    params: Path = PARAMS,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Collect approved documents, split passages, embed and persist the hybrid index."""
    from rag.build import build_kb

    cfg = _config(params)
    stats = build_kb(cfg, show_progress=not quiet)
    if not quiet:
        console.print(
            f"kb: {stats.approved_documents}/{stats.documents} documents approved, "
            f"{stats.indexed_passages} passages indexed, {stats.new_versions} new versions "
            f"archived, {stats.build_seconds:.1f} s -> {cfg.index_dir}"
        )


@app.command("search")
@handle_errors
def search(
    query: str = typer.Argument(..., help="Free text (a question, findings, a note)."),
    k: int = typer.Option(5, "-k", min=1, max=50, help="How many passages."),
    as_json: bool = typer.Option(False, "--json", help="Print the passages as JSON."),
    params: Path = PARAMS,
) -> None:
    """Hybrid (dense + BM25) retrieval, as `suggest` and the SFT dataset use it."""
    passages = _kb(params).retrieve(query, k)
    if as_json:
        typer.echo(json.dumps([p.model_dump() for p in passages]))
        return
    table = Table("rank", "passage", "version", "score", "dense", "bm25", "text")
    table.columns[1].no_wrap = True
    for i, p in enumerate(passages, start=1):
        table.add_row(
            str(i),
            p.passage_id,
            p.version[:8],
            f"{p.score:.4f}",
            str(p.dense_rank or "-"),
            str(p.lexical_rank or "-"),
            p.text[:120] + ("..." if len(p.text) > 120 else ""),
        )
    console.print(table)


@app.command("show")
@handle_errors
def show(
    ref: str = typer.Argument(..., help="A doc_id, or a passage id `doc_id#n`."),
    version: str | None = typer.Option(None, help="A past version (default: the current one)."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    params: Path = PARAMS,
) -> None:
    """A document's manifest entry and passages, or one passage, at a version."""
    from rag.errors import KbError

    kb = _kb(params)
    doc_id = ref.split("#", 1)[0]
    entry = kb.manifest.entry(doc_id)
    if entry is None:
        raise KbError(f"{doc_id}: not in the KB manifest")
    version = version or entry.version
    known = kb.archive.versions(doc_id)
    if version not in known:
        raise KbError(f"{doc_id}: no version {version} (known: {', '.join(known) or 'none'})")
    passages = kb.archive.passages(doc_id, version) or {}
    if "#" in ref:
        if ref not in passages:
            raise KbError(f"{ref}: no such passage at version {version}")
        passages = {ref: passages[ref]}
    if as_json:
        out = entry.model_dump() | {"shown_version": version, "passages": passages}
        typer.echo(json.dumps(out))
        return
    console.print(
        f"[bold]{entry.title}[/bold]\n{entry.doc_id} version {version}"
        f"{' (current)' if version == entry.version else ' (archived)'}; {entry.publisher}; "
        f"{entry.licence}; {entry.approval} by {entry.approver or '-'} on "
        f"{entry.approved_on or '-'}\n{entry.source_url}"
    )
    for pid, text in passages.items():
        console.print(f"\n[bold]{pid}[/bold]\n{text}", markup=True, highlight=False)


@app.command("eval")
@handle_errors
def evaluate(
    pubmedqa: Path | None = typer.Option(
        None, help="PubMedQA file (ori_pqal.json format): index its contexts, query questions."
    ),
    notes: Path | None = typer.Option(
        None, help="Corpus JSONL: is the gold condition's sheet in the top k? (uses the KB)"
    ),
    split: str | None = typer.Option(None, help="Only this split of --notes."),
    limit: int | None = typer.Option(None, min=1, help="Only the first N queries."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as one JSON object."),
    params: Path = PARAMS,
) -> None:
    """Recall@1/5/10, MRR and query latency p50/p95 (ms)."""
    from rag.errors import KbError
    from rag.evaluate import evaluate_notes, evaluate_pubmedqa

    if (pubmedqa is None) == (notes is None):
        raise KbError("give exactly one of --pubmedqa FILE or --notes FILE")
    cfg = _config(params) if params.exists() else None
    if pubmedqa is not None:
        from rag.build import KbConfig

        cfg = cfg or KbConfig()
        metrics = evaluate_pubmedqa(
            pubmedqa,
            cfg.embedding_model,
            cfg.chunk_size,
            cfg.chunk_overlap,
            cfg.lexical_weight,
            limit=limit,
        )
    else:
        metrics = evaluate_notes(notes, _kb(params).retriever, split, limit=limit)
    if as_json:
        typer.echo(metrics.model_dump_json())
        return
    console.print(
        f"{metrics.set}: n={metrics.n} recall@1 {metrics.recall_at_1:.3f} @5 "
        f"{metrics.recall_at_5:.3f} @10 {metrics.recall_at_10:.3f} MRR {metrics.mrr:.3f}; "
        f"query p50 {metrics.p50_ms:.1f} ms p95 {metrics.p95_ms:.1f} ms"
    )
