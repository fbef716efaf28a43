"""The `cds` command. Wiring only: each command lives in its own module."""

import typer

from cds.cli import audit, deid, docs, kb, model, review, suggest
from cds.cli.corpus import corpus
from cds.cli.eval import evaluate
from cds.cli.lineage import lineage

app = typer.Typer(
    name="cds",
    help="Audited clinical decision support toolkit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,  # locals may hold PHI
)
app.command("corpus")(corpus)
app.command("lineage")(lineage)
app.add_typer(deid.app, name="deid")
app.add_typer(kb.app, name="kb")
app.add_typer(model.model_app, name="model")
app.add_typer(model.train_app, name="train")
app.command("generate")(model.generate)
app.add_typer(suggest.guardrails_app, name="guardrails")
app.command("suggest")(suggest.suggest)
app.command("calibrate")(suggest.calibrate)
app.command("redteam")(suggest.redteam)
app.command("eval")(evaluate)
app.add_typer(review.app, name="review")
app.add_typer(audit.app, name="audit")
app.add_typer(audit.users_app, name="users")
app.add_typer(docs.app, name="docs")


def main() -> None:
    app()
