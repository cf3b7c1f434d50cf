"""Who is asking, and may they: the request's store session, principal, CSRF check and tenancy scope.

Every page and API handler gets its organisation through :func:`org_access`, which resolves the
organisation from the path and checks the principal's role there. A principal with no role in an
organisation gets 404 (its existence is not disclosed); a member whose role lacks the action gets 403.
Objects below an organisation (assessments, products, versions, SBOMs) are looked up with the
``*_in`` helpers, which only find them inside that organisation.
"""

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts import policy
from ..services import accounts as acc
from ..services.errors import NotFoundError
from ..store.models import (
    Assessment,
    Organisation,
    Product,
    ProductVersion,
    SbomRecord,
    User,
)
from .security import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, csrf_ok

TOUCH_EVERY = dt.timedelta(seconds=60)


class LoginRequired(Exception):
    """No (valid) credentials: pages redirect to sign-in, the API answers 401."""

    def __init__(self, message: str = "authentication required"):
        super().__init__(message)


class Forbidden(Exception):
    """Signed in, but the role does not allow this: 403."""


class BadInput(Exception):
    """A request no handler should see (e.g. NUL characters): 400."""


class CsrfFailed(Exception):
    """A state-changing request without a valid CSRF token: 403."""


@dataclass
class Principal:
    """The caller: a signed-in user (browser session), an API token, or nobody.

    Roles are read once, when the request is authenticated, into plain values: pages and error pages
    use them after the request's store session has closed."""

    user: User | None = None
    token: acc.TokenPrincipal | None = None
    session_id: str | None = field(default=None, repr=False)
    email: str = ""
    roles: dict[int, str] = field(default_factory=dict)  # organisation id -> role
    org_names: dict[int, str] = field(default_factory=dict)
    platform_roles: frozenset[str] = frozenset()

    @classmethod
    def for_user(cls, user: User, *, session_id: str | None = None) -> "Principal":
        orgs = acc.organisations_of(user)
        return cls(
            user=user,
            session_id=session_id,
            email=user.email,
            roles={o.id: r for o, r in orgs},
            org_names={o.id: o.name for o, _ in orgs},
            platform_roles=acc.platform_roles(user),
        )

    @classmethod
    def for_token(cls, tp: acc.TokenPrincipal) -> "Principal":
        org = tp.organisation
        role = acc.role_in(tp.user, org)
        # A token acts within its organisation only: it never carries platform roles.
        return cls(
            user=tp.user,
            token=tp,
            email=tp.user.email,
            roles={org.id: role} if role else {},
            org_names={org.id: org.name},
        )

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    @property
    def label(self) -> str:
        if self.token is not None:
            return f"token:{self.token.token_id}:{self.email}"
        if self.user is not None:
            return f"user:{self.email}"
        return "anonymous"

    def can(self, org: Organisation | None, action: str) -> bool:
        if action in policy.GLOBAL_ACTIONS:
            return self.token is None and policy.platform_allows(self.platform_roles, action)
        if org is None:
            return False
        if self.token is not None:
            return (
                org.id == self.token.organisation.id
                and any(policy.TOKEN_SCOPES[s] == action for s in self.token.scopes)
                and policy.role_allows(self.roles.get(org.id), action)
            )
        return policy.role_allows(self.roles.get(org.id), action)

    def role_in(self, org: Organisation) -> str | None:
        return self.roles.get(org.id)

    def organisations(self) -> list[tuple[int, str, str]]:
        """(id, name, role) of the organisations the caller may act in, by name."""
        return sorted(((i, self.org_names[i], r) for i, r in self.roles.items()), key=lambda t: t[1])


def _set_actor(db: Session, actor: str) -> None:
    try:
        from ..services.audit_hooks import set_actor
    except ImportError:  # the audit hooks arrive with the audit service
        db.info["actor"] = actor
        return
    set_actor(db, actor)


async def write_slot(request: Request) -> AsyncIterator[None]:
    """On SQLite, state-changing requests queue here, first come first served, before their unit of work.

    SQLite has one writer at a time and its busy wait is not fair: under many concurrent writers some
    give up with "database is locked". The queue is an asyncio lock, so waiting requests hold no worker
    thread. Reads never wait. PostgreSQL takes row locks and needs no queue."""
    lock = request.app.state.sqlite_writer
    if lock is None or request.method in SAFE_METHODS:
        yield
        return
    async with lock:
        yield


def get_db(
    request: Request, _slot: Annotated[None, Depends(write_slot, scope="function")]
) -> Iterator[Session]:
    """One unit of work per request: committed before the response is sent, rolled back on error."""
    with request.app.state.store.session() as db:
        yield db


