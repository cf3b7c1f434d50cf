"""The demo workspace's device portfolio and logins, on a real store (SQLite and PostgreSQL): real public
SBOMs from ../shared/data, the real PyPA/NVD/KEV data imported by the real importers, findings from the
real monitoring run, demo accounts that sign in, and two organisations kept apart.

Slow but always run: one demo load per database (about 10 s) is shared by the module's tests."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import fresh_url
from medcyber.cli.main import app
from medcyber.services import accounts, monitoring, products
from medcyber.services.assessments import find_organisation
from medcyber.services.demo import (
    BEACON,
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    DEMO_PRODUCTS,
    SHARED_DATA_ENV,
    load_demo,
    shared_data_dir,
)
from medcyber.store import Store
from medcyber.store import models as m

pytestmark = pytest.mark.slow
PG_URL = os.environ.get("MEDCYBER_TEST_DATABASE_URL")
ACME = "Acme Medical"
DEVICE = "Connected medical device (anonymised)"
runner = CliRunner()

# the tables a second load must leave exactly as they are
COUNTED = (
    m.Organisation,
    m.Assessment,
    m.AnswerRow,
    m.SubmissionRow,
    m.Product,
    m.ProductVersion,
    m.SbomRecord,
    m.SbomComponentRow,
    m.AdvisoryRow,
    m.KevRow,
    m.VulnImportRow,
    m.MatchRunRow,
    m.VersionFindingRow,
    m.User,
    m.Membership,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for the module (as conftest's ``store_url``, but loaded once per module)."""
    yield from fresh_url(request.param, tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def demo(demo_url: str, shared_data: Path) -> Iterator[tuple[Store, dict[str, Any]]]:
    """The store with the demo loaded once, and what that first load reported."""
    store = Store(demo_url)
    store.upgrade()
    with store.session() as session:
        summary = load_demo(session, data_dir=shared_data)
    try:
        yield store, summary
    finally:
        store.dispose()


def _counts(store: Store) -> dict[str, int]:
    with store.session() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) or 0 for t in COUNTED}


def _components(items: list[dict[str, Any]] | None) -> int:
    return sum(1 + _components(c.get("components")) for c in items or [])


def test_second_load_changes_nothing(demo: tuple[Store, dict[str, Any]], shared_data: Path) -> None:
    store, first = demo
    before = _counts(store)
    with store.session() as session:
        again = load_demo(session, data_dir=shared_data)
    assert _counts(store) == before
    assert before["products"] == 5 and before["sbom_components"] > 2000  # not an empty store
    assert again["portfolio"]["imported"] == [] and again["portfolio"]["sboms_added"] == 0
    assert again["portfolio"]["monitoring_run"] is None
    assert first["portfolio"]["monitoring_run"]["run_id"] is not None
    keys = ("products", "versions", "sboms", "components", "open_findings", "kev_findings")
    assert {k: again["portfolio"][k] for k in keys} == {k: first["portfolio"][k] for k in keys}
    assert [a["created"] for a in first["accounts"]] == [True] * len(DEMO_ACCOUNTS)
    assert [a["created"] for a in again["accounts"]] == [False] * len(DEMO_ACCOUNTS)


def test_portfolio_holds_the_real_sboms(demo: tuple[Store, dict[str, Any]], shared_data: Path) -> None:
    store, summary = demo
    with store.session() as s:
        owned = {(p.organisation.name, p.name): p for p in products.list_products(s)}
        assert set(owned) == {(ACME if d.organisation == "acme" else BEACON, d.name) for d in DEMO_PRODUCTS}
        total = 0
        for d in DEMO_PRODUCTS:
            product = owned[(ACME if d.organisation == "acme" else BEACON, d.name)]
            assert "SBOM" in (product.description or "")
            versions = {v.version: v for v in products.list_versions(s, product)}
            assert set(versions) == {v for v, _ in d.versions}
            for version, rel in d.versions:
                raw = (shared_data / rel).read_bytes()
                (record,) = versions[version].sboms
                assert record.sha256 == hashlib.sha256(raw).hexdigest()  # the very file, unmodified
                assert products.original_bytes(record) == raw
                assert record.valid and record.errors == []
                assert record.component_count == _components(json.loads(raw).get("components"))
                total += record.component_count
    assert summary["portfolio"]["components"] == total
    assert summary["portfolio"]["versions"] == sum(len(d.versions) for d in DEMO_PRODUCTS) == 6


