"""`repolens user …`, `repolens member add` and `repolens token create`: the
accounts of a deployment, managed on its machine (straight in its database)."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from repolens.cli.service import _sessions, base_url
from repolens.errors import Refused

user_app = typer.Typer(help="Add, list and disable users.", no_args_is_help=True)
member_app = typer.Typer(help="Give users roles on projects.", no_args_is_help=True)
token_app = typer.Typer(help="Make API tokens for users.", no_args_is_help=True)


@user_app.command("create")
def user_create(
    username: str,
    email: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    admin: Annotated[bool, typer.Option(help="The instance's admin.")] = False,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
    sso: Annotated[bool, typer.Option(help="No password: signs in through SSO only.")] = False,
    tier: Annotated[str | None, typer.Option(help="What they may run (REPOLENS_TIERS).")] = None,
) -> None:
    """Add a user; their password is asked for (never taken on the command line)."""
    from repolens.security import identity, quotas
    from repolens.settings import Settings

    settings = Settings()
    tier = quotas.tier_named(settings, tier)  # before a password is asked for
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not sso:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _sessions(settings).begin() as session:
        user = identity.create(session, username, password=password, email=email,
                               display_name=name, admin=admin, tier=tier)  # fmt: skip
        print(f"user {user.id} {user.username}{' (admin)' if user.admin else ''}")


@user_app.command("list")
def user_list() -> None:
    """List the users."""
    from repolens.security import identity

    table = Table("id", "username", "email", "tier", "admin", "disabled")
    with _sessions()() as session:
        for user in identity.all(session):
            table.add_row(str(user.id), user.username, user.email or "", user.tier,
                          "yes" * user.admin,
                          "yes" * user.disabled)  # fmt: skip
    Console().print(table)


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable a user: their tokens stop working at once."""
    from repolens.security import identity

    with _sessions().begin() as session:
        identity.by_name(session, username).disabled = True
    print(f"user {username} disabled")


@user_app.command("link")
def user_link(
    username: str,
    hours: Annotated[int, typer.Option(min=1, max=168, help="Hours it works.")] = 24,
) -> None:
    """Print a one-time sign-in link for USERNAME (a lost password, a first visit)."""
    from repolens.security import first_start, identity
    from repolens.settings import Settings

    settings = Settings()
    with _sessions(settings).begin() as session:
        code = identity.issue_link(session, identity.by_name(session, username),
                                   timedelta(hours=hours))  # fmt: skip
    print(first_start.link(base_url(settings), code))


@member_app.command("add")
def member_add(
    username: str,
    project: str,
    role: Annotated[str, typer.Option(help="viewer, maintainer or admin.")] = "viewer",
) -> None:
    """Give USERNAME ROLE on PROJECT (by name)."""
    from repolens.security import identity
    from repolens.storage import projects
    from repolens.storage.models import Role

    if role not in {r.value for r in Role}:
        raise Refused("the role is one of viewer, maintainer, admin")
    with _sessions().begin() as session:
        user, found = identity.by_name(session, username), projects.by_name(session, project)
        identity.add_member(session, user.id, found.id, Role(role))
    print(f"{username} is {role} of {project}")


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    scope: Annotated[
        list[str] | None, typer.Option(help="read, write or admin; repeatable.")
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="Days until it expires (default: never).")
    ] = None,
) -> None:
    """A token for USERNAME's scripts, printed once: only its digest is kept."""
    from repolens.security import identity
    from repolens.security.policy import Scope

    wanted = scope or ["read", "write"]
    if not set(wanted) <= {s.value for s in Scope}:
        raise Refused("a scope is one of read, write, admin")
    with _sessions().begin() as session:
        _, secret = identity.issue_token(session, identity.by_name(session, username), name,
                                         [Scope(s) for s in wanted],
                                         timedelta(days=days) if days else None)  # fmt: skip
    print(secret)
