"""`cds model base|dataset|ranker`, `cds train sft|dpo`, `cds generate`: the models."""

import hashlib
import json
import sys
from pathlib import Path

import typer

from cds.cli._common import console, handle_errors
from cds.config import load_section

model_app = typer.Typer(help="Prepare the base model and the training data.", no_args_is_help=True)
train_app = typer.Typer(help="Fine-tune the model (QLoRA SFT, DPO).", no_args_is_help=True)
PARAMS = typer.Option(Path("params.yaml"), help="YAML file with the stage's section.")


@model_app.command("base")
@handle_errors
def base(params: Path = PARAMS, quiet: bool = typer.Option(False, "--quiet", "-q")) -> None:
    """Convert the packaged GGUF model (or copy a local HF directory) to artifacts/base/."""
    from cds.model.base import BaseModelConfig, prepare_base

    cfg = load_section(params, "base_model", BaseModelConfig)
    record = prepare_base(cfg)
    if not quiet:
        console.print(
            f"base_model: {record['architecture']} ({record['parameters']:,} parameters) "
            f"from {record['source'].get('file', record['source'].get('path'))} -> {cfg.out_dir}"
        )


@model_app.command("dataset")
@handle_errors
def dataset(params: Path = PARAMS, quiet: bool = typer.Option(False, "--quiet", "-q")) -> None:
    """Write SFT records and DPO pairs from the de-identified notes and their gold."""
    from cds.model.dataset import DatasetConfig, build_dataset

    cfg = load_section(params, "dataset", DatasetConfig)
    stats = build_dataset(cfg, show_progress=not quiet)
    if not quiet:
        console.print(
            f"dataset: SFT {stats.sft}, DPO {stats.dpo}, passages in prompt: "
            f"{stats.with_passages} -> {cfg.out_dir}"
        )


@model_app.command("ranker")
@handle_errors
def ranker(
    params: Path = PARAMS,
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as one JSON object."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Train the condition ranker (P(condition | note)) on the de-identified training notes."""
    from cds.model.ranker import RankerConfig, train_ranker

    cfg = load_section(params, "ranker", RankerConfig)
    metrics = train_ranker(cfg)
    if as_json:
        print(json.dumps(metrics))
    elif not quiet:
        held_out = metrics[cfg.eval_split]
        console.print(
            f"ranker: {metrics['train_notes']} notes, {metrics['conditions']} conditions, "
            f"{metrics['features']:,} features; {cfg.eval_split} top-1 {held_out.get('top1')}, "
            f"top-5 {held_out.get('top5')} (n={held_out['n']}) -> {cfg.out_dir}"
        )


def _train(stage: str, recipe: Path, resume: bool, quiet: bool) -> None:
    from cds.model.recipe import load_recipe

    r = load_recipe(recipe)
    if stage == "sft":
        from cds.model.train_sft import train_sft as train
    else:
        from cds.model.train_dpo import train_dpo as train
    meta = train(r, resume=resume, show_progress=not quiet)
    console.print(
        f"{stage}: {meta['records']} records, {meta['metrics']['global_step']} steps, train "
        f"loss {meta['metrics'].get('train_loss', float('nan')):.4f}, "
        f"{meta['train_seconds']:.0f} s -> {r.output_dir}"
    )


RESUME = typer.Option(False, help="Continue from the newest checkpoint.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars.")


@train_app.command("sft")
@handle_errors
def sft(
    recipe: Path = typer.Option(Path("recipes/sft_demo.yaml"), help="Recipe YAML."),
    resume: bool = RESUME,
    quiet: bool = QUIET,
) -> None:
    """QLoRA (or LoRA) supervised fine-tuning; saves the adapter and training_meta.json."""
    _train("sft", recipe, resume, quiet)


@train_app.command("dpo")
@handle_errors
def dpo(
    recipe: Path = typer.Option(Path("recipes/dpo_demo.yaml"), help="Recipe YAML."),
    resume: bool = RESUME,
    quiet: bool = QUIET,
) -> None:
    """DPO on the SFT adapter (reference = the adapter-disabled model)."""
    _train("dpo", recipe, resume, quiet)


@handle_errors
def generate(
    note_file: str = typer.Argument(..., help="A UTF-8 note file, or - for standard input."),
    adapter: Path | None = typer.Option(
        Path("artifacts/adapter/sft"), help="Adapter directory; --no-adapter for the base."
    ),
    no_adapter: bool = typer.Option(False, "--no-adapter", help="Use the base model alone."),
    base_model: Path = typer.Option(Path("artifacts/base"), help="Base model directory."),
    ddxplus_dir: Path = typer.Option(
        Path("data/external/ddxplus"), help="Where the condition list comes from."
    ),
    max_chars: int = typer.Option(20_000, help="Longer notes are refused."),
    params: Path = typer.Option(
        Path("params.yaml"),
        help="`dataset:`/`kb:`/`suggest:` sections: passages and candidates as in training.",
    ),
) -> None:
    """Generate a schema-valid differential for one note and print it as JSON.

    The prompt is built as in training: the numbered note, when the KB index exists the top
    retrieved passages, and when `suggest.ranker` is set the candidate conditions (the model
    writes only those). The note is not de-identified here (that is `cds suggest`). Bad
    input (empty, binary, invalid UTF-8, over --max-chars) exits 2 with one line and an
    `input_rejected` audit event (hash and reason, never the text)."""
    from cds.audit_log import OnDemandAuditSink
    from cds.model.generate import DifferentialGenerator, condition_codes
    from cds.schemas import Note
    from cds.text_input import decode_or_reject, read_note_bytes

    data, where = read_note_bytes(note_file, sys.stdin.buffer)
    sink = OnDemandAuditSink(params if params.exists() else None, "cli:generate")
    subject = f"generate-{hashlib.sha256(data).hexdigest()[:12]}"
    text = decode_or_reject(data, where, max_chars, sink, subject)
    note = Note.from_text("cli-note", "cli", text)
    passages, candidates, ranked = [], (), {}
    codes = condition_codes(ddxplus_dir)
    if params.exists():
        from cds.model.dataset import DatasetConfig, load_retriever, passages_for
        from cds.model.generate import choose_candidates
        from cds.model.ranker import ConditionRanker
        from cds.pipeline import SuggestConfig

        dataset_cfg = load_section(params, "dataset", DatasetConfig)
        retriever = load_retriever(dataset_cfg)
        passages = passages_for(retriever, note, dataset_cfg.passages)
        suggest = load_section(params, "suggest", SuggestConfig, missing_ok=True)
        if suggest.ranker is not None and suggest.candidates:
            ranker = ConditionRanker.load(suggest.ranker)
            ranked = {c: p for c, p in ranker.rank(note.text) if c in codes}
            pool = [] if retriever is None else retriever.retrieve(note, k=suggest.candidate_pool)
            candidates, _ = choose_candidates(
                ranked, pool, codes, suggest.candidates, suggest.ranker_min_probability
            )
    generator = DifferentialGenerator(base_model, codes, None if no_adapter else adapter)
    result = generator.generate(
        note, passages, candidates=candidates, candidate_probabilities=ranked
    )
    typer.echo(json.dumps(result.differential.model_dump(mode="json"), indent=2))