def test_vulnerability_data_is_the_shared_data(demo: tuple[Store, dict[str, Any]], shared_data: Path) -> None:
    _, summary = demo
    kev = json.loads((shared_data / "kev" / "known_exploited_vulnerabilities.json").read_bytes())
    osv_files = list((shared_data / "osv" / "pypi" / "vulns").rglob("*.yaml"))
    nvd_files = list((shared_data / "nvd" / "cves").glob("*.json"))
    assert summary["portfolio"]["vulnerability_data"] == {
        "osv": len(osv_files),
        "nvd": len(nvd_files),
        "kev": len(kev["vulnerabilities"]),
    }
    assert all(i["problems"] == 0 for i in summary["portfolio"]["imported"])


def test_device_findings_are_real_wolfssl_cves(demo: tuple[Store, dict[str, Any]], shared_data: Path) -> None:
    """The anonymised device ships wolfSSL 4.8.1; the real NVD records of CVE-2022-42905 (< 5.5.2) and
    CVE-2023-3724 (< 5.6.2) name wolfssl:wolfssl, so monitoring must report both on that component."""
    store, summary = demo
    device = json.loads((shared_data / "sbom/medical-device-case-study/narrow.sbom.json").read_bytes())
    wolf = [c for c in device["components"] if c["cpe"].startswith("cpe:2.3:a:wolfssl:wolfssl:")]
    assert [c["version"] for c in wolf] == ["4.8.1"]
    for cve, bound in (("CVE-2022-42905", "5.5.2"), ("CVE-2023-3724", "5.6.2")):
        record = json.loads((shared_data / "nvd" / "cves" / f"{cve}.json").read_bytes())
        matches = [
            x for c in record["configurations"] for n in c["nodes"] for x in n["cpeMatch"] if x["vulnerable"]
        ]
        assert any(
            x["criteria"].startswith("cpe:2.3:a:wolfssl:wolfssl:") and x["versionEndExcluding"] == bound
            for x in matches
        )
    kev_ids = {
        v["cveID"]
        for v in json.loads((shared_data / "kev" / "known_exploited_vulnerabilities.json").read_bytes())[
            "vulnerabilities"
        ]
    }
    with store.session() as s:
        found = monitoring.new_findings(s, run_id=summary["portfolio"]["monitoring_run"]["run_id"])
        on_device = {(f.component, f.component_version, f.vuln_id) for f in found if f.product == DEVICE}
        assert {("WolfSSL", "4.8.1", "CVE-2022-42905"), ("WolfSSL", "4.8.1", "CVE-2023-3724")} <= on_device
        assert all(f.severity == "critical" for f in found if f.component == "WolfSSL")
        open_ = [f for f in found if f.resolved_at is None]
        assert summary["portfolio"]["open_findings"] == len(open_) >= 2
        # the KEV flag agrees with the real catalogue (none of these CVEs is listed today)
        assert summary["portfolio"]["kev_findings"] == sum(f.kev for f in open_)
        assert all(f.kev == (f.vuln_id in kev_ids) for f in open_)


def test_demo_logins_sign_in_with_their_roles(demo: tuple[Store, dict[str, Any]]) -> None:
    store, summary = demo
    assert {a["email"]: a["password"] for a in summary["accounts"]} == {
        a.email: DEMO_PASSWORD for a in DEMO_ACCOUNTS
    }
    with store.session() as s:
        acme, beacon = find_organisation(s, ACME), find_organisation(s, BEACON)
        for acc in DEMO_ACCOUNTS:
            result = accounts.authenticate(s, acc.email, DEMO_PASSWORD, ip="192.0.2.1")
            assert result.ok, (acc.email, result.message)
            user = result.raise_for_failure()
            assert not user.must_change_password
            assert not accounts.authenticate(s, acc.email, DEMO_PASSWORD + "x").ok
            if acc.role in accounts.ORG_ROLES:
                org = acme if acc.organisation == "acme" else beacon
                assert accounts.organisations_of(user) == [(org, acc.role)]
            else:
                assert accounts.organisations_of(user) == []
                assert accounts.platform_roles(user) == {acc.role}
                assert not accounts.can(user, acme, "org:read")


