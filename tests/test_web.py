"""The web app over a real store: the first page shows Acme Medical's benchmark report."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from medcyber.services.demo import load_demo
from medcyber.store import Store
from medcyber.web.app import create_app


@pytest.fixture
def client(store: Store) -> TestClient:
    with store.session() as session:
        load_demo(session)
    return TestClient(create_app(store))


def test_home_leads_to_acme_report(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Acme Medical" in page.text
    assert "1.51" in page.text or "synthetic" in page.text.lower()
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # CSP forbids inline script: none is sent


def test_report_downloads(client: TestClient) -> None:
    pdf = client.get("/organisations/Acme%20Medical/report.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    assert pdf.headers["content-type"] == "application/pdf"
    js = client.get("/api/v1/organisations/Acme%20Medical/report")
    assert js.status_code == 200 and js.json()["org_name"] == "Acme Medical"


def test_health_and_stats_api(client: TestClient) -> None:
    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["version"]
    stats = client.get("/api/v1/benchmark/stats").json()
    assert stats["n"] == 17
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_unknown_organisation_404(client: TestClient) -> None:
    assert client.get("/api/v1/organisations/Nobody/report").status_code == 404
