"""The maturity part of the portal over a real store (SQLite and PostgreSQL): the questionnaire with its
autosave (htmx) and plain-form fallback, validation shown in place, evidence files, finishing, submitting
to a cohort with explicit consent, the results page, report downloads and the maturity API -- and the roles
and tenancy of every one of these routes.

Scores are checked against ``services.assessments.score_of`` (the scoring the CLI uses), never against
numbers copied from the page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medcyber.maturity.bank import load_bank
from medcyber.services import accounts as acc
from medcyber.services import assessments as assess_svc
from medcyber.store.models import Assessment, EvidenceAttachment, Organisation, SubmissionRow, User
from webkit import USERS, Portal, login

BANK = load_bank()
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def _hx(token: str) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": token}


def _start(client: TestClient, portal: Portal, token: str) -> int:
    r = client.post(f"/orgs/{portal.org_a}/assessment", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    m = re.search(r"/assessments/(\d+)/", r.headers["location"])
    assert m
    return int(m.group(1))


def _score(portal: Portal, aid: int) -> Any:
    with portal.store.session() as db:
        return assess_svc.score_of(assess_svc.get_assessment(db, aid))


def _oob(html: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert m, f"no #{element_id} in the response"
    return m.group(1).strip()


def _status(html: str, qid: str) -> str:
    m = re.search(rf'<p class="q-status([^"]*)" id="q-{qid}-status"[^>]*>(.*?)</p>', html, re.S)
    assert m, f"no status line for {qid}"
    return f"{m.group(1).strip()}|{m.group(2).strip()}"


def _answer_all(client: TestClient, portal: Portal, aid: int, token: str) -> None:
    for i, q in enumerate(BANK.questions):
        data = {"choice": "na", "na_reason": "no such products"} if q.na_allowed else {"choice": str(i % 6)}
        r = client.post(
            f"/orgs/{portal.org_a}/assessments/{aid}/answers/{q.id}", data=data, headers=_hx(token)
        )
        assert r.status_code == 200, (q.id, r.text[:300])


# --- the questionnaire ---------------------------------------------------------------------------------


def test_assessor_answers_and_the_score_and_progress_change(portal: Portal) -> None:
    client = portal.client()
    token = login(client, "a_assessor")
    page = client.get(f"/orgs/{portal.org_a}/assessment")
    assert page.status_code == 200 and "Start a new assessment" in page.text
    aid = _start(client, portal, token)
    base = f"/orgs/{portal.org_a}/assessments/{aid}"
    first = client.get(f"{base}/organizational_structure")
    assert first.status_code == 200
    assert 'hx-post="' + base + '/answers/OS-01"' in first.text
    assert "Not initiated" in first.text and "Optimizing" in first.text  # level names beside the choices
    assert BANK.question("OS-01").levels[3] in first.text  # and the question's own level descriptors
    assert _oob(first.text, "q-done") == "0"

    r = client.post(
        f"{base}/answers/OS-01", data={"choice": "3", "evidence": "QM-12 rev 4"}, headers=_hx(token)
    )
    assert r.status_code == 200
    assert _status(r.text, "OS-01").startswith("ok|Saved. Level 3: Defined")
    assert 'id="q-progress"' in r.text and 'hx-swap-oob="true"' in r.text
    assert _oob(r.text, "q-done") == "1" and _oob(r.text, "q-total") == "48"
    assert _oob(r.text, "q-category-score") == "3.00"
    assert _oob(r.text, "q-composite") == "—"  # three categories still have no score

    r = client.post(f"{base}/answers/OS-02", data={"choice": "0"}, headers=_hx(token))
    assert _oob(r.text, "q-done") == "2"
    assert _oob(r.text, "q-category-score") == "1.50"
    for cid, qid in (
        ("risk_management", "RM-01"),
        ("design_control", "DC-01"),
        ("complaint_handling", "CH-01"),
    ):
        r = client.post(f"{base}/answers/{qid}", data={"choice": "4"}, headers=_hx(token))
        assert r.status_code == 200, cid
    # composite = mean of the four categories: (1.5 + 4 + 4 + 4) / 4
    assert _oob(r.text, "q-composite") == "3.38"
    assert re.search(
        r'class="active[^"]*"[^>]*>\s*<span>Complaint Handling</span><span class="count"[^>]*>1/12', r.text
    )
    result = _score(portal, aid)
    assert result.composite == pytest.approx(3.375)
    assert result.categories["organizational_structure"].score == pytest.approx(1.5)
    assert result.answered == 5

    # without JavaScript: the form posts and comes back to the question
    r = client.post(
        f"{base}/answers/OS-03", data={"choice": "2", "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"{base}/organizational_structure#q-OS-03"
    again = client.get(r.headers["location"])
    assert re.search(r'name="choice" value="2" checked', again.text)
    assert "QM-12 rev 4" in again.text
    # where a refused plain post leaves the address bar leads back to the page
    back = client.get(f"{base}/answers/OS-03", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"].endswith("/organizational_structure#q-OS-03")
    back = client.get(f"{base}/finish", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == f"/orgs/{portal.org_a}/assessment#finish"

    # clearing an answer takes it out of the score and the progress
    r = client.post(f"{base}/answers/OS-02", data={"choice": ""}, headers=_hx(token))
    assert _oob(r.text, "q-done") == "5" and _oob(r.text, "q-category-score") == "2.50"
    assert _score(portal, aid).categories["organizational_structure"].answered == 2

    # the API reports the same figures as the service
    api = client.get(f"/api/v1/orgs/{portal.org_a}/assessments/{aid}").json()
    assert api["score"]["composite"] == pytest.approx(_score(portal, aid).composite)
    assert api["progress"] == {"done": 5, "total": 48}
    assert {a["question_id"] for a in api["answers"]} == {"OS-01", "OS-03", "RM-01", "DC-01", "CH-01"}


def test_invalid_answers_are_refused_in_place_and_nothing_is_saved(portal: Portal) -> None:
    client = portal.client()
    token = login(client, "a_assessor")
    aid = _start(client, portal, token)
    base = f"/orgs/{portal.org_a}/assessments/{aid}"
    r = client.post(f"{base}/answers/RM-05", data={"choice": "na", "na_reason": "  "}, headers=_hx(token))
    assert r.status_code == 400
    assert _status(r.text, "RM-05") == "error|N/A needs a reason: say why the question does not apply to you"
    assert _oob(r.text, "q-done") == "0"
    r = client.post(f"{base}/answers/OS-01", data={"choice": "na", "na_reason": "x"}, headers=_hx(token))
    assert r.status_code == 400 and "cannot be answered N/A" in _status(r.text, "OS-01")
    r = client.post(f"{base}/answers/OS-01", data={"choice": "7"}, headers=_hx(token))
    assert r.status_code == 400 and "0 to 5" in _status(r.text, "OS-01")
    r = client.post(f"{base}/answers/OS-01", data={"choice": "3", "note": "x" * 10_001}, headers=_hx(token))
    assert r.status_code == 400 and "the limit is 10,000" in _status(r.text, "OS-01")
    assert client.post(f"{base}/answers/NOPE-1", data={"choice": "3"}, headers=_hx(token)).status_code == 404
    # without JavaScript the whole page comes back, the message beside the question, what was typed kept
    r = client.post(
        f"{base}/answers/CH-05",
        data={"choice": "na", "evidence": "typed before the error", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "<h1>Complaint Handling</h1>" in r.text
    assert "error|N/A needs a reason" in _status(r.text, "CH-05") and "typed before the error" in r.text
    assert _score(portal, aid).answered == 0
    with portal.store.session() as db:
        assert not assess_svc.get_assessment(db, aid).answers
    # with a reason, N/A is saved, and leaves the category's denominator
    r = client.post(
        f"{base}/answers/RM-05", data={"choice": "na", "na_reason": "no software"}, headers=_hx(token)
    )
    assert r.status_code == 200 and _oob(r.text, "q-done") == "1"
    assert _score(portal, aid).categories["risk_management"].not_applicable == 1


def test_viewer_reads_but_cannot_answer(portal: Portal) -> None:
    admin = portal.client()
    token = login(admin, "a_admin")
    aid = _start(admin, portal, token)
    admin.post(
        f"/orgs/{portal.org_a}/assessments/{aid}/answers/OS-01", data={"choice": "4"}, headers=_hx(token)
    )
    viewer = portal.client()
    vtoken = login(viewer, "a_viewer")
    base = f"/orgs/{portal.org_a}/assessments/{aid}"
    page = viewer.get(f"{base}/organizational_structure")
    assert page.status_code == 200
    assert 'name="choice" value="4" checked' in page.text
    assert "hx-post" not in page.text and '<fieldset class="q-levels" disabled>' in page.text
    assert "read the answers, not change them" in page.text
    assert viewer.get(f"/orgs/{portal.org_a}/assessment").status_code == 200
    r = viewer.post(f"{base}/answers/OS-01", data={"choice": "1"}, headers=_hx(vtoken))
    assert r.status_code == 403
    assert viewer.post(f"/orgs/{portal.org_a}/assessment", data={"csrf_token": vtoken}).status_code == 403
    r = viewer.put(
        f"/api/v1/orgs/{portal.org_a}/assessments/{aid}/answers/OS-01",
        json={"level": 1},
        headers={"X-CSRF-Token": vtoken},
    )
    assert r.status_code == 403
    assert _score(portal, aid).categories["organizational_structure"].score == 4


def test_assessor_cannot_finish_or_submit(portal: Portal) -> None:
    client = portal.client()
    token = login(client, "a_assessor")
    aid = _start(client, portal, token)
    _answer_all(client, portal, aid, token)
    base = f"/orgs/{portal.org_a}/assessments"
    assert client.post(f"{base}/{aid}/finish", data={"csrf_token": token}).status_code == 403
    done = portal.ids["a_assessment"]
    r = client.post(
        f"{base}/{done}/submit",
        data={"csrf_token": token, "consent": "yes", "period": "2026", "cohort": ""},
    )
    assert r.status_code == 403
    with portal.store.session() as db:
        assert db.get(Assessment, aid).status == "in_progress"
        assert (
            db.scalar(
                select(func.count()).select_from(SubmissionRow).where(SubmissionRow.assessment_id == done)
            )
            == 0
        )
    page = client.get(f"/orgs/{portal.org_a}/assessment")
    assert (
        "An organisation admin finishes the assessment" in page.text
        and "Submit to the cohort" not in page.text
    )


def test_admin_finishes_and_submits_only_with_consent(portal: Portal) -> None:
    client = portal.client()
    token = login(client, "a_admin")
    aid = _start(client, portal, token)
    base = f"/orgs/{portal.org_a}/assessments/{aid}"
    client.post(f"{base}/answers/OS-01", data={"choice": "3"}, headers=_hx(token))
    # an evidence note alone does not answer a question
    client.post(f"{base}/answers/OS-02", data={"evidence": "draft"}, headers=_hx(token))
    r = client.post(f"{base}/finish", data={"csrf_token": token})
    assert r.status_code == 400 and "47 of 48 questions have neither a level nor N/A" in r.text
    assert "OS-02" in r.text
    _answer_all(client, portal, aid, token)
    r = client.post(f"{base}/finish", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    with portal.store.session() as db:
        assert db.get(Assessment, aid).status == "complete"
    # a finished assessment no longer changes
    r = client.post(f"{base}/answers/OS-01", data={"choice": "5"}, headers=_hx(token))
    assert r.status_code == 409 and "no longer change" in r.text
    assert client.post(f"{base}/finish", data={"csrf_token": token}).status_code == 409

    page = client.get(f"/orgs/{portal.org_a}/assessment?done=finished")
    assert "Never shared" in page.text and "your answers" in page.text
    assert f'action="{base}/submit"' in page.text  # the new assessment is the one offered

    def count() -> int:
        with portal.store.session() as db:
            return (
                db.scalar(
                    select(func.count()).select_from(SubmissionRow).where(SubmissionRow.assessment_id == aid)
                )
                or 0
            )

    r = client.post(f"{base}/submit", data={"csrf_token": token, "period": "2026-H1", "cohort": ""})
    assert r.status_code == 400 and "consent" in r.text and count() == 0
    r = client.post(f"{base}/submit", data={"csrf_token": token, "period": "no spaces!", "consent": "yes"})
    assert r.status_code == 400 and "period" in r.text and count() == 0
    r = client.post(
        f"{base}/submit", data={"csrf_token": token, "period": "2026-H1", "cohort": "nope", "consent": "yes"}
    )
    assert r.status_code == 400 and "no cohort named" in r.text and count() == 0
    r = client.post(
        f"{base}/submit",
        data={"csrf_token": token, "period": "2026-H1", "cohort": "", "consent": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and count() == 1
    with portal.store.session() as db:
        row = db.scalar(select(SubmissionRow).where(SubmissionRow.assessment_id == aid))
        org = db.get(Organisation, portal.org_a)
        assert row is not None and row.period == "2026-H1" and row.consent_at is not None
        assert row.submission_id == org.benchmark_id  # anonymous id, not the name
        assert row.composite == pytest.approx(assess_svc.score_of(db.get(Assessment, aid)).composite)
    page = client.get(f"/orgs/{portal.org_a}/assessment")
    assert re.search(r"Last submitted: <strong>[^<]+</strong>, period <strong>2026-H1</strong>", page.text)


# --- evidence files ------------------------------------------------------------------------------------


def test_evidence_upload_download_delete_and_hostile_files(portal: Portal) -> None:
    client = portal.client()
    token = login(client, "a_assessor")
    aid = _start(client, portal, token)
    base = f"/orgs/{portal.org_a}/assessments/{aid}"
    r = client.post(
        f"{base}/answers/OS-01/evidence",
        files={"file": ("charter.pdf", PDF, "text/html")},  # the client's type is ignored
        headers=_hx(token),
    )
    assert r.status_code == 201, r.text[:400]
    assert "charter.pdf" in r.text
    with portal.store.session() as db:
        att = db.scalar(select(EvidenceAttachment).where(EvidenceAttachment.assessment_id == aid))
        assert att is not None and att.media_type == "application/pdf"
        att_id = att.id
    d = client.get(f"{base}/evidence/{att_id}")
    assert d.status_code == 200 and d.content == PDF
    assert d.headers["content-type"] == "application/pdf"
    assert d.headers["content-disposition"].startswith('attachment; filename="charter.pdf"')
    assert d.headers["x-content-type-options"] == "nosniff"
    # a text file without JavaScript: plain form post, redirected back to the question
    r = client.post(
        f"{base}/answers/OS-01/evidence",
        files={"file": ("notes ü.txt", b"minutes of the review\n", "application/octet-stream")},
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("#q-OS-01")
    page = client.get(f"{base}/organizational_structure")
    assert "notes ü.txt" in page.text and "charter.pdf" in page.text

    # hostile uploads are refused with a message, and nothing is stored
    for name, data, why in (
        ("evidence.txt", b"<html><script>alert(1)</script></html>", "markup"),
        ("setup.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "executable"),
        ("report.exe", PDF, "rename it"),
        ("empty.txt", b"", "empty"),
    ):
        r = client.post(
            f"{base}/answers/OS-01/evidence", files={"file": (name, data, "text/plain")}, headers=_hx(token)
        )
        assert r.status_code == 400, (name, r.status_code)
        assert why in r.text and 'class="q-status error"' in r.text, name
    r = client.post(
        f"{base}/answers/OS-01/evidence",
        files={"file": ("big.txt", b"a" * (10 * 1024 * 1024 + 1), "text/plain")},
        headers=_hx(token),
    )
    assert r.status_code == 413 and "limit" in r.text
    with portal.store.session() as db:
        names = set(
            db.scalars(select(EvidenceAttachment.file_name).where(EvidenceAttachment.assessment_id == aid))
        )
    assert names == {"charter.pdf", "notes ü.txt"}
    listed = client.get(f"/api/v1/orgs/{portal.org_a}/assessments/{aid}").json()["attachments"]
    assert {a["file_name"] for a in listed} == names

    r = client.post(f"{base}/evidence/{att_id}/delete", headers=_hx(token))
    assert r.status_code == 200 and "charter.pdf" not in r.text and "notes ü.txt" in r.text
    assert client.get(f"{base}/evidence/{att_id}").status_code == 404
    # the viewer may download but not upload or delete
    viewer = portal.client()
    vtoken = login(viewer, "a_viewer")
    with portal.store.session() as db:
        other = db.scalar(select(EvidenceAttachment.id).where(EvidenceAttachment.assessment_id == aid))
    assert viewer.get(f"{base}/evidence/{other}").status_code == 200
    assert viewer.post(f"{base}/evidence/{other}/delete", headers=_hx(vtoken)).status_code == 403
    r = viewer.post(
        f"{base}/answers/OS-01/evidence", files={"file": ("a.txt", b"x", "text/plain")}, headers=_hx(vtoken)
    )
    assert r.status_code == 403


# --- tenancy -------------------------------------------------------------------------------------------


def test_other_tenant_gets_404_on_every_maturity_route(portal: Portal) -> None:
    owner = portal.client()
    token = login(owner, "a_assessor")
    aid = _start(owner, portal, token)
    r = owner.post(
        f"/orgs/{portal.org_a}/assessments/{aid}/answers/OS-01/evidence",
        files={"file": ("a.txt", b"secret minutes", "text/plain")},
        headers=_hx(token),
    )
    assert r.status_code == 201
    with portal.store.session() as db:
        att = db.scalar(select(EvidenceAttachment.id).where(EvidenceAttachment.assessment_id == aid))
    done = portal.ids["a_assessment"]
    b_aid = portal.ids["b_assessment"]

    client = portal.client()
    btoken = login(client, "b_admin")
    for org in (portal.org_a, portal.org_b):  # A's ids under A (not a member) and under B (its own org)
        routes: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", f"/orgs/{org}/assessments/{aid}", {}),
            ("GET", f"/orgs/{org}/assessments/{aid}/organizational_structure", {}),
            ("GET", f"/orgs/{org}/assessments/{done}/organizational_structure", {}),
            ("POST", f"/orgs/{org}/assessments/{aid}/answers/OS-01", {"data": {"choice": "1"}}),
            (
                "POST",
                f"/orgs/{org}/assessments/{aid}/answers/OS-01/evidence",
                {"files": {"file": ("x.txt", b"x", "text/plain")}},
            ),
            ("GET", f"/orgs/{org}/assessments/{aid}/evidence/{att}", {}),
            ("POST", f"/orgs/{org}/assessments/{aid}/evidence/{att}/delete", {}),
            ("GET", f"/orgs/{org}/assessments/{b_aid}/evidence/{att}", {})
            if org == portal.org_b
            else ("GET", f"/orgs/{org}/assessment", {}),
            ("POST", f"/orgs/{org}/assessments/{b_aid}/evidence/{att}/delete", {})
            if org == portal.org_b
            else ("GET", f"/orgs/{org}/results", {}),
            ("POST", f"/orgs/{org}/assessments/{aid}/finish", {}),
            (
                "POST",
                f"/orgs/{org}/assessments/{done}/submit",
                {"data": {"consent": "yes", "period": "2026"}},
            ),
            ("GET", f"/api/v1/orgs/{org}/assessments/{aid}", {}),
            ("PUT", f"/api/v1/orgs/{org}/assessments/{aid}/answers/OS-01", {"json": {"level": 1}}),
        ]
        if org == portal.org_a:
            routes += [
                ("POST", f"/orgs/{org}/assessment", {}),
                ("GET", f"/orgs/{org}/report.json", {}),
                ("GET", f"/api/v1/orgs/{org}/assessments", {}),
                ("GET", f"/api/v1/orgs/{org}/report", {}),
            ]
        for method, url, kwargs in routes:
            r = client.request(method, url, headers=_hx(btoken), follow_redirects=False, **kwargs)
            assert r.status_code == 404, (method, url, r.status_code)
    # and nothing changed
    with portal.store.session() as db:
        a = assess_svc.get_assessment(db, aid)
        assert a.status == "in_progress" and not a.answers
        assert db.get(EvidenceAttachment, att) is not None
        assert (
            db.scalar(
                select(func.count()).select_from(SubmissionRow).where(SubmissionRow.assessment_id == done)
            )
            == 0
        )


# --- results, reports and the API ------------------------------------------------------------------------


def test_results_page_shows_the_scores_and_position(shared_portal: Portal) -> None:
    portal = shared_portal
    client = portal.client()
    login(client, "a_viewer")
    r = client.get(f"/orgs/{portal.org_a}/results")
    assert r.status_code == 200
    with portal.store.session() as db:
        result = assess_svc.score_of(db.get(Assessment, portal.ids["a_assessment"]))
    assert _oob(r.text, "res-composite") == f"{result.composite:.2f}"
    for cid, c in result.categories.items():
        assert f'data-category="{cid}">{c.score:.2f}<' in r.text
    assert re.fullmatch(r"\d+ of \d+", _oob(r.text, "res-position"))
    assert "fifth" in r.text and "<svg" in r.text and 'id="chart-radar"' in r.text
    assert "Weakest practice areas" in r.text and "Recommendations" in r.text
    for fmt in ("pdf", "html", "json", "xlsx", "docx"):
        assert f'href="/orgs/{portal.org_a}/report.{fmt}"' in r.text
    assert "Synthetic cohort" in r.text


def test_results_without_a_complete_assessment(portal: Portal) -> None:
    with portal.store.session() as db:
        org = assess_svc.get_or_create_organisation(db, "Gamma Labs")
        user = db.scalar(select(User).where(User.email == USERS["b_admin"]))
        acc.add_membership(db, user, org, "admin")
        gamma = org.id
    client = portal.client()
    login(client, "b_admin")
    r = client.get(f"/orgs/{gamma}/results")
    assert r.status_code == 200 and "no complete assessment yet" in r.text
    assert f'href="/orgs/{gamma}/assessment"' in r.text
    assert client.get(f"/api/v1/orgs/{gamma}/report").status_code == 409
    assert client.get(f"/orgs/{gamma}/report.pdf").status_code == 400


def test_report_downloads(shared_portal: Portal) -> None:
    portal = shared_portal
    client = portal.client()
    login(client, "a_viewer")
    r = client.get(f"/orgs/{portal.org_a}/report.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith(
        'attachment; filename="alpha-devices-maturity-2026-06-01.pdf"'
    )
    j = client.get(f"/orgs/{portal.org_a}/report.json")
    assert j.status_code == 200 and j.json()["org_name"] == "Alpha Devices"
    x = client.get(f"/orgs/{portal.org_a}/report.xlsx")
    assert x.status_code == 200 and x.content.startswith(b"PK")
    w = client.get(f"/orgs/{portal.org_a}/report.docx")
    assert (
        w.status_code == 200
        and w.content.startswith(b"PK")
        and "wordprocessingml" in w.headers["content-type"]
    )
    h = client.get(f"/orgs/{portal.org_a}/report.html")
    assert h.status_code == 200 and h.text.startswith("<!DOCTYPE html>") and "Alpha Devices" in h.text
    assert h.headers["content-disposition"].startswith("attachment;")
    assert client.get(f"/orgs/{portal.org_a}/report.exe").status_code == 404


def test_a_new_assessment_can_start_from_the_previous_answers(portal: Portal) -> None:
    client = portal.client()
    token = login(client, "a_assessor")
    r = client.post(
        f"/orgs/{portal.org_a}/assessment",
        data={"csrf_token": token, "copy_previous": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    aid = int(re.search(r"/assessments/(\d+)/", r.headers["location"]).group(1))  # type: ignore[union-attr]
    copied, previous = _score(portal, aid), _score(portal, portal.ids["a_assessment"])
    assert copied.composite == pytest.approx(previous.composite) and copied.answered == previous.answered
    with portal.store.session() as db:
        assert db.get(Assessment, aid).status == "in_progress"
    # only one assessment is ever open: starting again resumes it
    again = client.post(
        f"/orgs/{portal.org_a}/assessment", data={"csrf_token": token}, follow_redirects=False
    )
    assert f"/assessments/{aid}/" in again.headers["location"]


def test_api_scores_equal_the_service_and_tokens_cannot_answer(shared_portal: Portal) -> None:
    portal = shared_portal
    with portal.store.session() as db:
        org = db.get(Organisation, portal.org_a)
        user = db.scalar(select(User).where(User.email == USERS["a_admin"]))
        _, raw = acc.create_api_token(db, org, user, "ci", ("read", "sbom:upload", "scan"))
        result = assess_svc.score_of(db.get(Assessment, portal.ids["a_assessment"]))
    client = portal.client()
    h = {"Authorization": f"Bearer {raw}"}
    listed = client.get(f"/api/v1/orgs/{portal.org_a}/assessments", headers=h)
    assert listed.status_code == 200
    row = next(a for a in listed.json()["assessments"] if a["id"] == portal.ids["a_assessment"])
    assert row["composite"] == pytest.approx(result.composite) and row["status"] == "complete"
    one = client.get(
        f"/api/v1/orgs/{portal.org_a}/assessments/{portal.ids['a_assessment']}", headers=h
    ).json()
    assert one["score"]["composite"] == pytest.approx(result.composite)
    for cid, c in result.categories.items():
        assert one["score"]["categories"][cid]["score"] == pytest.approx(c.score)
    assert len(one["answers"]) == 48
    report = client.get(f"/api/v1/orgs/{portal.org_a}/report", headers=h)
    assert report.status_code == 200
    assert report.json()["schema"] == "medcyber.benchmark-report/1"
    assert report.json()["composite"] == pytest.approx(result.composite)
    r = client.put(
        f"/api/v1/orgs/{portal.org_a}/assessments/{portal.ids['a_assessment']}/answers/OS-01",
        json={"level": 1},
        headers=h,
    )
    assert r.status_code == 403
    assert client.get(f"/api/v1/orgs/{portal.org_b}/assessments", headers=h).status_code == 404


def test_api_answers_an_open_assessment(portal: Portal) -> None:
    client = portal.client()
    token = login(client, "a_assessor")
    aid = _start(client, portal, token)
    url = f"/api/v1/orgs/{portal.org_a}/assessments/{aid}/answers"
    h = {"X-CSRF-Token": token}
    r = client.put(f"{url}/DC-01", json={"level": 5, "evidence": "SPDM-7"}, headers=h)
    assert r.status_code == 200
    body = r.json()
    assert body["answer"]["level"] == 5 and body["progress"] == {"done": 1, "total": 48}
    assert body["score"]["categories"]["design_control"]["score"] == 5
    assert client.put(f"{url}/DC-01", json={"level": 6}, headers=h).status_code == 422
    assert client.put(f"{url}/RM-05", json={"not_applicable": True}, headers=h).status_code == 422
    assert (
        client.put(f"{url}/OS-01", json={"not_applicable": True, "na_reason": "x"}, headers=h).status_code
        == 422
    )
    assert client.put(f"{url}/XX-99", json={"level": 1}, headers=h).status_code == 404
    r = client.put(f"{url}/DC-01", json={}, headers=h)
    assert r.status_code == 200 and r.json()["answer"] is None and r.json()["progress"]["done"] == 0
    done = portal.ids["a_assessment"]
    r = client.put(
        f"/api/v1/orgs/{portal.org_a}/assessments/{done}/answers/DC-01", json={"level": 0}, headers=h
    )
    assert r.status_code == 409
