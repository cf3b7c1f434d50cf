"""Shared set-up for web tests: a portal with two organisations, every role, and real data in each.

``seed_portal`` builds it through the services (as the CLI would): the calibrated demo cohort, two
organisations each with an assessment, a product whose SBOM is a real file from ../shared/data, and
users for every role. ``login`` signs a TestClient in through the real sign-in form.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient

from medcyber.benchmark.demo import acme_assessments
from medcyber.benchmark.models import OrgProfile
from medcyber.maturity.bank import load_bank
from medcyber.services import accounts as acc
from medcyber.services import assessments as assess_svc
from medcyber.services import benchmark as bench_svc
from medcyber.services import products as prod_svc
from medcyber.store import Store
from medcyber.store.models import EvidenceAttachment, User
from medcyber.web.app import create_app

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PASSWORD = "Left-of-boom-test-2026"
SECRET = b"test-secret-key-for-csrf-0123456789"
SBOM_A = SHARED_DATA / "sbom" / "medical-device-case-study" / "narrow.sbom.json"
SBOM_B = SHARED_DATA / "sbom" / "cyclonedx-examples" / "cern-lhc-vdm-editor-e564943" / "bom.json"

# role -> email; "A" and "B" are the two tenants.
USERS = {
    "a_admin": "admin@alpha.example",
    "a_assessor": "assessor@alpha.example",
    "a_viewer": "viewer@alpha.example",
    "b_admin": "admin@beta.example",
    "steward": "steward@consortium.example",
    "site_admin": "root@medcyber.example",
}


@dataclass
class Portal:
    store: Store
    org_a: int
    org_b: int
    ids: dict[str, int] = field(default_factory=dict)  # assessment/product/version/sbom ids per tenant

    def client(self, *, base_url: str = "http://testserver", **kwargs: object) -> TestClient:
        app = create_app(self.store, secret_key=SECRET, **kwargs)  # type: ignore[arg-type]
        return TestClient(app, base_url=base_url)


def _org(db, name: str, employees: str, revenue: str):  # type: ignore[no-untyped-def]
    profile = OrgProfile(
        employees_band=employees, revenue_band=revenue, device_classes=("II",), region="Europe"
    )
    return assess_svc.get_or_create_organisation(db, name, profile)


def seed_portal(store: Store) -> Portal:
    from medcyber.benchmark.demo import demo_cohort
    from medcyber.services.demo import DEMO_COHORT

    bank = load_bank()
    with store.session() as db:
        cohort = bench_svc.create_cohort(
            db, DEMO_COHORT, title="Synthetic test cohort", synthetic=True, make_default=True
        )
        for r in demo_cohort(bank):
            bench_svc.add_submission(db, cohort, r.submission(bank), bank_version=bank.version)
        answers = acme_assessments(bank)[-1].answers
        a = _org(db, "Alpha Devices", "1000-4999", "250M-1B")
        b = _org(db, "Beta Health", "250-999", "50M-250M")
        ids: dict[str, int] = {}
        for key, org, sbom, product in (
            ("a", a, SBOM_A, "Infusion pump"),
            ("b", b, SBOM_B, "Imaging viewer"),
        ):
            done = assess_svc.record_assessment(
                db, org, answers, bank_version=bank.version, assessed_on=dt.date(2026, 6, 1), source="test"
            )
            ids[f"{key}_assessment"] = done.id
            # One evidence file, as services.evidence.add_attachment stored it before the assessment was
            # finished (the service refuses new files on a complete assessment): the walk downloads it.
            note = f"{org.name}: minutes of the product security review\n".encode()
            att = EvidenceAttachment(
                question_id=answers[0].question_id,
                file_name="review-minutes.txt",
                media_type="text/plain",
                size=len(note),
                sha256=hashlib.sha256(note).hexdigest(),
                content=note,
                uploaded_by="seed",
            )
            att.assessment = done
            db.add(att)
            db.flush()
            ids[f"{key}_attachment"] = att.id
            record = prod_svc.import_sbom(db, product, "1.0", sbom, organisation=org.name)
            ids[f"{key}_sbom"] = record.id
            ids[f"{key}_version"] = record.version_id
            ids[f"{key}_product"] = record.product_version.product_id
        for key, email in USERS.items():
            # As accounts.create_user + set_password would, with a real argon2id hash computed once.
            user = User(
                email=email,
                password_hash=_password_hash(),
                must_change_password=False,
                is_steward=key == "steward",
                is_site_admin=key == "site_admin",
                active=True,
            )
            db.add(user)
            if key.startswith("a_"):
                acc.add_membership(db, user, a, key.removeprefix("a_"))
            elif key.startswith("b_"):
                acc.add_membership(db, user, b, key.removeprefix("b_"))
        db.flush()
        return Portal(store, a.id, b.id, ids)


@functools.cache
def _password_hash() -> str:
    from medcyber.accounts.passwords import hash_password

    return hash_password(PASSWORD)


_CSRF = re.compile(r'name="csrf-token" content="([^"]*)"')


def csrf_of(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "page has no CSRF meta tag"
    return m.group(1)


def login(client: TestClient, who: str, password: str = PASSWORD) -> str:
    """Sign in through the form (as a browser would); returns a CSRF token for the new session."""
    page = client.get("/login")
    token = csrf_of(page.text)
    resp = client.post(
        "/login",
        data={"email": USERS.get(who, who), "password": password, "csrf_token": token, "next": "/account"},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:500]
    return csrf_of(client.get("/account").text)
