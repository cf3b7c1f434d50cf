"""Organisation settings (its admins) and site administration (the site admin).

Organisation settings, ``/orgs/{org_id}/settings/...``: members (``members:manage``: add an existing
account, change a role, remove; an organisation always keeps one admin), API tokens (``tokens:manage``:
the raw token is shown once, on the page that answers its creation, and never stored), the banded profile
(``org:settings``) and the organisation's audit trail (``audit:read``; the hash chain is verified as a
whole, and the export of this organisation's events is a convenience extract: only the site admin's full
export verifies offline).

Site administration, ``/admin/...`` (platform role site_admin): accounts (``accounts:manage``: create one
with a one-time temporary password, reset a password, activate or deactivate, platform roles,
memberships) and the full audit trail (``audit:read_all``: view, verify, export in the format of
``medcyber audit export``, which ``medcyber audit verify --file`` re-verifies).
"""

import datetime as dt
import io
import tempfile
from collections.abc import Iterator
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...accounts import policy
from ...benchmark.models import DEVICE_CLASSES, EMPLOYEE_BANDS, REGIONS, REVENUE_BANDS, OrgProfile
from ...services import accounts as acc
from ...services import assessments as assess_svc
from ...services import audit as audit_svc
from ...services.errors import NotFoundError, ServiceError
from ...store.models import Membership, Organisation, User
from .. import admin_views as views
from ..deps import DbDep, OrgContext, Principal, org_access, require_platform
from ..templating import render

router = APIRouter(include_in_schema=False)

MembersCtx = Annotated[OrgContext, Depends(org_access("members:manage"))]
TokensCtx = Annotated[OrgContext, Depends(org_access("tokens:manage"))]
ProfileCtx = Annotated[OrgContext, Depends(org_access("org:settings"))]
AuditCtx = Annotated[OrgContext, Depends(org_access("audit:read"))]
AccountsDep = Annotated[Principal, Depends(require_platform("accounts:manage"))]
AuditAllDep = Annotated[Principal, Depends(require_platform("audit:read_all"))]
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
ExportFormat = Annotated[Literal["jsonl", "csv"], Query()]
Email = Annotated[str, Form(max_length=320)]
RoleField = Annotated[str, Form(max_length=20)]
PER_PAGE = 50
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
SETTINGS_TABS = (
    ("members", "Members", "members:manage", ""),
    ("tokens", "API tokens", "tokens:manage", "/tokens"),
    ("profile", "Profile", "org:settings", "/profile"),
    ("audit", "Audit trail", "audit:read", "/audit"),
)
MESSAGES = {
    "added": "Member added.",
    "role": "Role changed.",
    "removed": "Member removed; their API tokens for this organisation were revoked.",
    "revoked": "API token revoked: it is refused from now on.",
    "profile": "Profile saved.",
    "created": "Account created.",
    "active": "Account activated.",
    "inactive": "Account deactivated: its sessions were ended.",
    "roles": "Platform roles saved.",
    "membership": "Membership saved.",
    "unmembered": "Membership removed.",
}


def _flash(msg: str | None) -> str | None:
    return MESSAGES.get(msg or "")


Msg = Annotated[str, Query(max_length=20)]


# --- shared rules -----------------------------------------------------------------------------------


def _membership(db: Session, org: Organisation, user_id: int) -> Membership:
    row = db.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.organisation_id == org.id)
    )
    if row is None:
        raise NotFoundError(f"no member {user_id} in {org.name}")
    return row


def _admin_count(db: Session, org: Organisation) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.organisation_id == org.id, Membership.role == "admin")
        )
        or 0
    )


def _keep_an_admin(db: Session, org: Organisation, membership: Membership, new_role: str | None) -> None:
    """An organisation never loses its last admin (nobody could manage its members or tokens)."""
    if membership.role == "admin" and new_role != "admin" and _admin_count(db, org) <= 1:
        raise ServiceError(
            f"{membership.user.email} is the only admin of {org.name}: make another member admin first"
        )


