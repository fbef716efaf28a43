"""What every command shares: consoles and the one place errors become messages."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from cds.errors import CdsError
from cds.settings import CdsSettings

console = Console(soft_wrap=True)
err_console = Console(stderr=True, highlight=False)

P = ParamSpec("P")
R = TypeVar("R")


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Expected failures -> one line on stderr and the error's exit code. Unexpected ones ->
    the exception class only (its message may quote input text), exit 1, no traceback unless
    CDS_DEBUG=1 (and even then without local variables)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CdsError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(e.exit_code) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as e:  # noqa: BLE001 - the boundary where every failure is reported
            if CdsSettings().debug:
                err_console.print("".join(traceback.format_exception(e)), markup=False)
            typer.echo(
                f"internal error: {type(e).__name__} (set CDS_DEBUG=1 for a traceback)", err=True
            )
            raise typer.Exit(1) from None

    return wrapper
