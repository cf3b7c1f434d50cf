"""FastAPI application factory."""

from collections.abc import Iterator
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from .. import __version__
from ..services import assessments as assess_svc
from ..services import benchmark as bench_svc
from ..services.errors import NotFoundError, ServiceError
from ..store import Store, StoreError

SECURITY_HEADERS = {
    # Charts are inline SVG and the pages carry no script yet: nothing inline needs to run.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(store: Store) -> FastAPI:
    app = FastAPI(
        title="medcyber",
        version=__version__,
        description="Medical device product-security maturity benchmark and lifecycle API.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    templates = Jinja2Templates(directory=str(resources.files("medcyber.web") / "templates"))
    app.state.store = store

    def get_session() -> Iterator[Session]:
        with store.session() as session:
            yield session

    SessionDep = Annotated[Session, Depends(get_session)]

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    @app.exception_handler(NotFoundError)
    async def not_found(_request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    # --- pages ---------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request, session: SessionDep) -> Response:
        orgs = assess_svc.list_organisations(session)
        if len(orgs) == 1:
            return RedirectResponse(f"/organisations/{quote(orgs[0].name)}/report", status_code=303)
        return templates.TemplateResponse(
            request, "index.html.j2", {"organisations": orgs, "cohorts": bench_svc.list_cohorts(session)}
        )

    @app.get("/organisations/{name}/report", response_class=HTMLResponse, include_in_schema=False)
    def org_report_page(name: str, session: SessionDep) -> HTMLResponse:
        from ..reports.render import render_html
        from ..services.reports import organisation_report

        base = f"/organisations/{quote(name)}/report"
        downloads = {
            "PDF report": f"{base}.pdf",
            "Word (DOCX)": f"{base}.docx",
            "Action plan (XLSX)": f"{base}.xlsx",
            "JSON": f"{base}.json",
        }
        return HTMLResponse(render_html(organisation_report(session, name), downloads=downloads))

    @app.get("/organisations/{name}/report.{fmt}", include_in_schema=False)
    def org_report_download(name: str, fmt: str, session: SessionDep) -> Response:
        from ..reports.render import MEDIA_TYPES, report_bytes
        from ..services.reports import organisation_report

        if fmt not in MEDIA_TYPES:
            raise HTTPException(404, f"no {fmt} report")
        data = report_bytes(organisation_report(session, name), fmt)
        filename = f"{name.replace(' ', '-').lower()}-benchmark.{fmt}"
        return Response(
            data,
            media_type=MEDIA_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    # --- JSON API --------------------------------------------------------------------------------
    @app.get("/api/v1/health", tags=["system"])
    def health() -> dict[str, Any]:
        try:
            store.check()
            status = "ok"
        except StoreError as exc:
            status = f"error: {exc}"
        return {"status": "ok" if status == "ok" else "degraded", "version": __version__, "store": status}

    @app.get("/api/v1/benchmark/stats", tags=["benchmark"])
    def api_stats(session: SessionDep, cohort: str | None = None) -> Any:
        return bench_svc.stats(session, bench_svc.get_cohort(session, cohort)).model_dump(mode="json")

    @app.get("/api/v1/organisations/{name}/report", tags=["benchmark"])
    def api_org_report(name: str, session: SessionDep, cohort: str | None = None) -> Any:
        from ..services.reports import organisation_report

        return organisation_report(session, name, cohort_name=cohort).model_dump(mode="json")

    return app
