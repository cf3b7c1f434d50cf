"""Shared CLI plumbing: the store, error reporting and exit codes."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..maturity.bank import BankNotFoundError
from ..maturity.scoring import AnswerError
from ..services import audit_hooks
from ..services.errors import ServiceError
from ..store import Store, StoreError

console = Console()
err_console = Console(stderr=True)

EXIT_USER_ERROR = 1  # bad input, something not found, a refused action
EXIT_STORE_ERROR = 3  # the store cannot be opened


class _State:
    database_url: str | None = None


state = _State()


def fail(message: str, code: int = EXIT_USER_ERROR) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def open_store() -> Store:
    try:
        store = Store(state.database_url)
        store.upgrade()
        return store
    except (SQLAlchemyError, OSError) as exc:
        fail(
            f"cannot open the store ({exc.__class__.__name__}: {str(exc).splitlines()[0]})", EXIT_STORE_ERROR
        )


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the domain and service errors into one clean message and a non-zero exit (no traceback)."""
    try:
        yield
    except typer.Exit:
        raise
    except AnswerError as exc:
        lines = "\n".join(f"  {q}: {m}" for q, m in exc.problems)
        fail(f"{len(exc.problems)} problem(s) in the answers:\n{lines}")
    except (ServiceError, BankNotFoundError, StoreError) as exc:
        fail(str(exc))
    except ValueError as exc:  # includes the file-format errors of the adapters
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))


def cli_actor() -> str:
    """Who the audit trail names for a command: ``cli:<login name>`` of the operating-system user."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        name = "unknown"
    return f"cli:{name}"


@contextmanager
def session_scope() -> Iterator[Session]:
    """One unit of work for one command, with user errors reported cleanly."""
    with user_errors():
        store = open_store()
        try:
            with store.session() as session:
                audit_hooks.set_actor(session, cli_actor())
                yield session
        finally:
            store.dispose()


def print_json(data: Any) -> None:
    if isinstance(data, BaseModel):
        text = data.model_dump_json(indent=2)
    else:
        text = json.dumps(data, indent=2, default=str)
    sys.stdout.write(text + "\n")
