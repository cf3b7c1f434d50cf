"""Device portfolio API (for CI pipelines and scripts): products and versions with their aggregates,
components and findings of a version, SBOM upload and matching.

Authenticate with an organisation API token (``Authorization: Bearer mcy_...``): ``read`` for the GETs,
``sbom:upload`` to upload, ``scan`` to run matching. A pipeline uploads the SBOM of the build, runs the
scan with ``fail_on`` and fails the job when ``fail`` is true (see docs/web.md, "CI pipelines").
"""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUploadFile

from ...services import inventory
from ...services.errors import ServiceError
from ...store.models import Product, ProductVersion
from ..deps import DbDep, OrgContext, org_access, version_in
from ..sbom_upload import (
    MAX_UPLOAD_BYTES,
    Refusal,
    UploadTooLarge,
    check_names,
    clean_file_name,
    refusal,
    store_sbom,
)

router = APIRouter(tags=["products"])

ReadCtx = Annotated[OrgContext, Depends(org_access("org:read"))]
UploadCtx = Annotated[OrgContext, Depends(org_access("sbom:upload"))]
ScanCtx = Annotated[OrgContext, Depends(org_access("scan:run"))]
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=inventory.MAX_PER_PAGE)]
Severity = Literal["critical", "high", "medium", "low", "none", "unknown"]
Kind = Literal["software", "firmware", "hardware"]
FailOn = Literal["critical", "high", "medium", "low", "kev", "none"]


# --- response models -------------------------------------------------------------------------------


class SeverityCounts(BaseModel):
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    none: int = 0
    unknown: int = 0


class VersionOut(BaseModel):
    id: int
    version: str
    released_on: dt.date | None
    end_of_support: dt.date | None
    sboms: int
    components: int
    open_findings: int
    findings: SeverityCounts = Field(description="open findings by severity")
    kev: int = Field(description="open findings listed in CISA KEV")
    past_end_of_support: int = Field(description="components past their declared end of support today")


class ProductOut(BaseModel):
    id: int
    name: str
    device_class: str | None
    versions: list[VersionOut] = Field(description="the versions on this page (a product may span pages)")


class ProductList(BaseModel):
    products: list[ProductOut]
    page: int
    per_page: int
    pages: int
    total_rows: int = Field(description="product versions (and products without versions) in all pages")


class ComponentOut(BaseModel):
    id: int
    sbom_id: int
    sbom_kind: str
    ref: str
    name: str
    version: str | None
    type: str
    group: str | None
    supplier: str | None
    purl: str | None
    cpes: list[str]
    support_level: str | None
    support_level_text: str | None
    end_of_support: dt.date | None
    end_of_support_text: str | None
    past_end_of_support: bool
    open_findings: int
    worst_severity: str | None
    kev: int


class ComponentList(BaseModel):
    version_id: int
    items: list[ComponentOut]
    page: int
    per_page: int
    pages: int
    total: int


class FindingOut(BaseModel):
    id: int
    vuln_id: str
    component_ref: str
    component: str
    component_version: str | None
    purl: str | None
    cpe: str | None
    summary: str | None
    status: str = Field(description="affected, or conditional on a platform the SBOM does not list")
    severity: str
    cvss_score: float | None
    kev: bool
    epss: float | None
    epss_percentile: float | None
    fixed: list[str]
    nearest_fix: str | None
    evidence: list[str]
    first_seen_at: dt.datetime
    resolved_at: dt.datetime | None


class FindingsSummaryOut(BaseModel):
    open: int
    by_severity: SeverityCounts
    kev: int
    conditional: int


class FindingList(BaseModel):
    version_id: int
    product: str
    version: str
    summary: FindingsSummaryOut
    items: list[FindingOut]
    page: int
    per_page: int
    pages: int
    total: int


class SbomOut(BaseModel):
    id: int
    product_id: int
    product: str
    version_id: int
    version: str
    version_created: bool = Field(description="the product version did not exist before this upload")
    kind: str
    format: str
    spec_version: str
    encoding: str
    file_name: str | None
    sha256: str
    size: int
    valid: bool
    components: int
    imported_at: dt.datetime | None


class ProblemOut(BaseModel):
    path: str
    message: str


class UploadRefusedOut(BaseModel):
    detail: str
    file: str
    problems: list[ProblemOut] = []
    more_problems: int = 0


