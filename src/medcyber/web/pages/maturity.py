"""The maturity pages: the questionnaire (one category at a time, each answer saved as it changes), evidence
files, finishing an assessment, submitting it to a benchmark cohort, and the results with the report.

Every answer goes through ``services.assessments`` (save_answer / clear_answer), evidence files through
``services.evidence``, submissions through ``services.benchmark.submit_assessment`` and the results
through ``services.reports.organisation_report`` -- the same services the CLI calls.

Without JavaScript every form posts and is redirected (303) back to where it came from; with htmx an
answer form posts on each change and gets back the question (its status line is swapped in) with
out-of-band updates of the progress bar, the provisional score and the category tabs.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...maturity.bank import CATEGORY_IDS, Question, QuestionBank
from ...maturity.scoring import AssessmentScore
from ...reports import render as report_render
from ...reports.benchmark_report import BenchmarkReport
from ...services import assessments as assess_svc
from ...services import benchmark as bench_svc
from ...services import evidence as evidence_svc
from ...services.errors import ConflictError, NotFoundError, ServiceError
from ...store.models import AnswerRow, Assessment, Cohort, EvidenceAttachment, SubmissionRow
from .. import maturity_views as mv
from ..deps import DbDep, OrgContext, org_access
from ..templating import render

router = APIRouter(include_in_schema=False)

MAX_ID = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
QuestionId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
CategoryIdPath = Annotated[str, Path(min_length=1, max_length=60)]
FormText = Annotated[str, Form(max_length=4 * mv.MAX_TEXT)]
ReadCtx = Annotated[OrgContext, Depends(org_access("org:read"))]
AnswerCtx = Annotated[OrgContext, Depends(org_access("assessment:answer"))]
REPORT_FORMATS = ("pdf", "html", "json", "xlsx", "docx")
REPORT_LABELS = {
    "pdf": "PDF report",
    "html": "HTML report",
    "json": "JSON data",
    "xlsx": "Excel action plan",
    "docx": "Word report",
}
_PERIOD = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,19}$")


Scoped = mv.Scoped
ReadA = Annotated[Scoped, Depends(mv.scoped("org:read"))]
AnswerA = Annotated[Scoped, Depends(mv.scoped("assessment:answer"))]
FinishA = Annotated[Scoped, Depends(mv.scoped("assessment:finish"))]
SubmitA = Annotated[Scoped, Depends(mv.scoped("benchmark:submit"))]


def _htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _base(a: Assessment) -> str:
    return f"/orgs/{a.organisation_id}/assessments/{a.id}"


# --- view models ---------------------------------------------------------------------------------------


@dataclass
class QView:
    """One question as the page shows it: the stored answer, or what was just sent when it was refused."""

    q: Question
    choice: str = ""  # "0".."5", "na" or "" (not answered yet)
    na_reason: str = ""
    evidence: str = ""
    note: str = ""
    answered: bool = False
    error: str | None = None
    saved: bool = False
    files: list[EvidenceAttachment] = field(default_factory=list)
    file_error: str | None = None

    @property
    def level_label(self) -> str:
        return "N/A" if self.choice == mv.NA else self.choice


def _qview(q: Question, row: AnswerRow | None, files: list[EvidenceAttachment]) -> QView:
    if row is None:
        return QView(q, files=files)
    choice = mv.NA if row.not_applicable else ("" if row.level is None else str(row.level))
    return QView(
        q,
        choice=choice,
        na_reason=row.na_reason or "",
        evidence=row.evidence or "",
        note=row.note or "",
        answered=row.not_applicable or row.level is not None,
        files=files,
    )


def _files_by_question(db: Session, a: Assessment) -> dict[str, list[EvidenceAttachment]]:
    out: dict[str, list[EvidenceAttachment]] = {}
    for att in evidence_svc.list_attachments(db, a):
        out.setdefault(att.question_id, []).append(att)
    return out


def _live(bank: QuestionBank, a: Assessment) -> dict[str, Any]:
    """Progress and the provisional score of an assessment (the parts the answer form updates)."""
    result = assess_svc.score_of(a)
    overall, per = mv.progress(result)
    return {
        "score": result,
        "overall": overall,
        "per_category": per,
        "categories": bank.categories,
    }


def _editable(ctx: OrgContext, a: Assessment) -> bool:
    return a.status == "in_progress" and ctx.can("assessment:answer")


def _category_context(
    request: Request,
    db: Session,
    ctx: OrgContext,
    a: Assessment,
    category_id: str,
    *,
    override: QView | None = None,
) -> dict[str, Any]:
    bank = assess_svc.bank_of(a)
    if category_id not in CATEGORY_IDS:
        raise NotFoundError(f"no category {category_id!r} in the questionnaire")
    category = bank.category(category_id)
    rows = {r.question_id: r for r in a.answers}
    files = _files_by_question(db, a)
    groups: list[tuple[Any, list[QView]]] = []
    for area in category.practice_areas:
        views = []
        for q in bank.questions_in(category_id):
            if q.practice_area != area.id:
                continue
            if override is not None and override.q.id == q.id:
                views.append(override)
            else:
                views.append(_qview(q, rows.get(q.id), files.get(q.id, [])))
        if views:
            groups.append((area, views))
    index = CATEGORY_IDS.index(category_id)
    return {
        "org": ctx.org,
        "section": "assessment",
        "a": a,
        "bank": bank,
        "base": _base(a),
        "category": category,
        "groups": groups,
        "scale": {s.level: s.name for s in bank.scale},
        "editable": _editable(ctx, a),
        "prev_category": bank.category(CATEGORY_IDS[index - 1]) if index > 0 else None,
        "next_category": bank.category(CATEGORY_IDS[index + 1]) if index + 1 < len(CATEGORY_IDS) else None,
        "can_finish": ctx.can("assessment:finish"),
        "max_text": mv.MAX_TEXT,
        "max_file": evidence_svc.MAX_ATTACHMENT_BYTES,
        "allowed_files": evidence_svc.ALLOWED_DESCRIPTION,
        **_live(bank, a),
    }


def _question_response(
    request: Request, db: Session, ctx: OrgContext, a: Assessment, view: QView, status: int = 200
) -> Response:
    """The question (with its status line) and, out of band, the progress, the score and the tabs."""
    bank = assess_svc.bank_of(a)
    context = {
        "org": ctx.org,
        "a": a,
        "base": _base(a),
        "v": view,
        "category": bank.category(view.q.category),
        "scale": {s.level: s.name for s in bank.scale},
        "editable": _editable(ctx, a),
        "max_text": mv.MAX_TEXT,
        "max_file": evidence_svc.MAX_ATTACHMENT_BYTES,
        "allowed_files": evidence_svc.ALLOWED_DESCRIPTION,
        **_live(bank, a),
    }
    response = render(request, "_q_answer_response.html.j2", context, status)
    response.headers["Vary"] = "HX-Request"
    return response


# --- the questionnaire ---------------------------------------------------------------------------------


def _submissions_of(db: Session, ctx: OrgContext) -> list[tuple[SubmissionRow, Cohort]]:
    """The organisation's own submissions (by its anonymous benchmark id), newest first."""
    rows = db.execute(
        select(SubmissionRow, Cohort)
        .join(Cohort, Cohort.id == SubmissionRow.cohort_id)
        .where(SubmissionRow.submission_id == ctx.org.benchmark_id)
        .order_by(SubmissionRow.submitted_at.desc(), SubmissionRow.id.desc())
        .limit(20)
    )
    return [(s, c) for s, c in rows]