def _role(role: str) -> str:
    if role not in policy.ORG_ROLES:
        raise ServiceError(f"the role must be one of {', '.join(policy.ORG_ROLES)}")
    return role


def _download(handle: IO[bytes], filename: str, media_type: str) -> StreamingResponse:
    handle.seek(0)

    def chunks() -> Iterator[bytes]:
        try:
            while chunk := handle.read(64 * 1024):
                yield chunk
        finally:
            handle.close()

    return StreamingResponse(
        chunks(),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE},
    )


def _export(db: Session, fmt: str, filename: str, *, organisation_id: int | None = None) -> Response:
    """The events as ``medcyber audit export`` writes them, spooled to a file first (the response streams
    after the request's store session has closed)."""
    raw = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the streaming generator
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    chosen: Literal["jsonl", "csv"] = "csv" if fmt == "csv" else "jsonl"
    audit_svc.export(db, text, format=chosen, organisation_id=organisation_id)
    text.flush()
    text.detach()
    media = "text/csv; charset=utf-8" if chosen == "csv" else "application/x-ndjson"
    return _download(raw, f"{filename}.{chosen}", media)


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


# --- organisation settings: members -------------------------------------------------------------------


def _settings_context(ctx: OrgContext, tab: str, **extra: Any) -> dict[str, Any]:
    tabs = [
        (key, label, f"/orgs/{ctx.org.id}/settings{suffix}")
        for key, label, action, suffix in SETTINGS_TABS
        if ctx.can(action)
    ]
    return {"org": ctx.org, "section": "settings", "tab": tab, "tabs": tabs, **extra}


def _members_page(
    request: Request,
    db: Session,
    ctx: OrgContext,
    *,
    flash: str | None = None,
    flash_kind: str = "ok",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    rows = db.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organisation_id == ctx.org.id)
        .order_by(User.email)
    ).all()
    admins = sum(1 for m, _ in rows if m.role == "admin")
    me = ctx.principal.user.id if ctx.principal.user else None
    members = [
        {
            "user_id": u.id,
            "email": u.email,
            "name": u.display_name,
            "role": m.role,
            "active": u.active,
            "last_login_at": u.last_login_at,
            "since": m.created_at,
            "me": u.id == me,
            "last_admin": m.role == "admin" and admins <= 1,
        }
        for m, u in rows
    ]
    context = _settings_context(
        ctx,
        "members",
        members=members,
        roles=policy.ORG_ROLES,
        form=form or {"role": "viewer"},
        flash=flash,
        flash_kind=flash_kind,
    )
    return render(request, "settings_members.html.j2", context, status_code)


@router.get("/orgs/{org_id}/settings")
def members(request: Request, db: DbDep, ctx: MembersCtx, msg: Msg = "") -> Response:
    return _members_page(request, db, ctx, flash=_flash(msg))


@router.post("/orgs/{org_id}/settings/members")
def add_member(
    request: Request, db: DbDep, ctx: MembersCtx, email: Email = "", role: RoleField = "viewer"
) -> Response:
    form = {"email": email, "role": role}
    try:
        _role(role)
        address = acc.normalise_email(views.plain_text(email, "e-mail address"))
        user = acc.find_user(db, address)
        if user is None:
            raise ServiceError(
                f"there is no account for {address}. Accounts are created by the site administrator: "
                "ask them to create it, then add it here"
            )
        current = acc.role_in(user, ctx.org)
        if current is not None:
            raise ServiceError(
                f"{address} is already a member ({current}): change the role in the list below"
            )
        acc.add_membership(db, user, ctx.org, role)
    except ServiceError as exc:
        return _members_page(request, db, ctx, flash=str(exc), flash_kind="error", form=form, status_code=400)
    return RedirectResponse(f"/orgs/{ctx.org.id}/settings?msg=added", status_code=303)