class ScanOut(BaseModel):
    version_id: int
    product: str
    version: str
    run_id: int | None
    new_findings: int
    resolved_findings: int
    open_findings: int
    by_severity: SeverityCounts
    kev: int
    conditional: int = Field(description="open findings that depend on a platform the SBOM does not list")
    advisories_available: bool
    fail_on: FailOn | None
    failing: int = Field(description="affected findings at or above fail_on (in KEV for fail_on=kev)")
    fail: bool = Field(description="true when a pipeline should fail: exit 1 on it")
    message: str


class ErrorOut(BaseModel):
    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no or invalid credentials"},
    403: {"model": ErrorOut, "description": "the role or the token's scopes do not allow this"},
    404: {"model": ErrorOut, "description": "no such organisation, or object in it"},
}


def _counts(values: dict[str, int]) -> SeverityCounts:
    return SeverityCounts(**values)


# --- reading ---------------------------------------------------------------------------------------


@router.get("/orgs/{org_id}/products", response_model=ProductList, responses=ERRORS)
def list_products(
    db: DbDep,
    ctx: ReadCtx,
    q: Annotated[str, Query(max_length=200, description="product name contains")] = "",
    page: PageNo = 1,
    per_page: PerPage = 100,
) -> ProductList:
    """The organisation's products and versions, each version with its SBOM, component, open finding,
    KEV and past-end-of-support counts; paginated over product versions (by product name)."""
    rows = inventory.version_summaries(db, ctx.org.id, q=q or None, page=page, per_page=per_page)
    products: list[ProductOut] = []
    for r in rows.items:
        if not products or products[-1].id != r.product_id:
            products.append(
                ProductOut(id=r.product_id, name=r.product, device_class=r.device_class, versions=[])
            )
        if r.version_id is not None and r.version is not None:
            products[-1].versions.append(
                VersionOut(
                    id=r.version_id,
                    version=r.version,
                    released_on=r.released_on,
                    end_of_support=r.end_of_support,
                    sboms=r.sboms,
                    components=r.components,
                    open_findings=r.open_findings,
                    findings=_counts(r.findings),
                    kev=r.kev,
                    past_end_of_support=r.past_eos,
                )
            )
    return ProductList(
        products=products, page=rows.page, per_page=rows.per_page, pages=rows.pages, total_rows=rows.total
    )


@router.get(
    "/orgs/{org_id}/versions/{version_id}/components",
    response_model=ComponentList,
    responses={**ERRORS, 422: {"model": ErrorOut, "description": "an unknown filter value"}},
)
def list_components(
    db: DbDep,
    ctx: ReadCtx,
    version_id: Id,
    q: Annotated[str, Query(max_length=200, description="name or purl contains")] = "",
    type: Annotated[str, Query(max_length=40, description="component type, e.g. library")] = "",
    level: Annotated[
        Literal["", "actively-maintained", "no-longer-maintained", "abandoned", "unknown", "none"],
        Query(description="declared support level ('none': not declared)"),
    ] = "",
    eos: Annotated[
        Literal["", "past", "upcoming", "declared", "none"], Query(description="declared end of support")
    ] = "",
    findings: Annotated[Literal["", "with", "without"], Query(description="open findings")] = "",
    page: PageNo = 1,
    per_page: PerPage = 100,
) -> ComponentList:
    """The components of every SBOM of a device version, searched and filtered, one page."""
    pv = version_in(db, ctx.org, version_id)
    if type and type not in inventory.COMPONENT_TYPES:
        raise HTTPException(
            422, f"unknown component type {type!r}: one of {', '.join(inventory.COMPONENT_TYPES)}"
        )
    found = inventory.version_components(
        db,
        pv.id,
        q=q or None,
        type=type or None,
        level=level or None,
        eos=eos or None,
        findings=findings or None,
        page=page,
        per_page=per_page,
    )
    items = [
        ComponentOut(
            id=c.id,
            sbom_id=c.sbom_id,
            sbom_kind=c.kind,
            ref=c.ref,
            name=c.name,
            version=c.version,
            type=c.type,
            group=c.group,
            supplier=c.supplier,
            purl=c.purl,
            cpes=[str(x) for x in c.cpes],
            support_level=c.level,
            support_level_text=c.level_text,
            end_of_support=c.eos,
            end_of_support_text=c.eos_text,
            past_end_of_support=c.past_eos,
            open_findings=c.findings,
            worst_severity=c.worst,
            kev=c.kev,
        )
        for c in found.items
    ]
    return ComponentList(
        version_id=pv.id,
        items=items,
        page=found.page,
        per_page=found.per_page,
        pages=found.pages,
        total=found.total,
    )


