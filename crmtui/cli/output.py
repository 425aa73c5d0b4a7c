"""What the commands print: ``--json`` output, tables, records as fields, and ``Error:`` lines.

Every scripting command takes ``--json`` (the model's ``to_dict()``; lists as JSON arrays). Errors
of the domain, the store and the configuration become ``Error: <message>`` on stderr with exit
status 1 (:data:`USER_ERRORS`, turned into that line by the root command); usage errors are
click's (exit status 2).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NoReturn

import click

from crmtui.config import ConfigError
from crmtui.model import ValidationError
from crmtui.store import SchemaError, StorageError, StoreError

SHORT_ID = 8  # how many characters of an id the tables show
CELL_MAX = 36  # table cells longer than this are cut

# Errors that are the user's to fix: reported as "Error: <message>", exit status 1.
USER_ERRORS = (ValidationError, StoreError, StorageError, SchemaError, ConfigError, OSError)

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def fail(message: str) -> NoReturn:
    """Stop the command with ``Error: message`` on stderr and exit status 1."""
    raise click.ClickException(message)


@contextmanager
def option_errors(options: str | Mapping[str, str]) -> Iterator[None]:
    """Report a model ``ValidationError`` under the command-line option that caused it.

    ``options`` is one option name, or a map from model field names to option names. A qualified
    field such as ``address city`` keeps its qualifier: ``--address: city is ...``.
    """
    try:
        yield
    except ValidationError as exc:
        head, _, rest = exc.field.partition(" ")
        if isinstance(options, str):
            option, qualifier = options, rest
        elif exc.field in options:
            option, qualifier = options[exc.field], ""
        elif head in options:
            option, qualifier = options[head], rest
        else:
            raise
        problem = f"{qualifier} {exc.problem}" if qualifier else exc.problem
        raise ValidationError(option, problem, exc.value) from None


def emit_json(data: Any, err: bool = False) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False), err=err)


def short(record_id: str) -> str:
    return record_id[:SHORT_ID]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CELL_MAX else text[:CELL_MAX - 1] + "…"


def print_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    cells = [[_clip(cell) for cell in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                         strict=True)).rstrip())


def print_fields(title: str, pairs: Iterable[tuple[str, str]]) -> None:
    """A record as a title line and indented ``label: value`` lines (empty values left out)."""
    click.echo(title)
    shown = [(label, value) for label, value in pairs if value]
    width = max((len(label) for label, _ in shown), default=0) + 1
    for label, value in shown:
        lines = value.splitlines() or [""]
        click.echo(f"  {(label + ':').ljust(width)} {lines[0]}")
        for line in lines[1:]:
            click.echo(f"  {' ' * width} {line}")


def plural(count: int, noun: str) -> str:
    """``1 contact``, ``2 contacts``, ``1 activity`` (``noun`` is the plural)."""
    if count == 1:
        noun = noun[:-3] + "y" if noun.endswith("ies") else noun.removesuffix("s")
    return f"{count} {noun}"


def shown_time(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(sep=" ", timespec="seconds")


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print machine-readable JSON instead of text.")


def compose(*decorators: Decorator) -> Decorator:
    """Apply several decorators, the first one outermost (as if stacked in that order)."""
    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func
    return apply
