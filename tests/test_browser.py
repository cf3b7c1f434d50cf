"""Browser tests: Debian's chromium, driven by Playwright, against a real server (uvicorn on 127.0.0.1 over a
temp SQLite store seeded with ``webkit.seed_portal``).

The flows of issue 5: sign in, answer questions and see the score change, submit to a cohort, upload an SBOM
and see its findings, download a PDF. Every page a test opens is watched for console errors, uncaught
exceptions, Content-Security-Policy violations and error responses; a test fails on any of them. Screenshots
of each key step are kept under ``test-artifacts/browser/<test>-<step>.png`` (gitignored).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from sqlalchemy import select

from medcyber.maturity.bank import CATEGORY_IDS
from medcyber.services import assessments as assess_svc
from medcyber.services import vulndb
from medcyber.store import Store
from medcyber.store.models import Organisation, SubmissionRow
from medcyber.web.app import create_app
from webkit import PASSWORD, SECRET, SHARED_DATA, USERS, Portal, seed_portal

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Response

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
NVD_CVES = SHARED_DATA / "nvd" / "cves"
NARROW_SBOM = SHARED_DATA / "sbom" / "medical-device-case-study" / "narrow.sbom.json"
TIMEOUT_MS = 15_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="Debian chromium not installed (make test installs it)"
    ),
]

# Reported to the console by the page itself, so that the console listener sees every CSP violation even
# where chromium's own "Refused to ..." message would not say which directive or document it was.
_CSP_WATCH = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("securitypolicyviolation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " in " + e.documentURI + (e.sourceFile ? " (" + e.sourceFile + ":" + e.lineNumber + ")" : ""));
});
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    portal: Portal

    @property
    def store(self) -> Store:
        return self.portal.store

    @property
    def org_a(self) -> str:
        return f"{self.url}/orgs/{self.portal.org_a}"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A real server on a random loopback port, over a fresh SQLite store with the portal seed."""
    store = Store(f"sqlite:///{tmp_path / 'web.db'}")
    store.upgrade()
    portal = seed_portal(store)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(store, secret_key=SECRET), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", portal)
    finally:
        server.should_exit = True
        thread.join(10)
        store.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def _favicon_404(text: str, url: str) -> bool:
    return "favicon" in url and "404" in text


