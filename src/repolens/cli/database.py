"""`repolens db …`: the schema of the service's database."""

from __future__ import annotations

from typing import Annotated

import typer

from repolens.settings import Settings

app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)


@app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Migrate the database (REPOLENS_DATABASE_URL, default a SQLite file) up to REVISION."""
    from repolens.storage import migrate  # Alembic and SQLAlchemy only for this command

    migrate.upgrade(Settings(), revision)


@app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1.")]) -> None:
    """Migrate the database down to REVISION."""
    from repolens.storage import migrate

    migrate.downgrade(Settings(), revision)
