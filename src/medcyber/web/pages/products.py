"""The device portfolio pages: products, their versions, SBOM uploads, components, findings and the
end-of-support timeline of each version.

Lists are paginated and aggregated in SQL (``services.inventory``); the component and finding filters
answer htmx requests with the results fragment only, and work as plain GET forms without JavaScript.
Uploads go through ``web.sbom_upload`` (one transactional import) and are then matched against the
vulnerability database for that version, as ``medcyber sbom import`` followed by ``vulns monitor`` would.
"""

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from ...reports.charts import to_svg
from ...sbom.quality import assess_quality
from ...services import inventory
from ...services import products as products_svc
from ...services.errors import ConflictError, NotFoundError, ServiceError
from ...store.models import Product, ProductVersion, SbomRecord
from ...vulns.findings import LEVELS
from ..deps import DbDep, OrgContext, org_access, product_in, sbom_in, version_in
from ..sbom_upload import (
    KINDS,
    MAX_UPLOAD_BYTES,
    Refusal,
    UploadTooLarge,
    check_names,
    clean_file_name,
    read_capped,
    refusal,
    store_sbom,
)
from ..templating import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
TABS = ("findings", "components", "sboms", "timeline")
ReadCtx = Annotated[OrgContext, Depends(org_access("org:read"))]
UploadCtx = Annotated[OrgContext, Depends(org_access("sbom:upload"))]
ScanCtx = Annotated[OrgContext, Depends(org_access("scan:run"))]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
Text = Annotated[str, Query(max_length=200)]


def _fragment(request: Request) -> bool:
    """An htmx request for a part of the page (a history restore wants the whole page)."""
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


def _vary(response: Response) -> Response:
    response.headers["Vary"] = "HX-Request"
    return response


def _url(path: str, params: dict[str, Any]) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "") and not (k == "page" and v == 1)}
    return path + ("?" + urlencode(kept) if kept else "")


def _pager(path: str, params: dict[str, Any], page: inventory.Page[Any]) -> dict[str, Any]:
    return {
        "page": page.page,
        "pages": page.pages,
        "total": page.total,
        "first": (page.page - 1) * page.per_page + 1 if page.total else 0,
        "last": min(page.total, page.page * page.per_page),
        "prev": _url(path, {**params, "page": page.page - 1}) if page.has_prev else None,
        "next": _url(path, {**params, "page": page.page + 1}) if page.has_next else None,
    }


