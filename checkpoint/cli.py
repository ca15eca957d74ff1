"""The `checkpoint` command: serve, demo, migrate, and each domain's own commands mounted."""

from __future__ import annotations

import logging
import time
from typing import Annotated

import typer
import uvicorn

from checkpoint.core.config import get_settings
from checkpoint.core.logging import setup_logging
from checkpoint.core.migrate import current_revision, upgrade
from checkpoint.lpr.cli import app as lpr_app
# GEODATA_IMPORT
from checkpoint.user_cli import app as user_app

app = typer.Typer(help="Checkpoint: road-checkpoint capture and network-wide watchlist hits.", no_args_is_help=True)
app.add_typer(user_app, name="user", help="Add and manage users.")
# GEODATA_MOUNT
app.add_typer(lpr_app, name="lpr", help="Plate recognition: read images, evaluate accuracy.")


def _serve(host: str | None, port: int | None) -> None:
    from checkpoint.main import create_app
    from checkpoint.runtime import running_system

    setup_logging()
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    started = time.monotonic()
    with running_system(settings) as system:
        server = uvicorn.Server(uvicorn.Config(create_app(), host=host, port=port, log_config=None,
                                               access_log=False))
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        typer.echo(f"Checkpoint console: http://{shown_host}:{port}/  (ready in {time.monotonic() - started:.1f} s)")
        if system.embedded.database_url:
            typer.echo(f"embedded PostgreSQL and Redis keep their data in {settings.data_dir.resolve()}")
        if system.first_admin_password:
            typer.echo("first start: created user 'admin' with password (shown once, change it after login):")
            typer.echo(f"    {system.first_admin_password}")
        server.run()
    logging.getLogger(__name__).info("core.stopped")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on (default CHECKPOINT_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default CHECKPOINT_PORT)")] = None,
) -> None:
    """Run the API and console (embedded PostgreSQL and Redis unless URLs are configured)."""
    _serve(host, port)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Run the whole system on the embedded default with the Huizhou reference data."""
    _serve(host, port)


@app.command()
def migrate() -> None:
    """Apply database migrations (also done at every start)."""
    from checkpoint.runtime import running_system

    with running_system(get_settings(), prepare=False, redis=False) as system:
        upgrade(system.engine)
        typer.echo(f"database at revision {current_revision(system.engine)}")


def main() -> None:
    app()