DbDep = Annotated[Session, Depends(get_db, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise LoginRequired("the Authorization header must be 'Bearer <API token>'")
    return value.strip()


def current_principal(request: Request, db: DbDep) -> Principal:
    """Resolve the caller from a Bearer API token or the session cookie; never fails (may be anonymous)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    principal = Principal()
    raw_token = _bearer(request)
    if raw_token is not None:
        try:
            tp = acc.authenticate_token(db, raw_token)
        except acc.AuthenticationError as exc:
            raise LoginRequired(str(exc)) from None
        principal = Principal.for_token(tp)
    else:
        raw = request.cookies.get(SESSION_COOKIE)
        if raw:
            row = acc.get_session(db, raw, touch=False)
            if row is not None:
                now = acc.utcnow()
                if now - row.last_seen_at > TOUCH_EVERY:
                    row.last_seen_at = now
                principal = Principal.for_user(row.user, session_id=raw)
    request.state.principal = principal
    _set_actor(db, principal.label)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


class PasswordChangeRequired(Exception):
    """Signed in with a temporary password: the account page comes first."""


def require_user(request: Request, principal: PrincipalDep) -> Principal:
    if not principal.authenticated:
        raise LoginRequired()
    user = principal.user
    if (
        principal.token is None
        and user is not None
        and user.must_change_password
        and not request.url.path.startswith(("/account", "/logout", "/api/"))
    ):
        raise PasswordChangeRequired()
    return principal


UserDep = Annotated[Principal, Depends(require_user)]


def _has_nul(value: str) -> bool:
    return "\x00" in value


async def csrf_guard(request: Request) -> None:
    """App-wide: a state-changing request carrying the session cookie must carry its CSRF token
    (header ``X-CSRF-Token`` for HTMX/fetch, form field ``csrf_token`` for plain forms). Requests
    authenticated by an API token carry no ambient credential and need none."""
    # NUL cannot be stored in PostgreSQL text and is never meaningful in a form, a path or a query.
    if _has_nul(request.url.path) or "%00" in request.url.query or _has_nul(request.url.query):
        raise BadInput("NUL characters are not accepted")
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        if any(isinstance(v, str) and _has_nul(v) for v in form.values()):
            raise BadInput("NUL characters are not accepted in form fields")
    if request.headers.get("authorization") or request.url.path == "/login":
        return  # no ambient credential; the sign-in form checks its own pre-session token
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not csrf_ok(request.app.state.secret_key, raw, token):
        raise CsrfFailed("missing or invalid CSRF token: reload the page and try again")


@dataclass
class OrgContext:
    org: Organisation
    principal: Principal
    role: str | None

    def can(self, action: str) -> bool:
        return self.principal.can(self.org, action)

    def require(self, action: str) -> None:
        if not self.can(action):
            raise Forbidden(f"your role in {self.org.name} does not allow this ({action})")


def org_access(action: str = "org:read") -> Callable[..., OrgContext]:
    """Dependency factory: the organisation ``org_id`` from the path, if the principal may ``action``."""

    # ids are 32-bit in the store: a larger one is a 422, not a database error
    def dependency(
        org_id: Annotated[int, Path(ge=1, le=2_147_483_647)], db: DbDep, principal: UserDep
    ) -> OrgContext:
        org = db.get(Organisation, org_id)
        role = principal.role_in(org) if org is not None else None
        if org is None or role is None:
            raise NotFoundError(f"no organisation {org_id}")
        ctx = OrgContext(org, principal, role)
        ctx.require(action)
        return ctx

    dependency.required_action = action  # type: ignore[attr-defined]  # read by the authorization walk
    return dependency


def require_platform(action: str) -> Callable[..., Principal]:
    def dependency(principal: UserDep) -> Principal:
        if not principal.can(None, action):
            raise Forbidden(f"this needs a platform role that allows {action}")
        return principal

    dependency.required_action = action  # type: ignore[attr-defined]
    return dependency


# --- objects inside one organisation ---------------------------------------------------------------


def assessment_in(db: Session, org: Organisation, assessment_id: int) -> Assessment:
    row = db.get(Assessment, assessment_id)
    if row is None or row.organisation_id != org.id:
        raise NotFoundError(f"no assessment {assessment_id} in {org.name}")
    return row


def product_in(db: Session, org: Organisation, product_id: int) -> Product:
    row = db.get(Product, product_id)
    if row is None or row.organisation_id != org.id:
        raise NotFoundError(f"no product {product_id} in {org.name}")
    return row


def version_in(db: Session, org: Organisation, version_id: int) -> ProductVersion:
    row = db.scalar(
        select(ProductVersion)
        .join(Product, Product.id == ProductVersion.product_id)
        .where(ProductVersion.id == version_id, Product.organisation_id == org.id)
    )
    if row is None:
        raise NotFoundError(f"no device version {version_id} in {org.name}")
    return row


def sbom_in(db: Session, org: Organisation, sbom_id: int) -> SbomRecord:
    row = db.scalar(
        select(SbomRecord)
        .join(ProductVersion, ProductVersion.id == SbomRecord.version_id)
        .join(Product, Product.id == ProductVersion.product_id)
        .where(SbomRecord.id == sbom_id, Product.organisation_id == org.id)
    )
    if row is None:
        raise NotFoundError(f"no SBOM {sbom_id} in {org.name}")
    return row