@dataclass(frozen=True)
class Row:
    a: Assessment
    score: AssessmentScore
    progress: mv.Count


def _overview_context(request: Request, db: Session, ctx: OrgContext, **extra: Any) -> dict[str, Any]:
    org = ctx.org
    open_a = assess_svc.open_assessment(db, org)
    everything = assess_svc.assessments_of(db, org)
    rows: list[Row] = []
    for a in reversed(everything):
        result = assess_svc.score_of(a)
        rows.append(Row(a, result, mv.progress(result)[0]))
    latest_row = next((r for r in rows if r.a.status == "complete"), None)
    live = None
    first_open: str = CATEGORY_IDS[0]
    missing: list[Question] = []
    if open_a is not None:
        bank = assess_svc.bank_of(open_a)
        live = _live(bank, open_a)
        first_open = next((c for c in CATEGORY_IDS if not live["per_category"][c].complete), CATEGORY_IDS[0])
        missing = mv.unanswered(bank, open_a)
    cohorts = bench_svc.list_cohorts(db)
    default_cohort = next((c.name for c in cohorts if c.is_default), cohorts[0].name if cohorts else "")
    context: dict[str, Any] = {
        "org": org,
        "section": "assessment",
        "open_a": open_a,
        "live": live,
        "first_open": first_open,
        "missing": missing,
        "rows": rows,
        "latest": latest_row.a if latest_row else None,
        "latest_score": latest_row.score if latest_row else None,
        "cohorts": cohorts,
        "submissions": _submissions_of(db, ctx),
        "profile": assess_svc.profile_of(org),
        "can_answer": ctx.can("assessment:answer"),
        "can_finish": ctx.can("assessment:finish"),
        "can_submit": ctx.can("benchmark:submit"),
        "submit_form": {"cohort": default_cohort, "period": str(dt.date.today().year), "consent": False},
        "categories": CATEGORY_IDS,
    }
    context.update(extra)
    return context


