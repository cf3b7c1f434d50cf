"""Sign-in, sign-out, the start page and the user's own account."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ...accounts import tokens
from ...services import accounts as acc
from ..deps import DbDep, PrincipalDep, UserDep
from ..security import PRE_SESSION_COOKIE, SESSION_COOKIE, csrf_ok
from ..templating import render

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in would help phishing."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or bool(getattr(request.app.state, "force_secure_cookies", False))


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )


def _login_page(
    request: Request, *, next_url: str, error: str = "", email: str = "", status_code: int = 200
) -> Response:
    pre = request.cookies.get(PRE_SESSION_COOKIE)
    fresh = not pre or len(pre) > 100
    if fresh:
        pre = tokens.random_secret(24)
    request.state.csrf_binding = pre
    response = render(
        request, "login.html.j2", {"next": next_url, "error": error, "email": email}, status_code=status_code
    )
    if fresh:
        set_cookie(request, response, PRE_SESSION_COOKIE, pre or "", max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request, principal: PrincipalDep, next: str | None = None) -> Response:
    if principal.authenticated and principal.token is None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
def login_submit(
    request: Request,
    db: DbDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    next_url = safe_next(next)
    if not csrf_ok(request.app.state.secret_key, request.cookies.get(PRE_SESSION_COOKIE), csrf_token):
        return _login_page(
            request,
            next_url=next_url,
            email=email,
            error="The sign-in form had expired. Please sign in again.",
            status_code=403,
        )
    result = acc.login(
        db,
        email,
        password,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        previous_session_id=request.cookies.get(SESSION_COOKIE),
    )
    if not result.ok:
        status = 429 if result.locked_until is not None else 401
        response = _login_page(
            request, next_url=next_url, email=email, error=result.message, status_code=status
        )
        if result.locked_until is not None:
            wait = max(1, int((result.locked_until - acc.utcnow()).total_seconds()))
            response.headers["Retry-After"] = str(wait)
        return response
    response = RedirectResponse(next_url, status_code=303)
    set_cookie(
        request,
        response,
        SESSION_COOKIE,
        result.session_id or "",
        max_age=int(acc.SESSION_ABSOLUTE_TIMEOUT.total_seconds()),
    )
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, db: DbDep, principal: PrincipalDep) -> Response:
    if principal.session_id:
        acc.revoke_session(db, principal.session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def start(request: Request, principal: PrincipalDep) -> Response:
    if not principal.authenticated:
        return RedirectResponse("/login", status_code=303)
    orgs = principal.organisations()
    roles = principal.platform_roles
    if len(orgs) == 1 and not roles:
        return RedirectResponse(f"/orgs/{orgs[0][0]}", status_code=303)
    if not orgs and roles == frozenset({"steward"}):
        return RedirectResponse("/steward", status_code=303)
    if not orgs and roles == frozenset({"site_admin"}):
        return RedirectResponse("/admin", status_code=303)
    return render(request, "start.html.j2", {"organisations": orgs})


@router.get("/account")
def account(request: Request, principal: UserDep) -> Response:
    return render(request, "account.html.j2", {})


@router.post("/account/password")
def change_password(
    request: Request,
    db: DbDep,
    principal: UserDep,
    current: Annotated[str, Form(max_length=1024)],
    new: Annotated[str, Form(max_length=1024)],
    confirm: Annotated[str, Form(max_length=1024)],
) -> Response:
    user = principal.user
    assert user is not None
    if principal.token is not None:
        return render(request, "account.html.j2", {"flash": "Use the web page.", "flash_kind": "error"}, 403)
    if new != confirm:
        ctx = {"flash": "The new passwords do not match.", "flash_kind": "error"}
        return render(request, "account.html.j2", ctx, status_code=400)
    try:
        acc.change_password(db, user, current, new, keep_session=principal.session_id)
    except acc.AuthenticationError:
        ctx = {"flash": "The current password is wrong.", "flash_kind": "error"}
        return render(request, "account.html.j2", ctx, status_code=400)
    except acc.WeakPasswordError as exc:
        ctx = {"flash": str(exc), "flash_kind": "error"}
        return render(request, "account.html.j2", ctx, status_code=400)
    # A password change ends every other session of the user; this one goes on.
    return render(
        request,
        "account.html.j2",
        {"flash": "Your password was changed; your other sessions were signed out."},
    )