def _parse_date(value: str, what: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ServiceError(f"{what} is a date (YYYY-MM-DD), not {value!r}") from None


# --- products ----------------------------------------------------------------------------------------


def _products_page(
    request: Request,
    db: DbDep,
    ctx: OrgContext,
    *,
    q: str = "",
    page: int = 1,
    status_code: int = 200,
    form_error: str | None = None,
    form: dict[str, str] | None = None,
    upload: Refusal | None = None,
    upload_form: dict[str, str] | None = None,
) -> Response:
    path = f"/orgs/{ctx.org.id}/products"
    params = {"q": q}
    rows = inventory.version_summaries(db, ctx.org.id, q=q or None, page=page, per_page=PER_PAGE)
    context = {
        "org": ctx.org,
        "section": "products",
        "rows": rows.items,
        "paging": _pager(path, params, rows),
        "q": q,
        "can_upload": ctx.can("sbom:upload"),
        "product_names": inventory.product_names(db, ctx.org.id),
        "kinds": KINDS,
        "max_upload_mib": MAX_UPLOAD_BYTES // (1024 * 1024),
        "form_error": form_error,
        "form": form or {},
        "upload": upload,
        "upload_form_values": upload_form or {},
    }
    if _fragment(request) and status_code == 200:
        return _vary(render(request, "products_list.html.j2", context))
    return _vary(render(request, "products.html.j2", context, status_code))


@router.get("/orgs/{org_id}/products")
def products(request: Request, db: DbDep, ctx: ReadCtx, q: Text = "", page: PageNo = 1) -> Response:
    return _products_page(request, db, ctx, q=q, page=page)


@router.post("/orgs/{org_id}/products")
def create_product(
    request: Request,
    db: DbDep,
    ctx: UploadCtx,
    name: Annotated[str, Form(max_length=400)] = "",
    device_class: Annotated[str, Form(max_length=40)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    form = {"name": name, "device_class": device_class, "description": description}
    try:
        if len(name.strip()) > 200:
            raise ServiceError("a product name is at most 200 characters")
        if len(device_class.strip()) > 20:
            raise ServiceError("the device class is at most 20 characters (e.g. II)")
        product = products_svc.create_product(
            db,
            name,
            organisation=ctx.org.name,
            description=description.strip() or None,
            device_class=device_class.strip() or None,
        )
    except ServiceError as exc:
        db.rollback()
        status = 409 if isinstance(exc, ConflictError) else 400
        return _products_page(request, db, ctx, status_code=status, form_error=str(exc), form=form)
    return RedirectResponse(f"/orgs/{ctx.org.id}/products/{product.id}", status_code=303)


@router.get("/orgs/{org_id}/products/{product_id}")
def product_page(request: Request, db: DbDep, ctx: ReadCtx, product_id: int, page: PageNo = 1) -> Response:
    product = product_in(db, ctx.org, product_id)
    return _product_page(request, db, ctx, product, page=page)


def _product_page(
    request: Request,
    db: DbDep,
    ctx: OrgContext,
    product: Any,
    *,
    page: int = 1,
    status_code: int = 200,
    form_error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    path = f"/orgs/{ctx.org.id}/products/{product.id}"
    rows = inventory.version_summaries(db, ctx.org.id, product_id=product.id, page=page, per_page=PER_PAGE)
    context = {
        "org": ctx.org,
        "section": "products",
        "product": product,
        "rows": [r for r in rows.items if r.version_id is not None],
        "paging": _pager(path, {}, rows),
        "can_upload": ctx.can("sbom:upload"),
        "form_error": form_error,
        "form": form or {},
    }
    return render(request, "products_product.html.j2", context, status_code)


@router.post("/orgs/{org_id}/products/{product_id}/versions")
def create_version(
    request: Request,
    db: DbDep,
    ctx: UploadCtx,
    product_id: int,
    version: Annotated[str, Form(max_length=400)] = "",
    released_on: Annotated[str, Form(max_length=40)] = "",
    end_of_support: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    product = product_in(db, ctx.org, product_id)
    form = {"version": version, "released_on": released_on, "end_of_support": end_of_support}
    try:
        text = version.strip()
        if not text:
            raise ServiceError("a version needs a version string, e.g. 2.1.0")
        released = _parse_date(released_on, "the release date")
        eos = _parse_date(end_of_support, "the end of support")
        if released and eos and eos < released:
            raise ServiceError("the end of support comes before the release date")
        existing = db.scalar(
            select(ProductVersion).where(
                ProductVersion.product_id == product.id, ProductVersion.version == text
            )
        )
        if existing is not None:
            raise ConflictError(f"{product.name} already has a version {text!r}")
        pv = products_svc.get_or_create_version(db, product, text, released_on=released, end_of_support=eos)
    except ServiceError as exc:
        db.rollback()
        status = 409 if isinstance(exc, ConflictError) else 400
        product = product_in(db, ctx.org, product_id)
        return _product_page(request, db, ctx, product, status_code=status, form_error=str(exc), form=form)
    return RedirectResponse(f"/orgs/{ctx.org.id}/versions/{pv.id}", status_code=303)


# --- one device version --------------------------------------------------------------------------------


def _version_context(
    request: Request,
    db: DbDep,
    ctx: OrgContext,
    pv: ProductVersion,
    *,
    tab: str,
    params: dict[str, Any],
) -> dict[str, Any]:
    base = f"/orgs/{ctx.org.id}/versions/{pv.id}"
    summary = inventory.version_summary(db, pv)
    context: dict[str, Any] = {
        "org": ctx.org,
        "section": "products",
        "pv": pv,
        "product": pv.product,
        "summary": summary,
        "tab": tab,
        "tabs": TABS,
        "base": base,
        "params": params,
        "can_upload": ctx.can("sbom:upload"),
        "can_scan": ctx.can("scan:run"),
        "kinds": KINDS,
        "max_upload_mib": MAX_UPLOAD_BYTES // (1024 * 1024),
        "levels": LEVELS,
        "upload": None,
        "last_run": _last_matched(db, pv.id),
    }
    if tab == "components":
        comps = inventory.version_components(
            db,
            pv.id,
            q=params.get("q") or None,
            type=params.get("type") or None,
            level=params.get("level") or None,
            eos=params.get("eos") or None,
            findings=params.get("findings") or None,
            page=params.get("page", 1),
            per_page=PER_PAGE,
        )
        filters = {k: params.get(k, "") for k in ("q", "type", "level", "eos", "findings")}
        context.update(
            components=comps.items,
            paging=_pager(base, {"tab": tab, **filters}, comps),
            types=inventory.component_types(db, pv.id),
            support_levels=inventory.SUPPORT_LEVELS,
            today=inventory.today(),
        )
    elif tab == "findings":
        kev_only = params.get("kev") == "1"
        found = inventory.version_findings(
            db,
            pv.id,
            severity=params.get("severity") or None,
            kev_only=kev_only,
            q=params.get("q") or None,
            page=params.get("page", 1),
            per_page=PER_PAGE,
        )
        filters = {k: params.get(k, "") for k in ("q", "severity", "kev")}
        context.update(
            findings=found.items,
            paging=_pager(base, {"tab": tab, **filters}, found),
            advisories=inventory.advisories_available(db),
        )
    elif tab == "sboms":
        reports = []
        for rec in pv.sboms:
            quality = assess_quality(products_svc.load_sbom(db, rec.id))
            reports.append((rec, quality))
        context.update(sboms=reports)
    else:  # timeline
        report = inventory.version_lifecycle(db, pv)
        chart = None
        if report is not None and any(c.eol is not None for c in report.components):
            from ...lifecycle.chart import timeline_chart

            chart = to_svg(
                timeline_chart(
                    report, title=f"Support timeline of {pv.product.name} {pv.version} (as of {report.as_of})"
                )
            )
        names = {c.ref: c for c in report.components} if report else {}
        context.update(
            lifecycle=report,
            chart=chart,
            horizon_components=[names[r] for r in report.horizon_refs if r in names] if report else [],
        )
    return context


def _last_matched(db: DbDep, pv_id: int) -> dt.datetime | None:
    from ...store.models import MonitoredVersionRow

    return db.scalar(
        select(MonitoredVersionRow.matched_at).where(MonitoredVersionRow.product_version_id == pv_id)
    )


def _flash(
    db: DbDep, ctx: OrgContext, pv: ProductVersion, uploaded: int | None, run: int | None
) -> str | None:
    parts = []
    if uploaded is not None:
        try:
            rec = sbom_in(db, ctx.org, uploaded)
        except NotFoundError:
            rec = None
        if rec is not None and rec.version_id == pv.id:
            parts.append(
                f"SBOM #{rec.id} ({rec.file_name or 'upload'}) imported: {rec.component_count} components."
            )
    if run is not None:
        new = inventory.new_findings_count(db, pv.id, run)
        parts.append(f"Matching against the vulnerability database opened {new} new finding(s).")
    return " ".join(parts) or None


@router.get("/orgs/{org_id}/versions/{version_id}")
def version_page(
    request: Request,
    db: DbDep,
    ctx: ReadCtx,
    version_id: int,
    tab: Annotated[str, Query(max_length=20)] = "findings",
    q: Text = "",
    type: Annotated[str, Query(max_length=40)] = "",
    level: Annotated[str, Query(max_length=40)] = "",
    eos: Annotated[str, Query(max_length=20)] = "",
    findings: Annotated[str, Query(max_length=20)] = "",
    severity: Annotated[str, Query(max_length=20)] = "",
    kev: Annotated[str, Query(max_length=5)] = "",
    page: PageNo = 1,
    uploaded: Annotated[int | None, Query(ge=1, le=2**31)] = None,
    run: Annotated[int | None, Query(ge=1, le=2**31)] = None,
) -> Response:
    pv = version_in(db, ctx.org, version_id)
    if tab not in TABS:
        tab = "findings"
    params: dict[str, Any] = {"page": page}
    if tab == "components":
        params.update(q=q, type=type, level=level, eos=eos, findings=findings)
    elif tab == "findings":
        params.update(q=q, severity=severity, kev=kev)
    try:
        context = _version_context(request, db, ctx, pv, tab=tab, params=params)
    except ServiceError as exc:  # an unknown filter value: say so in place
        if _fragment(request):
            return _vary(
                render(request, "_error_fragment.html.j2", {"message": str(exc), "status": 400}, 400)
            )
        raise
    if _fragment(request) and tab in ("components", "findings"):
        return _vary(render(request, f"products_{tab}.html.j2", context))
    context["flash"] = _flash(db, ctx, pv, uploaded, run)
    return _vary(render(request, "products_version.html.j2", context))


@router.post("/orgs/{org_id}/versions/{version_id}/scan")
def scan_version(request: Request, db: DbDep, ctx: ScanCtx, version_id: int) -> Response:
    pv = version_in(db, ctx.org, version_id)
    summary = inventory.match_version(db, pv, trigger="manual")
    target = f"/orgs/{ctx.org.id}/versions/{pv.id}?run={summary.run_id}" if summary.run_id else None
    return RedirectResponse(target or f"/orgs/{ctx.org.id}/versions/{pv.id}", status_code=303)


@router.get("/orgs/{org_id}/sboms/{sbom_id}/original")
def download_original(db: DbDep, ctx: ReadCtx, sbom_id: int) -> Response:
    rec = sbom_in(db, ctx.org, sbom_id)
    name = clean_file_name(rec.file_name or f"sbom-{rec.id}")
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in name)
    return Response(
        products_svc.original_bytes(rec),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
        },
    )


# --- uploads -------------------------------------------------------------------------------------------


def _upload_result(
    request: Request,
    db: DbDep,
    ctx: OrgContext,
    rec: SbomRecord,
    created: bool,
) -> Response:
    """After a stored upload: match the version, then a fragment (XHR) or a redirect (plain form)."""
    pv = rec.product_version
    run = inventory.match_version(db, pv)
    version_url = f"/orgs/{ctx.org.id}/versions/{pv.id}"
    if not request.headers.get("hx-request"):
        params = {"uploaded": rec.id, **({"run": run.run_id} if run.run_id else {})}
        return RedirectResponse(f"{version_url}?{urlencode(params)}", status_code=303)
    context = {
        "org": ctx.org,
        "rec": rec,
        "pv": pv,
        "product": pv.product,
        "created": created,
        "new_findings": inventory.new_findings_count(db, pv.id, run.run_id),
        "summary": inventory.findings_summary(db, pv.id),
        "advisories": inventory.advisories_available(db),
        "version_url": version_url,
    }
    return render(request, "_sbom_upload_result.html.j2", context, 201)


def _refused(request: Request, refused: Refusal, page: Any) -> Response:
    if request.headers.get("hx-request"):
        return render(request, "_sbom_upload_errors.html.j2", {"upload": refused}, refused.status)
    return page()


@router.post("/orgs/{org_id}/versions/{version_id}/sboms")
def upload_to_version(
    request: Request,
    db: DbDep,
    ctx: UploadCtx,
    version_id: int,
    file: Annotated[UploadFile | None, File()] = None,
    kind: Annotated[str, Form(max_length=20)] = "software",
) -> Response:
    pv = version_in(db, ctx.org, version_id)
    name = clean_file_name(file.filename if file is not None else None)
    try:
        if file is None:
            raise ServiceError("choose an SBOM file to upload")
        data = read_capped(file.file)
        rec = store_sbom(db, ctx.org, pv.product, pv, data, file_name=name, kind=kind)
    except (ServiceError, UploadTooLarge) as exc:
        db.rollback()
        refused = refusal(exc, name)

        def page() -> Response:
            again = version_in(db, ctx.org, version_id)
            context = _version_context(request, db, ctx, again, tab="sboms", params={"page": 1})
            context["upload"] = refused
            return render(request, "products_version.html.j2", context, refused.status)

        return _refused(request, refused, page)
    return _upload_result(request, db, ctx, rec, created=False)


@router.post("/orgs/{org_id}/sboms")
def upload_sbom(
    request: Request,
    db: DbDep,
    ctx: UploadCtx,
    file: Annotated[UploadFile | None, File()] = None,
    product: Annotated[str, Form(max_length=400)] = "",
    version: Annotated[str, Form(max_length=400)] = "",
    kind: Annotated[str, Form(max_length=20)] = "software",
) -> Response:
    name = clean_file_name(file.filename if file is not None else None)
    form = {"product": product, "version": version, "kind": kind}
    try:
        product_name, version_name = check_names(product, version)
        if file is None:
            raise ServiceError("choose an SBOM file to upload")
        data = read_capped(file.file)
        existed = db.scalar(
            select(ProductVersion.id)
            .join(Product, Product.id == ProductVersion.product_id)
            .where(
                Product.organisation_id == ctx.org.id,
                Product.name == product_name,
                ProductVersion.version == version_name,
            )
        )
        rec = store_sbom(db, ctx.org, product_name, version_name, data, file_name=name, kind=kind)
    except (ServiceError, UploadTooLarge) as exc:
        db.rollback()
        refused = refusal(exc, name)
        return _refused(
            request,
            refused,
            lambda: _products_page(
                request, db, ctx, status_code=refused.status, upload=refused, upload_form=form
            ),
        )
    return _upload_result(request, db, ctx, rec, created=existed is None)
