"""`checkpoint user ...`: user administration from the shell (e.g. before any admin can log in)."""

from __future__ import annotations

import getpass
from contextlib import AbstractContextManager
from typing import Annotated

import typer

from checkpoint.core import audit, users
from checkpoint.core.config import get_settings
from checkpoint.core.db import Database
from checkpoint.core.errors import DomainError
from checkpoint.core.security import generate_password
from checkpoint.runtime import System, running_system

app = typer.Typer(no_args_is_help=True)
ROLE_HELP = ("officer, dispatcher, investigator, planner; one of admin, security_admin, auditor, approver "
             "(三员分立); repeatable")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _sessions() -> AbstractContextManager[System]:
    return running_system(get_settings(), prepare=True, redis=False)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[list[str], typer.Option("--role", "-r", help=ROLE_HELP)],
    display_name: Annotated[str, typer.Option(help="name shown in the console")] = "",
    unit: Annotated[str, typer.Option(help="police unit")] = "",
    password: Annotated[bool, typer.Option("--password/--generate", help="type a password, or generate one")] = False,
) -> None:
    """Add a user; a generated password is printed once."""
    secret = getpass.getpass("password: ") if password else generate_password()
    try:
        users.parse_roles(role)
        with _sessions() as _system:
            assert Database.sessions is not None
            with Database.sessions() as session:
                user = users.create(session, username=name, password=secret, roles=role,
                                    display_name=display_name, unit=unit or None)
                audit.record(session, None, "user.create", target=user.username, actor_name="cli",
                             detail={"roles": user.roles})
                session.commit()
    except DomainError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"user {name} added with roles {', '.join(user.roles)}")
    if not password:
        typer.echo(f"password (shown once): {secret}")


@app.command("list")
def list_users() -> None:
    """List users with their roles."""
    with _sessions() as _system:
        assert Database.sessions is not None
        with Database.sessions() as session:
            for user in users.list_users(session):
                state = "active" if user.active else "disabled"
                typer.echo(f"{user.username:20} {','.join(user.roles):30} {state}")


@app.command("passwd")
def passwd(name: Annotated[str, typer.Argument(help="login name")]) -> None:
    """Set a new generated password for a user (printed once); their tokens stop working."""
    secret = generate_password()
    try:
        with _sessions() as _system:
            assert Database.sessions is not None
            with Database.sessions() as session:
                user = users.get_by_name(session, name)
                if user is None:
                    raise _fail(f"user {name!r} does not exist")
                users.update(session, user, password=secret)
                audit.record(session, None, "user.update", target=name, actor_name="cli",
                             detail={"changed": ["password"]})
                session.commit()
    except DomainError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"new password for {name} (shown once): {secret}")
