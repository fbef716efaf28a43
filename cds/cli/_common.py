"""What every command shares: consoles and the one place errors become messages."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from audit.errors import AuditError
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
        except (CdsError, AuditError) as e:
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


def read_password(prompt: str, from_stdin: bool, confirm: bool = False) -> str:
    """A password from the terminal (not echoed), or one line of standard input for scripts
    (`--password-stdin`). Never from an argument: it would sit in the shell history."""
    import sys

    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise typer.BadParameter("--password-stdin: no line left on standard input")
        return line.rstrip("\r\n")
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