@dataclass
class Tab:
    """One browser tab with everything that went wrong in it recorded, and numbered screenshots."""

    page: Page
    base: str
    name: str
    problems: list[str] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        url = str((msg.location or {}).get("url", ""))
        if _favicon_404(msg.text, url):
            return
        self.problems.append(f"console error: {msg.text} ({url})")

    def on_response(self, resp: Response) -> None:
        if resp.status >= 400 and not _favicon_404(str(resp.status), resp.url):
            self.problems.append(f"HTTP {resp.status} for {resp.request.method} {resp.url}")

    def shot(self, step: str, *, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{self.name}-{step}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        self.shots.append(path)
        return path

    def goto(self, path: str) -> None:
        resp = self.page.goto(self.base + path)
        assert resp is not None and resp.ok, f"{path}: {resp.status if resp else 'no response'}"

    def sign_in(self, who: str) -> None:
        """Through the sign-in form, as a person would."""
        self.goto("/login")
        self.page.fill("#email", USERS[who])
        self.page.fill("#password", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("form[action='/login'] button[type=submit]")
        assert "/login" not in self.page.url, self.page.locator(".flash").all_inner_texts()

    def sign_out(self) -> None:
        with self.page.expect_navigation():
            self.page.click("header form[action='/logout'] button")
        assert self.page.url.endswith("/login"), self.page.url

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def tab(chromium: Browser, served: Served, request: pytest.FixtureRequest) -> Iterator[Tab]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(_CSP_WATCH)
    page = context.new_page()
    t = Tab(page, served.url, request.node.name.removeprefix("test_"))
    page.on("console", t.on_console)
    page.on("pageerror", lambda exc: t.problems.append(f"uncaught exception: {exc}"))
    page.on("response", t.on_response)
    try:
        yield t
    finally:
        context.close()


def _text(page: Page, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


# --- 1. sign in -------------------------------------------------------------------------------------------


def test_sign_in_and_out(tab: Tab, served: Served) -> None:
    page = tab.page
    tab.goto("/")
    assert page.url.endswith("/login")  # anonymous: to the sign-in page
    page.fill("#email", USERS["a_assessor"])
    page.fill("#password", PASSWORD)
    tab.shot("1-form")
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    # One organisation and no platform role: straight to its dashboard.
    assert page.url == served.org_a, page.url
    assert _text(page, "main h1") == "Alpha Devices"
    assert f"{USERS['a_assessor']} · assessor" in _text(page, "header .who")
    assert page.locator("#maturity-h").is_visible()
    assert page.locator("header nav a.active").inner_text() == "Dashboard"
    tab.shot("2-dashboard")

    tab.sign_out()
    tab.shot("3-signed-out")
    # The session is gone: the dashboard sends the browser back to sign in.
    page.goto(served.org_a)
    assert "/login" in page.url, page.url
    assert page.locator("#email").is_visible()

    # A wrong password is refused in place (401, shown on the form): not counted as a page problem.
    page.fill("#email", USERS["a_assessor"])
    page.fill("#password", "not-the-password")
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    assert "/login" in page.url
    assert page.locator(".flash.error").is_visible()
    tab.shot("4-wrong-password")
    tab.problems = [
        p for p in tab.problems if not re.search(r"(HTTP 401 for POST|status of 401).*?/login", p)
    ]
    tab.assert_clean()


# --- 2. answer questions, see the score change ------------------------------------------------------------


def test_answer_questions_and_see_the_score_change(tab: Tab, served: Served) -> None:
    from playwright.sync_api import expect

    page = tab.page
    tab.sign_in("a_admin")
    tab.goto(f"/orgs/{served.portal.org_a}/assessment")
    assert "No assessment is in progress." in page.content()
    tab.shot("1-overview")
    with page.expect_navigation():
        page.click("form[action$='/assessment'] button[type=submit]")
    first = CATEGORY_IDS[0]
    assert re.search(rf"/assessments/\d+/{first}\?done=started$", page.url), page.url
    expect(page.locator("#q-done")).to_have_text("0")
    assert _text(page, "#q-category-score") == "—"
    assert _text(page, "#q-composite") == "—"
    tab.shot("2-new-category", full_page=False)  # a category page is ~11,000 px long

    questions = page.locator("section.question")
    q1 = questions.nth(0).get_attribute("id")
    q2 = questions.nth(1).get_attribute("id")
    assert q1 and q2

    def store_score() -> tuple[int, str, str]:
        with served.store.session() as db:
            org = db.get(Organisation, served.portal.org_a)
            assert org is not None
            a = assess_svc.open_assessment(db, org)
            assert a is not None
            s = assess_svc.score_of(a)
            done = sum(c.answered + c.not_applicable for c in s.categories.values())
            return done, _score(s.categories[first].score), _score(s.composite)

    # Level 3 on the first question: htmx saves it and swaps in progress and provisional score.
    page.locator(f"#{q1} input[name=choice][value='3']").check()
    expect(page.locator(f"#{q1}-status")).to_contain_text("Saved. Level 3")
    expect(page.locator("#q-done")).to_have_text("1")
    expect(page.locator("#q-category-score")).not_to_have_text("—")
    assert page.locator("#q-progress progress").get_attribute("value") == "1"
    shown = (int(_text(page, "#q-done")), _text(page, "#q-category-score"), _text(page, "#q-composite"))
    assert shown == store_score() == (1, "3.00", "—")
    tab.shot("3-first-answer", full_page=False)  # a category page is ~11,000 px long

    # Level 5 on the second: the category's provisional score moves again.
    page.locator(f"#{q2} input[name=choice][value='5']").check()
    expect(page.locator(f"#{q2}-status")).to_contain_text("Saved. Level 5")
    expect(page.locator("#q-done")).to_have_text("2")
    expect(page.locator("#q-category-score")).not_to_have_text("3.00")
    shown = (int(_text(page, "#q-done")), _text(page, "#q-category-score"), _text(page, "#q-composite"))
    assert shown == store_score()
    assert shown[1] != "3.00" and shown[1] != "—"
    page.locator(f"#{q2}").scroll_into_view_if_needed()
    tab.shot("4-second-answer", full_page=False)  # a category page is ~11,000 px long

    # The answers survive a reload: they were saved, not just shown.
    page.reload()
    assert page.locator(f"#{q1} input[name=choice][value='3']").is_checked()
    assert page.locator(f"#{q2} input[name=choice][value='5']").is_checked()
    assert _text(page, "#q-done") == "2"
    tab.assert_clean()


# --- 3. finish and submit to the cohort -------------------------------------------------------------------


def test_finish_and_submit_to_the_cohort(tab: Tab, served: Served) -> None:
    page = tab.page
    org_id = served.portal.org_a
    tab.sign_in("a_admin")
    tab.goto(f"/orgs/{org_id}/assessment")
    assert "This organisation has not submitted to a benchmark cohort yet." in page.content()
    # Every answer comes from the page's own "start from the previous answers" option.
    page.check("input[name=copy_previous]")
    with page.expect_navigation():
        page.click("form[action$='/assessment'] button[type=submit]")
    assert _text(page, "#q-done") == _text(page, "#q-total")
    tab.goto(f"/orgs/{org_id}/assessment")
    assert "Every question is answered or marked N/A." in page.content()
    tab.shot("1-all-answered")

    with page.expect_navigation():
        page.click("form[action$='/finish'] button[type=submit]")
    assert "done=finished" in page.url
    assert "The assessment is complete" in _text(page, ".flash.ok")
    assert "No assessment is in progress." in page.content()
    submit_form = page.locator("form[action$='/submit']")
    tab.shot("2-finished")

    # Without consent the browser itself refuses to send the form (the box is required).
    submit_form.locator("button[type=submit]").click()
    assert "done=finished" in page.url
    page.check("input[name=consent]")
    period = page.input_value("#submit-period")
    with page.expect_navigation():
        submit_form.locator("button[type=submit]").click()
    assert "done=submitted" in page.url, page.url
    assert "the scores were submitted to the cohort" in _text(page, ".flash.ok")
    section = _text(page, "#submit")
    assert "Last submitted: Synthetic test cohort, period " + period in section
    tab.shot("3-submitted")

    with served.store.session() as db:
        org = db.get(Organisation, org_id)
        assert org is not None
        latest = assess_svc.latest_complete(db, org)
        assert latest is not None and latest.id != served.portal.ids["a_assessment"]
        rows = db.scalars(select(SubmissionRow).where(SubmissionRow.submission_id == org.benchmark_id)).all()
        assert len(rows) == 1
        row = rows[0]
        assert row.consent_at is not None and row.period == period
        composite = assess_svc.score_of(latest).composite
        assert composite is not None and row.composite == pytest.approx(composite)
    cells = page.locator("#submit table tbody tr").first.locator("td").all_inner_texts()
    assert cells[1] == period and cells[3] == _score(row.composite)
    assert cells[4] == row.consent_at.strftime("%Y-%m-%d %H:%M")
    tab.assert_clean()


# --- 4. upload an SBOM, see its findings ------------------------------------------------------------------


def test_upload_an_sbom_and_see_its_findings(tab: Tab, served: Served) -> None:
    from playwright.sync_api import expect

    with served.store.session() as db:  # as `medcyber vulns import nvd ../shared/data/nvd/cves`
        (report,) = vulndb.import_paths(db, "nvd", [NVD_CVES])
        assert report.added >= 2
    page = tab.page
    tab.sign_in("a_admin")
    tab.goto(f"/orgs/{served.portal.org_a}/products")
    assert "Browser pump" not in _text(page, "#products-results")
    form = page.locator("form.upload")
    form.locator("#up-product").fill("Browser pump")
    form.locator("#up-version").fill("4.2.0")
    form.locator("input[type=file]").set_input_files(str(NARROW_SBOM))
    expect(form.locator("[data-file-name]")).to_have_text(NARROW_SBOM.name)
    tab.shot("1-chosen")
    form.locator("button[type=submit]").click()
    done = page.locator("#upload-result .upload-done")
    expect(done).to_be_visible()
    expect(form.locator("[data-upload-status]")).to_have_text("Done.")
    text = done.inner_text()
    assert "narrow.sbom.json" in text and "Browser pump 4.2.0" in text and "(new version)" in text
    new = re.search(r"(\d+) new finding", text)
    assert new and int(new.group(1)) >= 2, text
    tab.shot("2-uploaded")

    with page.expect_navigation():
        done.locator("a.button").click()
    assert re.search(r"/versions/\d+\?tab=findings$", page.url), page.url
    assert "Browser pump" in _text(page, "main h1")
    main = _text(page, "main")
    for cve in ("CVE-2022-42905", "CVE-2023-3724"):
        assert cve in main, cve
    assert "wolfssl" in main.lower()
    tab.shot("3-findings")

    tab.goto(f"/orgs/{served.portal.org_a}/products")
    assert "Browser pump" in _text(page, "#products-results")
    tab.shot("4-portfolio")
    tab.assert_clean()


# --- 5. download the PDF report ---------------------------------------------------------------------------


def test_download_the_pdf_report(tab: Tab, served: Served) -> None:
    page = tab.page
    tab.sign_in("a_viewer")  # reading the results is enough
    tab.goto(f"/orgs/{served.portal.org_a}/results")
    assert page.locator("main svg").count() >= 3  # the report's charts, inline
    tab.shot("1-results")
    with page.expect_download() as info:
        page.locator("a.button[href$='/report.pdf']").click()
    download = info.value
    assert download.suggested_filename.startswith("alpha-devices-maturity-")
    assert download.suggested_filename.endswith(".pdf")
    saved = ARTIFACTS / f"{tab.name}-report.pdf"
    download.save_as(saved)
    data = saved.read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 10_000, (data[:20], len(data))
    assert download.failure() is None
    tab.assert_clean()


# --- 6. no console error or CSP violation on any page ------------------------------------------------------


def test_pages_have_no_console_errors_or_csp_violations(tab: Tab, served: Served) -> None:
    page = tab.page
    ids = served.portal.ids
    org = f"/orgs/{served.portal.org_a}"
    # The watch itself works: an inline script injected into a page is blocked and reported.
    tab.goto("/login")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert any("securitypolicyviolation: script-src" in p for p in tab.problems), tab.problems
    assert page.evaluate("() => window.x") is None
    tab.problems.clear()

    visits: dict[str, list[str]] = {
        "a_admin": [
            org,
            f"{org}/assessment",
            f"{org}/assessments/{ids['a_assessment']}/{CATEGORY_IDS[1]}",
            f"{org}/results",
            f"{org}/products",
            f"{org}/products?q=infusion",
            f"{org}/products/{ids['a_product']}",
            f"{org}/versions/{ids['a_version']}?tab=findings",
            f"{org}/versions/{ids['a_version']}?tab=components",
            f"{org}/versions/{ids['a_version']}?tab=sboms",
            f"{org}/versions/{ids['a_version']}?tab=timeline",
            f"{org}/settings",
            f"{org}/settings/tokens",
            f"{org}/settings/profile",
            f"{org}/settings/audit",
            "/account",
        ],
        "steward": ["/steward"],
        "site_admin": ["/admin", "/admin/audit"],
    }
    seen: list[dict[str, Any]] = []
    for who, paths in visits.items():
        tab.sign_in(who)
        for path in paths:
            resp = page.goto(served.url + path)
            assert resp is not None and resp.ok, (path, resp and resp.status)
            page.wait_for_load_state("networkidle")
            csp = resp.headers.get("content-security-policy", "")
            script_src = re.search(r"script-src([^;]*)", csp) or re.search(r"default-src([^;]*)", csp)
            assert script_src and "'unsafe-inline'" not in script_src.group(1), (path, csp)
            # htmx and app.js loaded (not blocked): the pages' behaviour depends on them.
            assert page.evaluate("() => typeof window.htmx") == "object", path
            seen.append({"who": who, "path": path, "problems": len(tab.problems)})
        if who == "a_admin":
            tab.shot("1-last-admin-page")  # /account
        tab.sign_out()
    tab.goto("/steward")  # anonymous after the last sign-out: back to sign in, no error
    assert "/login" in page.url
    assert len(seen) == sum(len(p) for p in visits.values())
    tab.assert_clean()
