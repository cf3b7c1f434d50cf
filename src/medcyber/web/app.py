"""FastAPI application factory: the pages and the JSON API over one store, one set of services."""

import asyncio
from collections.abc import Mapping
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..services.accounts import PermissionDenied
from ..services.errors import NotFoundError, ServiceError
from ..store import Store
from .deps import BadInput, CsrfFailed, Forbidden, LoginRequired, PasswordChangeRequired, csrf_guard
from .security import DEFAULT_MAX_BODY, BodyLimit, SecurityHeaders, load_secret_key, static_dir
from .templating import render

API_PREFIX = "/api/v1"


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(
    request: Request, status: int, title: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    if _is_api(request) or request.headers.get("hx-request"):
        if not _is_api(request):
            # An htmx fragment: show the message where the fragment would have gone.
            return render(request, "_error_fragment.html.j2", {"message": message, "status": status}, status)
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    response = render(
        request, "error.html.j2", {"status": status, "title": title, "message": message}, status_code=status
    )
    if headers:
        response.headers.update(headers)
    return response


def create_app(
    store: Store,
    *,
    secret_key: bytes | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    force_secure_cookies: bool = False,
) -> FastAPI:
    app = FastAPI(
        title="medcyber",
        version=__version__,
        description=(
            "Medical device product-security maturity benchmark and lifecycle API. Authenticate with an "
            "organisation API token (`Authorization: Bearer mcy_...`, created by an organisation admin) "
            "or a browser session. Every endpoint except `/api/v1/health` needs authentication."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # the Swagger UI page loads its assets from a CDN: not served
        redoc_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    app.state.store = store
    app.state.secret_key = secret_key or load_secret_key()
    app.state.force_secure_cookies = force_secure_cookies
    app.state.sqlite_writer = asyncio.Lock() if store.engine.dialect.name == "sqlite" else None

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="medcyber"'}
            )
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def password_change(_request: Request, _exc: PasswordChangeRequired) -> Response:
        return RedirectResponse("/account", status_code=303)

    @app.exception_handler(Forbidden)
    @app.exception_handler(PermissionDenied)
    async def forbidden(request: Request, exc: Exception) -> Response:
        return _error(request, 403, "Not allowed", str(exc))

    @app.exception_handler(BadInput)
    async def bad_input(request: Request, exc: BadInput) -> Response:
        return _error(request, 400, "Bad request", str(exc))

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return _error(request, 403, "Form expired", str(exc))

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return _error(request, 404, "Not found", str(exc))

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        return _error(request, 409 if _is_api(request) else 400, "That did not work", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request) or exc.status_code < 400:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return _error(request, exc.status_code, "Error", str(exc.detail), headers=exc.headers)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return RedirectResponse("/static/favicon.svg", status_code=308)

    app.mount("/static", StaticFiles(directory=str(static_dir())), name="static")

    from .api import admin as api_admin
    from .api import maturity as api_maturity
    from .api import products as api_products
    from .api import steward as api_steward
    from .api import system as api_system
    from .pages import admin, auth, dashboard, maturity, products, steward

    for page_router in (
        auth.router,
        dashboard.router,
        maturity.router,
        products.router,
        steward.router,
        admin.router,
    ):
        app.include_router(page_router)
    for api_router in (
        api_system.router,
        api_maturity.router,
        api_products.router,
        api_steward.router,
        api_admin.router,
    ):
        app.include_router(api_router, prefix=API_PREFIX)

    # Outermost last: the body limit sees the request before anything reads it; headers go on every reply.
    app.add_middleware(BodyLimit, max_bytes=max_body)
    app.add_middleware(SecurityHeaders)
    return app
