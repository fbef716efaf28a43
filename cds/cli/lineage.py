"""`cds lineage`: git commit, dvc.lock output hashes and package versions, as JSON."""

import json
from pathlib import Path

import typer

from cds.cli._common import console, handle_errors
from governance.lineage import collect_lineage


@handle_errors
def lineage(
    root: Path = typer.Option(Path("."), help="Project root holding dvc.lock."),
) -> None:
    """Print the lineage of the current workspace as one JSON object on stdout."""
    console.print_json(json.dumps(collect_lineage(root).model_dump(mode="json")))
