"""`medcyber accounts`: user accounts, organisation roles and API tokens (operator commands).

These run with direct access to the store, as the operator: no sign-in is asked for.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ..accounts.policy import ORG_ROLES, TOKEN_SCOPES
from ..services import accounts as svc
from ..services.assessments import find_organisation
from .common import console, fail, print_json, session_scope

app = typer.Typer(help="User accounts, organisation roles and API tokens.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts: create, grant roles, reset passwords, list.", no_args_is_help=True)
token_app = typer.Typer(
    help="API tokens for scripts and CI (one organisation each, revocable).", no_args_is_help=True
)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


def _check_role(role: str | None) -> None:
    if role is not None and role not in ORG_ROLES:
        fail(f"--role must be one of: {', '.join(ORG_ROLES)} (got {role!r})")


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The person's e-mail address (their sign-in name).")],
    org: Annotated[str | None, typer.Option("--org", help="Organisation to make them a member of.")] = None,
    role: Annotated[str | None, typer.Option("--role", help=f"Role there: {', '.join(ORG_ROLES)}.")] = None,
    steward: Annotated[
        bool, typer.Option("--steward", help="Benchmark steward (cohort statistics).")
    ] = False,
    site_admin: Annotated[bool, typer.Option("--site-admin", help="Site administrator (accounts).")] = False,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
) -> None:
    """Create an account and print its one-time temporary password (to be changed at first sign-in)."""
    _check_role(role)
    if (org is None) != (role is None):
        fail("give --org and --role together")
    if org is None and not (steward or site_admin):
        fail("give --org and --role, or a platform role (--steward, --site-admin)")
    with session_scope() as session:
        organisation = find_organisation(session, org) if org else None
        account = svc.create_user(session, email, display_name=name, steward=steward, site_admin=site_admin)
        if organisation is not None and role is not None:
            svc.add_membership(session, account.user, organisation, role)
        email_saved = account.user.email
        temporary = account.temporary_password
    where = f" as {role} of {org}" if org else ""
    console.print(f"account [bold]{email_saved}[/] created{where}", highlight=False)
    console.print("temporary password (shown once, must be changed at first sign-in):")
    typer.echo(temporary)


@user_app.command("grant")
def user_grant(
    email: Annotated[str, typer.Argument(help="An existing account.")],
    org: Annotated[str, typer.Option("--org", help="Organisation.")],
    role: Annotated[str, typer.Option("--role", help=f"Role there: {', '.join(ORG_ROLES)}.")],
) -> None:
    """Make an existing account a member of an organisation, or change its role there."""
    _check_role(role)
    with session_scope() as session:
        svc.add_membership(session, svc.get_user(session, email), find_organisation(session, org), role)
    console.print(f"{email.strip().lower()} is {role} of {org}", highlight=False)


@user_app.command("reset-password")
def user_reset_password(email: Annotated[str, typer.Argument(help="The account.")]) -> None:
    """Replace the password by a one-time temporary one and sign the account out everywhere."""
    with session_scope() as session:
        temporary = svc.admin_reset_password(session, svc.get_user(session, email))
    console.print("temporary password (shown once, must be changed at next sign-in):")
    typer.echo(temporary)


@user_app.command("list")
def user_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Accounts, their platform roles and their organisation roles."""
    with session_scope() as session:
        rows: list[dict[str, Any]] = [
            {
                "email": u.email,
                "name": u.display_name,
                "active": u.active,
                "must_change_password": u.must_change_password,
                "platform_roles": sorted(svc.platform_roles(u)),
                "memberships": [{"organisation": o.name, "role": r} for o, r in svc.organisations_of(u)],
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            }
            for u in svc.list_users(session)
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no accounts yet: `medcyber accounts user add EMAIL --org ORG --role admin`")
        return
    table = Table("e-mail", "platform roles", "memberships", "active", "last sign-in")
    for r in rows:
        table.add_row(
            str(r["email"]),
            ", ".join(r["platform_roles"]) or "-",
            ", ".join(f"{m['organisation']} ({m['role']})" for m in r["memberships"]) or "-",
            ("yes" if r["active"] else "no")
            + (" (must change password)" if r["must_change_password"] else ""),
            str(r["last_login_at"] or "never"),
        )
    console.print(table)


@token_app.command("create")
def token_create(
    org: Annotated[str, typer.Option("--org", help="The organisation the token acts in.")],
    user: Annotated[str, typer.Option("--user", help="The member (e-mail) the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What it is for, e.g. 'CI pipeline'.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help=f"Repeat: {', '.join(TOKEN_SCOPES)} (default: read)."),
    ] = None,
) -> None:
    """Create an API token and print it once (only its hash is kept)."""
    with session_scope() as session:
        row, raw = svc.create_api_token(
            session, find_organisation(session, org), svc.get_user(session, user), name, scope
        )
        token_id, scopes = row.id, list(row.scopes)
    console.print(
        f"API token {token_id} ({', '.join(scopes)}) for {org}; shown once, store it safely:", highlight=False
    )
    typer.echo(raw)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="The token's id (see `token list`).")]) -> None:
    """Revoke an API token: it is refused from now on."""
    with session_scope() as session:
        row = svc.revoke_api_token(session, token_id)
        name = row.name
    console.print(f"API token {token_id} ({name}) revoked", highlight=False)


@token_app.command("list")
def token_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation's tokens.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """API tokens (never their secrets)."""
    with session_scope() as session:
        organisation = find_organisation(session, org) if org else None
        rows: list[dict[str, Any]] = [
            {
                "id": t.id,
                "organisation": t.organisation.name,
                "user": t.user.email,
                "name": t.name,
                "scopes": list(t.scopes),
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            }
            for t in svc.list_api_tokens(session, organisation)
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no API tokens")
        return
    table = Table("id", "organisation", "user", "name", "scopes", "last used", "status")
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["organisation"]),
            str(r["user"]),
            str(r["name"]),
            ", ".join(r["scopes"]),
            str(r["last_used_at"] or "never"),
            f"revoked {r['revoked_at']}" if r["revoked_at"] else "active",
        )
    console.print(table)