@router.post("/orgs/{org_id}/settings/members/{member_id}/role")
def change_role(
    request: Request, db: DbDep, ctx: MembersCtx, member_id: Id, role: RoleField = ""
) -> Response:
    membership = _membership(db, ctx.org, member_id)
    try:
        _role(role)
        _keep_an_admin(db, ctx.org, membership, role)
        acc.add_membership(db, membership.user, ctx.org, role)
    except ServiceError as exc:
        return _members_page(request, db, ctx, flash=str(exc), flash_kind="error", status_code=400)
    if ctx.principal.user is not None and member_id == ctx.principal.user.id and role != "admin":
        return RedirectResponse(f"/orgs/{ctx.org.id}", status_code=303)  # no longer allowed here
    return RedirectResponse(f"/orgs/{ctx.org.id}/settings?msg=role", status_code=303)


@router.post("/orgs/{org_id}/settings/members/{member_id}/remove")
def remove_member(request: Request, db: DbDep, ctx: MembersCtx, member_id: Id) -> Response:
    membership = _membership(db, ctx.org, member_id)
    try:
        _keep_an_admin(db, ctx.org, membership, None)
        acc.remove_membership(db, membership.user, ctx.org)
    except ServiceError as exc:
        return _members_page(request, db, ctx, flash=str(exc), flash_kind="error", status_code=400)
    if ctx.principal.user is not None and member_id == ctx.principal.user.id:
        return RedirectResponse("/", status_code=303)  # you left the organisation
    return RedirectResponse(f"/orgs/{ctx.org.id}/settings?msg=removed", status_code=303)


# --- organisation settings: API tokens -----------------------------------------------------------------


