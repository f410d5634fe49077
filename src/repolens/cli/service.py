"""`repolens serve`, `project`, `runs` and `refresh`: the service from the command line.

These talk to the database directly (REPOLENS_DATABASE_URL, default the SQLite
file); a refresh writes its run and outbox message, and the server's
dispatcher picks it up."""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from repolens.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

project_app = typer.Typer(help="Add and list projects.", no_args_is_help=True)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Run the API and the embedded job runner (migrating the database first)."""
    import uvicorn

    from repolens.app import create_app
    from repolens.storage import migrate

    settings = Settings()
    migrate.upgrade(settings)
    _first_start(settings, base_url(settings, host, port))
    app = create_app(settings)
    # What is alive now (modules, the app) lives as long as the process: kept
    # out of the collector, a full collection no longer walks it and stalls
    # every connection for a few hundred milliseconds.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host or settings.api_host,
                port=port or settings.api_port, log_level="info",
                ws=settings.ws_protocol, ws_ping_interval=settings.ws_ping_seconds,
                ws_ping_timeout=settings.ws_ping_seconds,
                ws_per_message_deflate=settings.ws_compression)  # fmt: skip


def base_url(settings: Settings, host: str | None = None, port: int | None = None) -> str:
    """Where browsers reach the server: its public URL, else where it listens."""
    bound = f"http://{host or settings.api_host}:{port or settings.api_port}"
    return settings.public_url or bound


def _first_start(settings: Settings, base: str) -> None:
    """With no users yet: an admin, whose token and one-time sign-in link go to
    the terminal only (never to a log: without a terminal, only where the token
    was saved is said), and whose token the command line keeps (0600)."""
    import sys

    from repolens.cli import credentials
    from repolens.security import first_start

    made = first_start.welcome(_sessions(settings))
    if made is None:
        return
    saved = credentials.keep(settings.cli_config, made.token)
    say = Console(stderr=True, highlight=False, soft_wrap=True)  # a link is never folded
    say.print(f"repolens: this is the first start; user [bold]{made.username}[/] is the admin.")
    if sys.stderr.isatty():
        say.print(f"  sign in once (within a day): {first_start.link(base, made.link_code)}")
        say.print(f"  API token (shown only now):  {made.token}")
    else:
        say.print("  its token and sign-in link are shown on a terminal only; "
                  f"`repolens user link {made.username}` makes another link.")  # fmt: skip
    if saved:
        say.print(f"  the command line's token is kept in {settings.cli_config} (owner only).")


@project_app.command("add")
def project_add(
    name: str,
    repository_url: str,
    branch: Annotated[
        str | None, typer.Option(help="Branch to scan (default: the one HEAD names).")
    ] = None,
    plan_path: Annotated[str | None, typer.Option(help="Path of the plan file.")] = None,
) -> None:
    """Register a repository to analyse."""
    from repolens.git import arguments
    from repolens.security import project_fields
    from repolens.storage import projects

    settings = Settings()
    fields = project_fields.checked({"name": name, "repository_url": repository_url,
                                     "default_branch": arguments.revision(branch, "branch")
                                     if branch is not None else None,
                                     "plan_path": plan_path}, settings)  # fmt: skip
    with _sessions(settings).begin() as session:
        project = projects.create(session, **fields)
        print(f"project {project.id} {project.name}")


@project_app.command("list")
def project_list() -> None:
    """List the projects."""
    from repolens.storage import projects

    table = Table("id", "name", "repository", "branch")
    with _sessions()() as session:
        for project in projects.all(session):
            table.add_row(str(project.id), project.name, project.repository_url,
                          project.default_branch or "(HEAD)")  # fmt: skip
    Console().print(table)


def runs_command(
    project: Annotated[str | None, typer.Argument(help="Project name (default: all).")] = None,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
) -> None:
    """List recent runs."""
    from sqlalchemy import select

    from repolens.storage import models, projects

    table = Table("id", "project", "trigger", "status", "progress", "score", "queued")
    with _sessions()() as session:
        query = select(models.Run).order_by(models.Run.id.desc()).limit(limit)
        if project is not None:
            query = query.where(models.Run.project_id == projects.by_name(session, project).id)
        for run in session.scalars(query):
            table.add_row(str(run.id), run.project.name, run.trigger, run.status,
                          f"{run.progress}%", str(run.summary.get("score", "")),
                          run.queued_at.strftime("%Y-%m-%d %H:%M:%S"))  # fmt: skip
    Console().print(table)


def refresh(
    project: Annotated[str, typer.Argument(help="Project name.")],
    ref: Annotated[
        str | None, typer.Option(help="Branch, tag or commit (default: its branch).")
    ] = None,
) -> None:
    """Queue a scan of a project at high priority (or name the one already waiting)."""
    from repolens.git import arguments
    from repolens.jobs import lifecycle
    from repolens.storage import projects

    if ref is not None:
        arguments.revision(ref)
    with _sessions().begin() as session:
        found = projects.by_name(session, project)
        run, new = lifecycle.trigger(session, found.id, "manual", ref, requested_by="cli")
        print(f"run {run.id} queued" if new else f"run {run.id} is already queued")


def _sessions(settings: Settings | None = None) -> sessionmaker[Session]:
    from repolens.storage import db, migrate

    settings = settings or Settings()
    migrate.upgrade(settings)
    return db.sessions(db.engine(settings))


def worker(
    concurrency: Annotated[int, typer.Option(help="Scans at once in this worker.")] = 1,
    queues: Annotated[str, typer.Option(help="Queues to consume, first first.")] = (
        "high,default,low,notify,report"
    ),
    name: Annotated[str | None, typer.Option(help="Node name (default repolens-PID@host).")] = None,
) -> None:
    """Run a Celery worker (needs REPOLENS_BROKER_URL and REPOLENS_DATABASE_URL)."""
    app = _celery()
    node = name or f"repolens-{os.getpid()}@%h"
    app.worker_main(["worker", "--queues", queues, "--concurrency", str(concurrency),
                     "--hostname", node, "--loglevel", "INFO", "--without-gossip",
                     "--without-mingle"])  # fmt: skip


def flower(
    port: Annotated[int, typer.Option(help="Port of the monitor's web page.")] = 5555,
    address: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
) -> None:
    """Run Flower, Celery's monitor, on this deployment's broker (`pip install flower`)."""
    _celery().start(["flower", f"--port={port}", f"--address={address}"])


def beat() -> None:
    """Run Celery beat: the reaper and outbox passes on their schedule."""
    settings = Settings()
    schedule = settings.data_dir / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    _celery().start(["beat", "--loglevel", "INFO", "--schedule", str(schedule)])


def _celery() -> Any:
    from repolens.errors import InputError
    from repolens.jobs.backends import celery

    settings = Settings()
    if not settings.broker_url:
        raise InputError("set REPOLENS_BROKER_URL (redis://… or amqp://…) to run workers")
    return celery.create(settings)