def test_beacon_admin_has_no_role_in_acme(demo: tuple[Store, dict[str, Any]]) -> None:
    store, _ = demo
    with store.session() as s:
        acme, beacon = find_organisation(s, ACME), find_organisation(s, BEACON)
        beacon_admin = accounts.get_user(s, "admin@beacon.example")
        acme_admin = accounts.get_user(s, "admin@acme.example")
        assert accounts.role_in(beacon_admin, acme) is None
        assert not accounts.can(beacon_admin, acme, "org:read")
        assert accounts.can(beacon_admin, beacon, "members:manage")
        assert accounts.role_in(acme_admin, beacon) is None
        assert not accounts.can(acme_admin, beacon, "org:read")
        assert [p.name for p in products.list_products(s, organisation=BEACON)] == ["Laravel web application"]
        assert beacon.employees_band and beacon.region == "Europe"


def test_cli_demo_load_prints_the_logins(
    demo: tuple[Store, dict[str, Any]], demo_url: str, shared_data: Path
) -> None:
    env = {"MEDCYBER_DATABASE_URL": demo_url, SHARED_DATA_ENV: str(shared_data)}
    result = runner.invoke(app, ["demo", "load", "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {(a["email"], a["password"], a["role"]) for a in data["accounts"]} == {
        (a.email, DEMO_PASSWORD, a.role) for a in DEMO_ACCOUNTS
    }
    assert data["portfolio"]["products"] == 5
    result = runner.invoke(app, ["demo", "load"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for acc in DEMO_ACCOUNTS:
        assert any(acc.email in line and DEMO_PASSWORD in line for line in lines), result.stdout
    assert "admin of Acme Medical" in result.stdout and "5 products" in result.stdout


# --- without the shared data (a function-scoped store: these loads are quick) -----------------------


def test_without_shared_data_the_benchmark_demo_still_loads(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "nowhere"))
    with store.session() as session:
        summary = load_demo(session)
    assert SHARED_DATA_ENV in summary["portfolio"]["skipped"] and "nowhere" in summary["portfolio"]["skipped"]
    assert summary["assessments"] == 2 and summary["submissions"] == 17
    with store.session() as s:
        assert products.list_products(s) == []
        assert len(accounts.list_users(s)) == len(DEMO_ACCOUNTS)
        assert accounts.authenticate(s, "viewer@acme.example", DEMO_PASSWORD).ok


def test_existing_demo_account_keeps_its_password(store: Store) -> None:
    with store.session() as session:
        load_demo(session, portfolio=False)
    with store.session() as s:
        user = accounts.get_user(s, "admin@acme.example")
        accounts.set_password(s, user, "a-new-and-private-passphrase")
    with store.session() as session:
        summary = load_demo(session, portfolio=False)
    assert summary["portfolio"] == {"skipped": "device portfolio not requested"}
    mine = next(a for a in summary["accounts"] if a["email"] == "admin@acme.example")
    assert mine["password"] is None and mine["created"] is False
    with store.session() as s:
        assert accounts.authenticate(s, "admin@acme.example", "a-new-and-private-passphrase").ok
        assert not accounts.authenticate(s, "admin@acme.example", DEMO_PASSWORD).ok


def test_shared_data_dir_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> None:
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))
    assert shared_data_dir() == tmp_path.resolve()
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "missing"))
    assert shared_data_dir() is None  # an explicit setting is not second-guessed
    monkeypatch.delenv(SHARED_DATA_ENV)
    found = shared_data_dir()
    assert found is not None and found.resolve() == shared_data.resolve()  # <repo>/../shared/data