def _summary_out(s: inventory.FindingsSummary) -> FindingsSummaryOut:
    return FindingsSummaryOut(
        open=s.open, by_severity=_counts(s.by_severity), kev=s.kev, conditional=s.conditional
    )


@router.get("/orgs/{org_id}/versions/{version_id}/findings", response_model=FindingList, responses=ERRORS)
def list_findings(
    db: DbDep,
    ctx: ReadCtx,
    version_id: Id,
    severity: Annotated[Severity | None, Query()] = None,
    kev: Annotated[bool, Query(description="only findings listed in CISA KEV")] = False,
    status: Annotated[Literal["affected", "conditional"] | None, Query()] = None,
    include_resolved: Annotated[bool, Query()] = False,
    page: PageNo = 1,
    per_page: PerPage = 100,
) -> FindingList:
    """The findings of a device version (open ones unless ``include_resolved``), most urgent first."""
    pv = version_in(db, ctx.org, version_id)
    found = inventory.version_findings(
        db,
        pv.id,
        severity=severity,
        kev_only=kev,
        status=status,
        include_resolved=include_resolved,
        page=page,
        per_page=per_page,
    )
    items = [
        FindingOut(
            id=f.id,
            vuln_id=f.vuln_id,
            component_ref=f.component_ref,
            component=f.component,
            component_version=f.component_version,
            purl=f.purl,
            cpe=f.cpe,
            summary=f.summary,
            status=f.status,
            severity=f.severity,
            cvss_score=f.score,
            kev=f.kev,
            epss=f.epss,
            epss_percentile=f.epss_percentile,
            fixed=f.fixed,
            nearest_fix=f.nearest_fix,
            evidence=f.evidence,
            first_seen_at=f.first_seen_at,
            resolved_at=f.resolved_at,
        )
        for f in found.items
    ]
    return FindingList(
        version_id=pv.id,
        product=pv.product.name,
        version=pv.version,
        summary=_summary_out(inventory.findings_summary(db, pv.id)),
        items=items,
        page=found.page,
        per_page=found.per_page,
        pages=found.pages,
        total=found.total,
    )


# --- writing ---------------------------------------------------------------------------------------


def _refused(r: Refusal) -> JSONResponse:
    body = UploadRefusedOut(
        detail=r.message,
        file=r.file_name,
        problems=[ProblemOut(path=p.path, message=p.message) for p in r.problems],
        more_problems=r.more,
    )
    return JSONResponse(body.model_dump(), status_code=r.status)


def _store(
    db: Session, ctx: OrgContext, product_name: str, version: str, data: bytes, file_name: str, kind: str
) -> SbomOut | Refusal:
    try:
        product_name, version = check_names(product_name, version)
        existed = db.scalar(
            select(ProductVersion.id)
            .join(Product, Product.id == ProductVersion.product_id)
            .where(
                Product.organisation_id == ctx.org.id,
                Product.name == product_name,
                ProductVersion.version == version,
            )
        )
        rec = store_sbom(db, ctx.org, product_name, version, data, file_name=file_name, kind=kind)
    except ServiceError as exc:
        db.rollback()
        return refusal(exc, file_name)
    pv = rec.product_version
    return SbomOut(
        id=rec.id,
        product_id=pv.product_id,
        product=pv.product.name,
        version_id=pv.id,
        version=pv.version,
        version_created=existed is None,
        kind=rec.kind,
        format=rec.format,
        spec_version=rec.spec_version,
        encoding=rec.encoding,
        file_name=rec.file_name,
        sha256=rec.sha256,
        size=rec.size,
        valid=rec.valid,
        components=rec.component_count,
        imported_at=rec.imported_at,
    )


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            "The SBOM: a multipart form with the file in the field `file`, or the file itself as the body "
            f"(any content type). At most {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB; the format is read from "
            "the content."
        ),
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