def _tokens_page(
    request: Request,
    db: Session,
    ctx: OrgContext,
    *,
    new_token: str | None = None,
    new_token_name: str = "",
    flash: str | None = None,
    flash_kind: str = "ok",
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    role = ctx.role or "viewer"
    context = _settings_context(
        ctx,
        "tokens",
        tokens=acc.list_api_tokens(db, ctx.org),
        scopes=[(s, policy.TOKEN_SCOPES[s]) for s in policy.scopes_allowed_for_role(role)],
        new_token=new_token,
        new_token_name=new_token_name,
        form=form or {"scopes": list(policy.DEFAULT_TOKEN_SCOPES)},
        flash=flash,
        flash_kind=flash_kind,
    )
    response = render(request, "settings_tokens.html.j2", context, status_code)
    if new_token:
        response.headers.update(NO_STORE)
    return response


@router.get("/orgs/{org_id}/settings/tokens")
def tokens(request: Request, db: DbDep, ctx: TokensCtx, msg: Msg = "") -> Response:
    return _tokens_page(request, db, ctx, flash=_flash(msg))


@router.post("/orgs/{org_id}/settings/tokens")
def create_token(
    request: Request,
    db: DbDep,
    ctx: TokensCtx,
    name: Annotated[str, Form(max_length=200)] = "",
    scopes: Annotated[list[str], Form(max_length=10)] = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    form = {"name": name, "scopes": scopes}
    user = ctx.principal.user
    assert user is not None
    try:
        if not scopes:
            raise ServiceError("choose at least one scope: what the token may do")
        name = views.plain_text(name, "token name")
        _row, raw = acc.create_api_token(db, ctx.org, user, name, scopes)
    except ServiceError as exc:
        return _tokens_page(request, db, ctx, flash=str(exc), flash_kind="error", form=form, status_code=400)
    return _tokens_page(request, db, ctx, new_token=raw, new_token_name=name.strip())


@router.post("/orgs/{org_id}/settings/tokens/{token_id}/revoke")
def revoke_token(db: DbDep, ctx: TokensCtx, token_id: Id) -> Response:
    acc.revoke_api_token(db, token_id, org=ctx.org)  # another organisation's token: 404
    return RedirectResponse(f"/orgs/{ctx.org.id}/settings/tokens?msg=revoked", status_code=303)


# --- organisation settings: profile ---------------------------------------------------------------------


def _profile_page(
    request: Request,
    ctx: OrgContext,
    *,
    form: dict[str, Any] | None = None,
    flash: str | None = None,
    flash_kind: str = "ok",
    status_code: int = 200,
) -> Response:
    org = ctx.org
    current = {
        "employees": org.employees_band or "",
        "revenue": org.revenue_band or "",
        "device_classes": list(org.device_classes or []),
        "region": org.region or "",
    }
    context = _settings_context(
        ctx,
        "profile",
        form=form or current,
        employee_bands=EMPLOYEE_BANDS,
        revenue_bands=REVENUE_BANDS,
        device_classes=DEVICE_CLASSES,
        regions=REGIONS,
        flash=flash,
        flash_kind=flash_kind,
    )
    return render(request, "settings_profile.html.j2", context, status_code)


@router.get("/orgs/{org_id}/settings/profile")
def profile(request: Request, ctx: ProfileCtx, msg: Msg = "") -> Response:
    return _profile_page(request, ctx, flash=_flash(msg))


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ServiceError(f"choose the {what} from the list (one of {', '.join(allowed)})")
    return value


def _device_classes(values: list[str]) -> tuple[str, ...]:
    chosen = {_choice(v, DEVICE_CLASSES, "device classes") for v in values}
    return tuple(c for c in DEVICE_CLASSES if c in chosen)


@router.post("/orgs/{org_id}/settings/profile")
def save_profile(
    request: Request,
    ctx: ProfileCtx,
    employees: Annotated[str, Form(max_length=40)] = "",
    revenue: Annotated[str, Form(max_length=40)] = "",
    device_classes: Annotated[list[str], Form(max_length=10)] = [],  # noqa: B006
    region: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    form = {"employees": employees, "revenue": revenue, "device_classes": device_classes, "region": region}
    try:
        profile = OrgProfile(
            employees_band=_choice(employees, EMPLOYEE_BANDS, "employees band"),
            revenue_band=_choice(revenue, REVENUE_BANDS, "revenue band"),
            device_classes=_device_classes(device_classes),
            region=_choice(region, REGIONS, "region") if region else None,
        )
        assess_svc.set_profile(ctx.org, profile)
    except ServiceError as exc:
        return _profile_page(request, ctx, form=form, flash=str(exc), flash_kind="error", status_code=400)
    return RedirectResponse(f"/orgs/{ctx.org.id}/settings/profile?msg=profile", status_code=303)


# --- organisation settings: audit trail ---------------------------------------------------------------


def _org_audit_page(
    request: Request, db: Session, ctx: OrgContext, *, page: int = 1, verified: Any = None
) -> Response:
    events, total = audit_svc.events_page(db, organisation_id=ctx.org.id, page=page, per_page=PER_PAGE)
    base = f"/orgs/{ctx.org.id}/settings/audit"
    context = _settings_context(
        ctx,
        "audit",
        events=views.event_lines(events),
        paging=views.pager(base, page, PER_PAGE, total),
        verified=verified,
        verify_url=f"{base}/verify",
        export_url=f"{base}/export",
    )
    return render(request, "settings_audit.html.j2", context)


@router.get("/orgs/{org_id}/settings/audit")
def org_audit(request: Request, db: DbDep, ctx: AuditCtx, page: PageNo = 1) -> Response:
    return _org_audit_page(request, db, ctx, page=page)


@router.get("/orgs/{org_id}/settings/audit/verify")
def org_audit_verify(request: Request, db: DbDep, ctx: AuditCtx) -> Response:
    result = audit_svc.verify(db)
    if request.headers.get("hx-request"):
        return render(
            request, "admin_verify_fragment.html.j2", {"verified": result, "verify_url": request.url.path}
        )
    return _org_audit_page(request, db, ctx, verified=result)


@router.get("/orgs/{org_id}/settings/audit/export")
def org_audit_export(db: DbDep, ctx: AuditCtx, format: ExportFormat = "jsonl") -> Response:
    return _export(db, format, f"medcyber-audit-org{ctx.org.id}-{_stamp()}", organisation_id=ctx.org.id)


# --- site administration: accounts --------------------------------------------------------------------


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no account {user_id}")
    return user


def _admin_page(
    request: Request,
    db: Session,
    *,
    page: int = 1,
    form: dict[str, str] | None = None,
    flash: str | None = None,
    flash_kind: str = "ok",
    status_code: int = 200,
) -> Response:
    users = acc.list_users(db)
    paging = views.pager("/admin", page, PER_PAGE, len(users))
    context = {
        "section": "admin",
        "tab": "accounts",
        "users": users[(page - 1) * PER_PAGE : page * PER_PAGE],
        "paging": paging,
        "organisations": assess_svc.list_organisations(db),
        "roles": policy.ORG_ROLES,
        "form": form or {"role": "viewer"},
        "flash": flash,
        "flash_kind": flash_kind,
    }
    return render(request, "admin_users.html.j2", context, status_code)


@router.get("/admin")
def admin_home(
    request: Request, db: DbDep, principal: AccountsDep, page: PageNo = 1, msg: Msg = ""
) -> Response:
    return _admin_page(request, db, page=page, flash=_flash(msg))


def _organisation(db: Session, value: str) -> Organisation | None:
    if not value:
        return None
    org = db.get(Organisation, int(value)) if value.isdigit() and len(value) < 10 else None
    if org is None:
        raise ServiceError("choose the organisation from the list")
    return org


def _temporary_password_page(request: Request, user: User, password: str, *, created: bool) -> Response:
    context = {"section": "admin", "user": user, "password": password, "created": created}
    response = render(request, "admin_temp_password.html.j2", context)
    response.headers.update(NO_STORE)
    return response


@router.post("/admin/users")
def create_account(
    request: Request,
    db: DbDep,
    principal: AccountsDep,
    email: Email = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    organisation: Annotated[str, Form(max_length=20)] = "",
    role: RoleField = "viewer",
    steward: Annotated[str, Form(max_length=10)] = "",
    site_admin: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    form = {
        "email": email,
        "display_name": display_name,
        "organisation": organisation,
        "role": role,
        "steward": steward,
        "site_admin": site_admin,
    }
    try:
        org = _organisation(db, organisation)
        if org is not None:
            _role(role)
        if org is None and not (steward or site_admin):
            raise ServiceError(
                "choose an organisation (and a role there) or a platform role: an account with neither "
                "could do nothing"
            )
        account = acc.create_user(
            db,
            views.plain_text(email, "e-mail address"),
            display_name=views.plain_text(display_name, "display name"),
            steward=bool(steward),
            site_admin=bool(site_admin),
        )
        if org is not None:
            acc.add_membership(db, account.user, org, role)
    except ServiceError as exc:
        return _admin_page(request, db, form=form, flash=str(exc), flash_kind="error", status_code=400)
    return _temporary_password_page(request, account.user, account.temporary_password, created=True)


def _user_page(
    request: Request,
    db: Session,
    principal: Principal,
    user: User,
    *,
    flash: str | None = None,
    flash_kind: str = "ok",
    status_code: int = 200,
) -> Response:
    tokens = [t for t in acc.list_api_tokens(db) if t.user_id == user.id]
    context = {
        "section": "admin",
        "user": user,
        "user_memberships": acc.organisations_of(user),
        "organisations": assess_svc.list_organisations(db),
        "roles": policy.ORG_ROLES,
        "tokens": tokens,
        "me": principal.user is not None and principal.user.id == user.id,
        "flash": flash,
        "flash_kind": flash_kind,
    }
    return render(request, "admin_user.html.j2", context, status_code)


@router.get("/admin/users/{user_id}")
def user_page(request: Request, db: DbDep, principal: AccountsDep, user_id: Id, msg: Msg = "") -> Response:
    return _user_page(request, db, principal, _user(db, user_id), flash=_flash(msg))


def _not_yourself(principal: Principal, user: User, what: str) -> None:
    if principal.user is not None and principal.user.id == user.id:
        raise ServiceError(f"you cannot {what} your own account here (another site admin can)")


@router.post("/admin/users/{user_id}/password")
def reset_password(request: Request, db: DbDep, principal: AccountsDep, user_id: Id) -> Response:
    user = _user(db, user_id)
    try:
        _not_yourself(principal, user, "reset the password of")
    except ServiceError as exc:
        return _user_page(
            request,
            db,
            principal,
            user,
            flash=f"{exc}; change yours on the account page",
            flash_kind="error",
            status_code=400,
        )
    temporary = acc.admin_reset_password(db, user)  # every session of the user ends
    return _temporary_password_page(request, user, temporary, created=False)


@router.post("/admin/users/{user_id}/active")
def set_active(
    request: Request,
    db: DbDep,
    principal: AccountsDep,
    user_id: Id,
    active: Annotated[Literal["0", "1"], Form()] = "1",
) -> Response:
    user = _user(db, user_id)
    try:
        if active == "0":
            _not_yourself(principal, user, "deactivate")
    except ServiceError as exc:
        return _user_page(request, db, principal, user, flash=str(exc), flash_kind="error", status_code=400)
    acc.set_active(db, user, active == "1")
    return RedirectResponse(
        f"/admin/users/{user.id}?msg={'active' if active == '1' else 'inactive'}", status_code=303
    )


@router.post("/admin/users/{user_id}/roles")
def set_roles(
    request: Request,
    db: DbDep,
    principal: AccountsDep,
    user_id: Id,
    steward: Annotated[str, Form(max_length=10)] = "",
    site_admin: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    user = _user(db, user_id)
    try:
        if not site_admin and user.is_site_admin:
            _not_yourself(principal, user, "take the site admin role from")
    except ServiceError as exc:
        return _user_page(request, db, principal, user, flash=str(exc), flash_kind="error", status_code=400)
    acc.set_platform_roles(user, steward=bool(steward), site_admin=bool(site_admin))
    return RedirectResponse(f"/admin/users/{user.id}?msg=roles", status_code=303)


@router.post("/admin/users/{user_id}/memberships")
def set_membership(
    request: Request,
    db: DbDep,
    principal: AccountsDep,
    user_id: Id,
    organisation: Annotated[str, Form(max_length=20)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    user = _user(db, user_id)
    try:
        org = _organisation(db, organisation)
        if org is None:
            raise ServiceError("choose the organisation from the list")
        existing = db.scalar(
            select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == org.id)
        )
        if role == "remove":
            if existing is None:
                raise ServiceError(f"{user.email} is not a member of {org.name}")
            _keep_an_admin(db, org, existing, None)
            acc.remove_membership(db, user, org)
            msg = "unmembered"
        else:
            _role(role)
            if existing is not None:
                _keep_an_admin(db, org, existing, role)
            acc.add_membership(db, user, org, role)
            msg = "membership"
    except ServiceError as exc:
        return _user_page(request, db, principal, user, flash=str(exc), flash_kind="error", status_code=400)
    return RedirectResponse(f"/admin/users/{user.id}?msg={msg}", status_code=303)


# --- site administration: the full audit trail -------------------------------------------------------


def _full_audit_page(request: Request, db: Session, *, page: int = 1, verified: Any = None) -> Response:
    events, total = audit_svc.events_page(db, page=page, per_page=PER_PAGE)
    context = {
        "section": "admin",
        "tab": "audit",
        "events": views.event_lines(events, {o.id: o.name for o in assess_svc.list_organisations(db)}),
        "paging": views.pager("/admin/audit", page, PER_PAGE, total),
        "verified": verified,
        "verify_url": "/admin/audit/verify",
        "export_url": "/admin/audit/export",
    }
    return render(request, "admin_audit.html.j2", context)


@router.get("/admin/audit")
def full_audit(request: Request, db: DbDep, principal: AuditAllDep, page: PageNo = 1) -> Response:
    return _full_audit_page(request, db, page=page)


@router.get("/admin/audit/verify")
def full_audit_verify(request: Request, db: DbDep, principal: AuditAllDep) -> Response:
    result = audit_svc.verify(db)
    if request.headers.get("hx-request"):
        return render(
            request, "admin_verify_fragment.html.j2", {"verified": result, "verify_url": request.url.path}
        )
    return _full_audit_page(request, db, verified=result)


@router.get("/admin/audit/export")
def full_audit_export(db: DbDep, principal: AuditAllDep, format: ExportFormat = "jsonl") -> Response:
    return _export(db, format, f"medcyber-audit-{_stamp()}")
