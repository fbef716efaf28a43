"""`cds corpus`: build the demo corpus (first dvc stage)."""

from pathlib import Path

import typer

from cds.cli._common import console, handle_errors
from cds.config import load_section
from cds.corpus import CorpusConfig, build_corpus


@handle_errors
def corpus(
    params: Path = typer.Option(Path("params.yaml"), help="YAML file with a `corpus:` section."),
    seed: int | None = typer.Option(None, help="Override corpus.seed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Render DDXPlus patients as line-numbered clinical notes with synthetic PHI.

    Writes notes.jsonl (with gold pathology, differential and PHI spans), quarantine.jsonl
    (rejected source rows and why) and corpus_stats.json under corpus.out_dir.
    """
    cfg = load_section(params, "corpus", CorpusConfig)
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    stats = build_corpus(cfg, show_progress=not quiet)
    if not quiet:
        splits = ", ".join(f"{k} {v}" for k, v in stats.per_split.items())
        console.print(
            f"corpus: {stats.notes} notes ({splits}), "
            f"{stats.quarantined} quarantined -> {cfg.out_dir}"
        )