@router.post(
    "/orgs/{org_id}/products/{product_name}/versions/{version}/sboms",
    status_code=201,
    response_model=SbomOut,
    responses={
        **ERRORS,
        400: {"model": UploadRefusedOut, "description": "a bad request (no file, a bad name)"},
        409: {"model": UploadRefusedOut, "description": "the same SBOM is already stored for this version"},
        413: {"model": UploadRefusedOut, "description": "larger than the upload limit"},
        422: {"model": UploadRefusedOut, "description": "not a valid SBOM: the problems and where they are"},
    },
    openapi_extra=_UPLOAD_BODY,
)
async def upload_sbom(
    request: Request,
    db: DbDep,
    ctx: UploadCtx,
    product_name: Annotated[str, Path(min_length=1, max_length=200)],
    version: Annotated[str, Path(min_length=1, max_length=100)],
    kind: Annotated[Kind, Query(description="what the SBOM covers")] = "software",
    filename: Annotated[str, Query(max_length=200, description="a name for a raw-body upload")] = "",
) -> Any:
    """Store an SBOM for a product version (both created when missing). One transaction: an invalid SBOM
    is refused with its problems (422) and nothing is stored. Matching is a separate step (``scan``)."""
    name = clean_file_name(filename or f"{product_name}-{version}.sbom")
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    try:
        if declared > MAX_UPLOAD_BYTES + 64 * 1024:
            raise UploadTooLarge()
        if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            form = await request.form(max_files=1, max_fields=10)
            part = form.get("file")
            if not isinstance(part, StarletteUploadFile):
                return _refused(Refusal(400, name, "send the SBOM in the multipart field 'file'"))
            name = clean_file_name(part.filename or name)
            data = await part.read(MAX_UPLOAD_BYTES + 1)
        else:
            buf = bytearray()
            async for chunk in request.stream():
                buf += chunk
                if len(buf) > MAX_UPLOAD_BYTES:
                    break
            data = bytes(buf)
        if len(data) > MAX_UPLOAD_BYTES:
            raise UploadTooLarge()
    except UploadTooLarge as exc:
        return _refused(refusal(exc, name))
    result = await run_in_threadpool(_store, db, ctx, product_name, version, data, name, kind)
    if isinstance(result, Refusal):
        return _refused(result)
    return JSONResponse(result.model_dump(mode="json"), status_code=201)


@router.post(
    "/orgs/{org_id}/versions/{version_id}/scan",
    response_model=ScanOut,
    responses=ERRORS,
)
def scan_version(
    db: DbDep,
    ctx: ScanCtx,
    version_id: Id,
    fail_on: Annotated[
        FailOn | None,
        Query(description="set `fail` when an affected finding is at or above this severity (kev: in KEV)"),
    ] = None,
) -> ScanOut:
    """Match the version's SBOMs against the whole vulnerability database now (as ``medcyber vulns
    monitor`` does for a pending version) and summarise its open findings, with a ``fail`` flag for CI."""
    pv = version_in(db, ctx.org, version_id)
    advisories = inventory.advisories_available(db)
    run = inventory.match_version(db, pv, trigger="manual")
    s = inventory.findings_summary(db, pv.id)
    failing = s.at_or_above(fail_on) if fail_on else 0
    fail = fail_on not in (None, "none") and (failing > 0 or not advisories)
    if not advisories:
        message = "the vulnerability database is empty: nothing could be matched (import advisories first)"
    elif not pv.sboms:
        message = f"{pv.product.name} {pv.version} has no SBOM: nothing to match"
    elif fail:
        what = "in CISA KEV" if fail_on == "kev" else f"at or above {fail_on}"
        message = f"{failing} affected finding(s) {what}"
    else:
        message = f"{s.open} open finding(s); {run.new_findings} new in this run"
    return ScanOut(
        version_id=pv.id,
        product=pv.product.name,
        version=pv.version,
        run_id=run.run_id,
        new_findings=inventory.new_findings_count(db, pv.id, run.run_id),
        resolved_findings=run.resolved_findings,
        open_findings=s.open,
        by_severity=_counts(s.by_severity),
        kev=s.kev,
        conditional=s.conditional,
        advisories_available=advisories,
        fail_on=fail_on,
        failing=failing,
        fail=fail,
        message=message,
    )