_NOTICES = {
    "started": "A new assessment was started. Answers are saved as you go.",
    "finished": "The assessment is complete. Its results and reports are ready; you can now submit it to "
    "a benchmark cohort.",
    "submitted": "Thank you: the scores were submitted to the cohort.",
}


@router.get("/orgs/{org_id}/assessment")
def questionnaire(
    request: Request,
    db: DbDep,
    ctx: ReadCtx,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    context = _overview_context(request, db, ctx)
    if done in _NOTICES:
        context["flash"] = _NOTICES[done]
    return render(request, "maturity_assessment.html.j2", context)


@router.post("/orgs/{org_id}/assessment")
def start(
    request: Request,
    db: DbDep,
    ctx: AnswerCtx,
    copy_previous: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Start an assessment (or resume the one in progress: there is only ever one open)."""
    open_a = assess_svc.open_assessment(db, ctx.org)
    if open_a is not None:
        return _see_other(f"{_base(open_a)}/{CATEGORY_IDS[0]}")
    a = assess_svc.start_assessment(db, ctx.org)
    if copy_previous:
        previous = assess_svc.latest_complete(db, ctx.org)
        if previous is not None and previous.bank_version == a.bank_version:
            for answer in assess_svc.answers_of(previous):
                assess_svc.save_answer(db, a, answer)
    return _see_other(f"{_base(a)}/{CATEGORY_IDS[0]}?done=started")


@router.get("/orgs/{org_id}/assessments/{aid}")
def assessment_home(s: ReadA) -> Response:
    result = assess_svc.score_of(s.assessment)
    _, per = mv.progress(result)
    first = next((c for c in CATEGORY_IDS if not per[c].complete), CATEGORY_IDS[0])
    return _see_other(f"{_base(s.assessment)}/{first}")


@router.get("/orgs/{org_id}/assessments/{aid}/{category_id}")
def category_page(
    request: Request,
    db: DbDep,
    s: ReadA,
    category_id: CategoryIdPath,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    if category_id in ("finish", "submit"):  # reloading the page a refused form post left in the address bar
        return _see_other(f"/orgs/{s.ctx.org.id}/assessment#{category_id}")
    context = _category_context(request, db, s.ctx, s.assessment, category_id)
    if done in _NOTICES:
        context["flash"] = _NOTICES[done]
    return render(request, "maturity_category.html.j2", context)


@router.get("/orgs/{org_id}/assessments/{aid}/answers/{question_id}")
@router.get("/orgs/{org_id}/assessments/{aid}/answers/{question_id}/evidence")
def question_home(s: ReadA, question_id: QuestionId) -> Response:
    """Where a refused form post leaves the address bar: back to the question on its page."""
    q = mv.question_of(assess_svc.bank_of(s.assessment), question_id)
    return _see_other(f"{_base(s.assessment)}/{q.category}#q-{q.id}")


@router.post("/orgs/{org_id}/assessments/{aid}/answers/{question_id}")
def save_answer(
    request: Request,
    db: DbDep,
    s: AnswerA,
    question_id: QuestionId,
    choice: FormText = "",
    na_reason: FormText = "",
    evidence: FormText = "",
    note: FormText = "",
) -> Response:
    """Save one answer (htmx: on every change; without JavaScript: the question's Save button)."""
    a = s.assessment
    bank = assess_svc.bank_of(a)
    q = mv.question_of(bank, question_id)
    try:
        answer = mv.answer_from_form(q, choice, na_reason, evidence, note)
        mv.apply_answer(db, a, q.id, answer)
    except (mv.AnswerInputError, ConflictError) as exc:
        files = evidence_svc.list_attachments(db, a, q.id)
        sent = QView(
            q,
            choice=choice.strip(),
            na_reason=na_reason,
            evidence=evidence,
            note=note,
            error=str(exc),
            files=files,
        )
        status = 409 if isinstance(exc, ConflictError) else 400
        if _htmx(request):
            return _question_response(request, db, s.ctx, a, sent, status)
        context = _category_context(request, db, s.ctx, a, q.category, override=sent)
        return render(request, "maturity_category.html.j2", context, status)
    if not _htmx(request):
        return _see_other(f"{_base(a)}/{q.category}#q-{q.id}")
    row = next((r for r in a.answers if r.question_id == q.id), None)
    view = _qview(q, row, evidence_svc.list_attachments(db, a, q.id))
    view.saved = True
    return _question_response(request, db, s.ctx, a, view)


# --- evidence files ------------------------------------------------------------------------------------


def _files_fragment(
    request: Request, db: Session, s: Scoped, q: Question, *, error: str | None = None, status: int = 200
) -> Response:
    view = QView(q, files=evidence_svc.list_attachments(db, s.assessment, q.id), file_error=error)
    context = {
        "org": s.ctx.org,
        "a": s.assessment,
        "base": _base(s.assessment),
        "v": view,
        "editable": _editable(s.ctx, s.assessment),
    }
    return render(request, "_q_files.html.j2", context, status)


def _files_error_page(
    request: Request, db: Session, s: Scoped, q: Question, error: str, status: int
) -> Response:
    if _htmx(request):
        return _files_fragment(request, db, s, q, error=error, status=status)
    a = s.assessment
    rows = {r.question_id: r for r in a.answers}
    view = _qview(q, rows.get(q.id), evidence_svc.list_attachments(db, a, q.id))
    view.file_error = error
    context = _category_context(request, db, s.ctx, a, q.category, override=view)
    return render(request, "maturity_category.html.j2", context, status)


@router.post("/orgs/{org_id}/assessments/{aid}/answers/{question_id}/evidence")
def upload_evidence(
    request: Request,
    db: DbDep,
    s: AnswerA,
    question_id: QuestionId,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Attach a file to an answer. The file is hostile until ``maturity.evidence_files`` has checked its
    bytes; its type is sniffed, never taken from the client."""
    a = s.assessment
    q = mv.question_of(assess_svc.bank_of(a), question_id)
    limit = evidence_svc.MAX_ATTACHMENT_BYTES
    try:
        assess_svc.require_open(a)
        if file is None or not (file.filename or "").strip():
            raise evidence_svc.EvidenceError("choose a file to attach")
        data = file.file.read(limit + 1)
        if len(data) > limit:
            raise evidence_svc.EvidenceError(
                f"{file.filename}: the file is over the limit of {limit // 2**20} MiB for evidence files"
            )
        evidence_svc.add_attachment(
            db, a, q.id, file.filename or "attachment", data, uploaded_by=s.ctx.principal.email
        )
    except ServiceError as exc:
        status = 409 if isinstance(exc, ConflictError) and not isinstance(exc, NotFoundError) else 400
        if isinstance(exc, evidence_svc.EvidenceError) and "over the limit" in str(exc):
            status = 413
        return _files_error_page(request, db, s, q, str(exc), status)
    if _htmx(request):
        return _files_fragment(request, db, s, q, status=201)
    return _see_other(f"{_base(a)}/{q.category}#q-{q.id}")


def _content_disposition(name: str) -> str:
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name)
    return f"attachment; filename=\"{fallback or 'attachment'}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/orgs/{org_id}/assessments/{aid}/evidence/{attachment_id}")
def download_evidence(db: DbDep, s: ReadA, attachment_id: Id) -> Response:
    att = evidence_svc.get_attachment(db, s.assessment, attachment_id)
    data = evidence_svc.attachment_bytes(att)
    return Response(
        data,
        media_type=att.media_type,
        headers={
            "Content-Disposition": _content_disposition(att.file_name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            # Opened in the browser anyway, the file can run nothing and reach nothing.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.post("/orgs/{org_id}/assessments/{aid}/evidence/{attachment_id}/delete")
def delete_evidence(request: Request, db: DbDep, s: AnswerA, attachment_id: Id) -> Response:
    a = s.assessment
    att = evidence_svc.get_attachment(db, a, attachment_id)
    q = mv.question_of(assess_svc.bank_of(a), att.question_id)
    try:
        evidence_svc.delete_attachment(db, a, attachment_id)
    except ConflictError as exc:
        return _files_error_page(request, db, s, q, str(exc), 409)
    if _htmx(request):
        return _files_fragment(request, db, s, q)
    return _see_other(f"{_base(a)}/{q.category}#q-{q.id}")


# --- finishing and submitting --------------------------------------------------------------------------


@router.post("/orgs/{org_id}/assessments/{aid}/finish")
def finish(request: Request, db: DbDep, s: FinishA) -> Response:
    a = s.assessment
    error: str | None = None
    if a.status != "in_progress":
        error = f"the assessment of {a.assessed_on.isoformat()} is already {a.status.replace('_', ' ')}"
    else:
        missing = mv.unanswered(assess_svc.bank_of(a), a)
        if missing:
            ids = ", ".join(q.id for q in missing[:10]) + (", …" if len(missing) > 10 else "")
            error = (
                f"{len(missing)} of {len(assess_svc.bank_of(a).questions)} questions have neither a level "
                f"nor N/A yet ({ids}): answer them, then finish"
            )
        else:
            try:
                assess_svc.finish_assessment(db, a)
            except ServiceError as exc:
                error = str(exc)
    if error is not None:
        context = _overview_context(request, db, s.ctx, finish_error=error)
        return render(request, "maturity_assessment.html.j2", context, 409 if "already" in error else 400)
    return _see_other(f"/orgs/{s.ctx.org.id}/assessment?done=finished#submit")


@router.post("/orgs/{org_id}/assessments/{aid}/submit")
def submit(
    request: Request,
    db: DbDep,
    s: SubmitA,
    cohort: Annotated[str, Form(max_length=120)] = "",
    period: Annotated[str, Form(max_length=40)] = "",
    consent: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Submit a complete assessment's scores (never its answers) to a cohort: only with explicit consent."""
    form = {"cohort": cohort, "period": period, "consent": bool(consent)}
    try:
        period = period.strip()
        if not _PERIOD.match(period):
            raise ServiceError(
                "the period is a short label such as 2026 or 2026-H1 (letters, digits, '.', '_' or '-')"
            )
        target = bench_svc.get_cohort(db, cohort.strip() or None)
        if consent != "yes":
            raise ServiceError(
                "tick the consent box to submit: nothing is shared with the cohort without your consent"
            )
        bench_svc.submit_assessment(db, s.assessment, target, period=period, consent=True)
    except ServiceError as exc:
        context = _overview_context(request, db, s.ctx, submit_error=str(exc))
        context["submit_form"] = form
        return render(request, "maturity_assessment.html.j2", context, 400)
    return _see_other(f"/orgs/{s.ctx.org.id}/assessment?done=submitted#submit")


# --- results and reports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    report: BenchmarkReport
    charts: list[dict[str, Any]]
    history: list[tuple[dt.date, AssessmentScore]]


def _results(db: Session, ctx: OrgContext) -> Results:
    state = mv.report_state(db, ctx.org)

    def build() -> Results:
        report = mv.organisation_report(db, ctx.org)
        charts = [
            {
                "id": c.id,
                "title": c.title,
                "alt": c.alt,
                # the report's own renderer: the same SVG as the HTML and PDF reports
                "svg": Markup(report_render._inline_svg(c.spec, f"c-{c.id}")),  # noqa: S704
            }
            for c in report.charts
        ]
        return Results(report, charts, assess_svc.history(db, ctx.org))

    return mv.cached(("results", state), build)


@router.get("/orgs/{org_id}/results")
def results(request: Request, db: DbDep, ctx: ReadCtx) -> Response:
    context: dict[str, Any] = {
        "org": ctx.org,
        "section": "results",
        "open_a": assess_svc.open_assessment(db, ctx.org),
        "can_answer": ctx.can("assessment:answer"),
        "formats": [(f, REPORT_LABELS[f]) for f in REPORT_FORMATS],
        "categories": CATEGORY_IDS,
    }
    if assess_svc.latest_complete(db, ctx.org) is None:
        context["res"] = None
        return render(request, "maturity_results.html.j2", context)
    try:
        context["res"] = _results(db, ctx)
    except NotFoundError as exc:  # no benchmark cohort to compare with yet
        context["res"] = None
        context["no_cohort"] = str(exc)
    return render(request, "maturity_results.html.j2", context)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "organisation"


@router.get("/orgs/{org_id}/report.{fmt}")
def report_download(db: DbDep, ctx: ReadCtx, fmt: Annotated[str, Path(max_length=10)]) -> Response:
    """The organisation report (latest complete assessment) as a file: the renderers of the CLI."""
    if fmt not in REPORT_FORMATS:
        raise NotFoundError(f"no report format {fmt!r}: use {', '.join(REPORT_FORMATS)}")
    state = mv.report_state(db, ctx.org)
    report = mv.organisation_report(db, ctx.org)
    data = mv.cached(("report-bytes", fmt, state), lambda: report_render.report_bytes(report, fmt))
    name = f"{_slug(ctx.org.name)}-maturity-{report.assessed_on.isoformat()}.{fmt}"
    return Response(
        data,
        media_type=report_render.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": _content_disposition(name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
