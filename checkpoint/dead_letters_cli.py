"""`checkpoint dead-letters ...`: list the messages consumers gave up on, and replay them (audited)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from checkpoint.core import audit, dead_letters
from checkpoint.core.config import get_settings
from checkpoint.core.db import Database
from checkpoint.core.errors import DomainError
from checkpoint.runtime import running_system

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_command(
    stream: Annotated[str | None, typer.Option(help="only those from this stream (e.g. checkpoint:passes)")] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 100,
) -> None:
    """Dead letters, newest first: id, time, original stream and id, group, reason."""
    try:
        with running_system(get_settings(), prepare=False) as system:
            letters = dead_letters.list_dead(system.bus, stream, limit)
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    for letter in letters:
        typer.echo(f"{letter.id}\t{letter.dead_at.isoformat(timespec='seconds')}\t{letter.stream}\t"
                   f"{letter.original_id}\t{letter.group}\t{letter.reason}")
    typer.echo(f"{len(letters)} dead letter(s)", err=True)


@app.command("replay")
def replay_command(
    entry_id: Annotated[str | None, typer.Argument(help="the dead letter's id (from `list`)")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="every dead letter (of --stream if given)")] = False,
    stream: Annotated[str | None, typer.Option(help="with --all: only those from this stream")] = None,
    note: Annotated[str, typer.Option(help="why, for the audit log")] = "",
) -> None:
    """Put dead letters back on their original streams (consumers read them again); audited."""
    if (entry_id is None) == (not replay_all):
        typer.echo("error: give one dead letter's ID, or --all", err=True)
        raise typer.Exit(code=2)
    try:
        with running_system(get_settings(), prepare=False) as system:
            done = (dead_letters.replay_all(system.bus, stream) if replay_all
                    else [dead_letters.replay(system.bus, str(entry_id))])
            assert Database.sessions is not None
            with Database.sessions() as session:
                for letter, new_id in done:
                    audit.record(session, None, "dead_letter.replay", target=f"{letter.stream}:{letter.original_id}",
                                 reason=note or None, actor_name=f"cli:{getpass.getuser()}",
                                 detail={"dead_id": letter.id, "new_id": new_id, "group": letter.group,
                                         "dead_reason": letter.reason[:200]})
                session.commit()
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    for letter, new_id in done:
        typer.echo(f"replayed {letter.id} -> {letter.stream} {new_id}")
    typer.echo(f"{len(done)} replayed", err=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
