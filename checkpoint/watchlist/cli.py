"""`checkpoint watchlist ...`: run a matcher or alert relay process, rebuild the Redis index, plant the demo watch."""

from __future__ import annotations

from typing import Annotated

import typer

from checkpoint.core.config import get_settings

app = typer.Typer(no_args_is_help=True)


@app.command()
def matcher(
    consumer: Annotated[str | None, typer.Option(help="consumer name in group 'watchlist' (default host-pid)")]
    = None,
    batch: Annotated[int, typer.Option(help="passes per batch")] = 500,
) -> None:
    """Match passes against the watchlist until SIGTERM or Ctrl-C (run as many as needed, anywhere)."""
    from checkpoint.core.db import Database
    from checkpoint.runtime import WorkerNeedsServers, worker_process
    from checkpoint.watchlist.worker import Matcher

    try:
        with worker_process("matcher") as (system, stop):
            assert Database.sessions is not None
            Matcher(system.bus, Database.sessions, consumer, system.settings.watchlist, batch=batch,
                    data_dir=system.settings.data_dir).run(stop)
    except WorkerNeedsServers as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None


@app.command()
def relay() -> None:
    """Publish the alerts outbox to `checkpoint:alerts` until SIGTERM or Ctrl-C (several are safe: one works
    at a time, in order), and keep the images of alerts raised without them."""
    from checkpoint.core.db import Database
    from checkpoint.runtime import WorkerNeedsServers, worker_process
    from checkpoint.watchlist.relay import Relay

    try:
        with worker_process("relay") as (system, stop):
            assert Database.sessions is not None
            Relay(system.bus, Database.sessions, system.settings.data_dir).run(stop)
    except WorkerNeedsServers as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None


@app.command()
def rebuild() -> None:
    """Refill the Redis watch index from PostgreSQL (matchers also do this when its version disagrees).

    The old index stays in use until the new one replaces it in one MULTI: a rebuild killed midway
    leaves it as it was."""
    from checkpoint.core.db import Database
    from checkpoint.runtime import running_system
    from checkpoint.watchlist.index import READY_KEY, rebuild

    with running_system(get_settings(), prepare=False) as system:
        assert Database.sessions is not None
        done = rebuild(system.bus, Database.sessions)
        typer.echo(f"index rebuilt with {system.bus.get(READY_KEY)!s} active watches" if done
                   else "another process is rebuilding the index")


@app.command("demo-watch")
def demo_watch() -> None:
    """Plant the demo watch on the busiest plate of recent traffic (what `checkpoint demo` does)."""
    from checkpoint.core.db import Database
    from checkpoint.runtime import running_system
    from checkpoint.watchlist.demo import plant_demo_watch

    with running_system(get_settings(), prepare=False) as system:
        assert Database.sessions is not None
        entry = plant_demo_watch(Database.sessions, system.bus)
    typer.echo(f"watching {entry.pattern} (watch {entry.id})" if entry else "no passes yet: start the traffic first")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
