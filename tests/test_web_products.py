"""The device portfolio in the portal, over a real store (SQLite and PostgreSQL): products and versions with
their aggregates, SBOM uploads through the page (multipart + CSRF, as the browser's form sends them) and
through the API with an API token (the CI use case), hostile uploads, matching, component search and
filters, findings with KEV/EPSS, the end-of-support timeline, and tenancy on every route of the feature.

Vulnerability data is the real NVD records and CISA KEV catalogue of ../shared/data and the EPSS test file
of tests/data; SBOMs are real files from ../shared/data except the small Windows 7 SBOM below, written here
to reach a KEV-listed CVE (CVE-2019-0708, BlueKeep) through the real NVD configuration.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from medcyber.sbom.reader import read_sbom
from medcyber.services import accounts as acc
from medcyber.services import inventory, monitoring, vulndb
from medcyber.services import products as prod_svc
from medcyber.store.models import (
    Organisation,
    Product,
    ProductVersion,
    SbomRecord,
    User,
    VersionFindingRow,
)
from medcyber.web.sbom_upload import MAX_UPLOAD_BYTES
from webkit import SBOM_A, SHARED_DATA, USERS, Portal, login

EPSS = Path(__file__).parent / "data" / "epss" / "epss_scores-test.csv.gz"
SPEC_TESTS = SHARED_DATA / "sbom" / "cyclonedx-spec-tests"
INVALID_CDX = SPEC_TESTS / "1.6" / "invalid-component-type-1.6.json"
KEYCLOAK = SHARED_DATA / "sbom" / "cyclonedx-examples" / "keycloak-10.0.2" / "bom.json"
WOLFSSL_CVES = {"CVE-2022-42905", "CVE-2023-3724"}  # what the real NVD records say of WolfSSL 4.8.1

WINDOWS_SBOM = json.dumps(
    {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"component": {"type": "device", "name": "Imaging workstation", "bom-ref": "ws"}},
        "components": [
            {
                "type": "operating-system",
                "bom-ref": "win7",
                "name": "Windows 7",
                "version": "SP1",
                "supplier": {"name": "Microsoft"},
                "cpe": "cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*",
            }
        ],
        "dependencies": [{"ref": "ws", "dependsOn": ["win7"]}],
    }
).encode()

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4" version="1">
  <components><component type="library"><name>&lol6;</name><version>1</version></component></components>
</bom>
"""

HTML_PAGE = b"<!doctype html><html><head><title>Hi</title></head><body><h1>Not an SBOM</h1></body></html>"


def _png() -> bytes:
    """A real 1x1 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _vulns(portal: Portal) -> None:
    """Import the real NVD records, the KEV catalogue and the EPSS test scores (as `vulns import` does)."""
    with portal.store.session() as db:
        vulndb.import_nvd(db, [SHARED_DATA / "nvd" / "cves"])
        vulndb.import_kev(db, SHARED_DATA / "kev" / "known_exploited_vulnerabilities.json")
        vulndb.import_epss(db, EPSS)


@pytest.fixture(scope="session", autouse=True)
def _home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The matcher pickles its index under MEDCYBER_HOME: a private folder, not the user's."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MEDCYBER_HOME", str(tmp_path_factory.getbasetemp() / "home"))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def matched(shared_portal: Portal) -> Portal:
    """The shared portal with vulnerability data and every version matched (read-only tests)."""
    _vulns(shared_portal)
    with shared_portal.store.session() as db:
        monitoring.monitor(db)
    return shared_portal


def _counts(portal: Portal) -> tuple[int, int, int, int]:
    with portal.store.session() as db:
        return (
            db.scalar(select(func.count()).select_from(Product)) or 0,
            db.scalar(select(func.count()).select_from(ProductVersion)) or 0,
            db.scalar(select(func.count()).select_from(SbomRecord)) or 0,
            db.scalar(select(func.count()).select_from(VersionFindingRow)) or 0,
        )


def _token(portal: Portal, who: str, org_id: int, scopes: tuple[str, ...]) -> dict[str, str]:
    with portal.store.session() as db:
        user = db.scalars(select(User).where(User.email == USERS[who])).one()
        org = db.get(Organisation, org_id)
        assert org is not None
        _, raw = acc.create_api_token(db, org, user, "CI pipeline", scopes)
    return {"Authorization": f"Bearer {raw}"}


def _upload_page(
    c: TestClient,
    csrf: str,
    url: str,
    data: bytes,
    name: str,
    *,
    fields: dict[str, str] | None = None,
    htmx: bool = True,
) -> Any:
    headers = {"HX-Request": "true"} if htmx else {}
    return c.post(
        url,
        data={"csrf_token": csrf, **(fields or {})},
        files={"file": (name, data, "application/octet-stream")},
        headers=headers,
        follow_redirects=False,
    )


# --- uploads through the page ---------------------------------------------------------------------------


def test_upload_a_real_sbom_through_the_page_then_see_its_components_and_findings(portal: Portal) -> None:
    _vulns(portal)
    c = portal.client()
    csrf = login(c, "a_assessor")
    before = _counts(portal)
    r = _upload_page(
        c,
        csrf,
        f"/orgs/{portal.org_a}/sboms",
        SBOM_A.read_bytes(),
        "../../etc/narrow.sbom.json",
        fields={"product": "Ventilator X", "version": "4.2", "kind": "firmware"},
    )
    assert r.status_code == 201, r.text
    assert "narrow.sbom.json" in r.text and "../" not in r.text  # the client's path is not trusted
    assert "55 components" in r.text
    assert "2 new finding(s)" in r.text and "2 critical" in r.text
    with portal.store.session() as db:
        pv = db.scalars(
            select(ProductVersion)
            .join(Product)
            .where(Product.name == "Ventilator X", ProductVersion.version == "4.2")
        ).one()
        assert pv.product.organisation_id == portal.org_a
        assert [s.kind for s in pv.sboms] == ["firmware"]
        stored = set(
            db.scalars(select(VersionFindingRow.vuln_id).where(VersionFindingRow.product_version_id == pv.id))
        )
    assert stored == WOLFSSL_CVES
    assert _counts(portal)[:3] == (before[0] + 1, before[1] + 1, before[2] + 1)
    assert f"/orgs/{portal.org_a}/versions/{pv.id}" in r.text

    page = c.get(f"/orgs/{portal.org_a}/versions/{pv.id}?tab=components&q=wolfssl").text
    assert "WolfSSL" in page and "pkg:github/wolfssl/wolfssl" in page and "NLog" not in page
    findings = c.get(f"/orgs/{portal.org_a}/versions/{pv.id}").text  # the findings tab by default
    for cve in WOLFSSL_CVES:
        assert cve in findings
    assert "5.5.2" in findings and "30.5%" in findings  # nearest fix; EPSS 0.30511 of the test scores
    products = c.get(f"/orgs/{portal.org_a}/products?q=ventilator").text
    assert "Ventilator X" in products and "2 critical" in products


def test_upload_without_javascript_redirects_to_the_version_with_a_message(portal: Portal) -> None:
    _vulns(portal)
    c = portal.client()
    csrf = login(c, "a_admin")
    version = portal.ids["a_version"]
    r = _upload_page(
        c,
        csrf,
        f"/orgs/{portal.org_a}/versions/{version}/sboms",
        KEYCLOAK.read_bytes(),
        "bom.json",
        htmx=False,
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/orgs/{portal.org_a}/versions/{version}?uploaded=")
    page = c.get(r.headers["location"]).text
    # the version was never matched: its first match opens the WolfSSL findings of SBOM A
    assert "imported: 903 components" in page and "opened 2 new finding(s)" in page
    # keycloak 10.0.2 with SBOM A: the version now has both SBOMs, merged
    assert '<div class="value">958</div>' in page  # both SBOMs of the version: 55 + 903 components
    timeline = c.get(f"/orgs/{portal.org_a}/versions/{version}?tab=timeline").text
    assert "<svg" in timeline and "Support timeline of Infusion pump 1.0" in timeline
    assert "Spring Framework" in timeline  # derived from endoflife.date for the spring-* components
    assert "<script" not in timeline.split('<section class="tab-panel">', 1)[1]


def test_an_invalid_cyclonedx_is_refused_in_place_and_nothing_is_stored(portal: Portal) -> None:
    c = portal.client()
    csrf = login(c, "a_admin")
    before = _counts(portal)
    r = _upload_page(
        c,
        csrf,
        f"/orgs/{portal.org_a}/sboms",
        INVALID_CDX.read_bytes(),
        INVALID_CDX.name,
        fields={"product": "Brand new product", "version": "1.0"},
    )
    assert r.status_code == 422
    assert "<html" not in r.text  # a fragment for the upload form's result area
    assert "invalid-component-type-1.6.json" in r.text
    assert "not a valid CycloneDX 1.6 document" in r.text
    assert "<code>/components/0/type</code>" in r.text and "&#34;foo&#34; is not one of" in r.text
    assert _counts(portal) == before  # not even the product named in the form
    # the same upload without JavaScript: the products page with the problems in place
    r = _upload_page(
        c,
        csrf,
        f"/orgs/{portal.org_a}/sboms",
        INVALID_CDX.read_bytes(),
        INVALID_CDX.name,
        fields={"product": "Brand new product", "version": "1.0"},
        htmx=False,
    )
    assert r.status_code == 422 and "<html" in r.text and "/components/0/type" in r.text
    assert 'value="Brand new product"' in r.text  # what was typed is kept
    assert _counts(portal) == before


@pytest.mark.parametrize(
    ("payload", "name", "words"),
    [
        (BILLION_LAUGHS, "bom.xml", "DOCTYPE"),
        (_png(), "sbom.json", "PNG image"),
        (HTML_PAGE, "sbom.html", "refused"),
        (b"", "empty.json", "empty"),
    ],
    ids=["xml-bomb", "png", "html", "empty"],
)
def test_hostile_uploads_are_refused_and_nothing_is_stored(
    portal: Portal, payload: bytes, name: str, words: str
) -> None:
    c = portal.client()
    csrf = login(c, "a_admin")
    before = _counts(portal)
    version = portal.ids["a_version"]
    r = _upload_page(c, csrf, f"/orgs/{portal.org_a}/versions/{version}/sboms", payload, name)
    assert r.status_code == 422, r.text
    assert words in r.text and "was refused" in r.text
    api = c.post(
        f"/api/v1/orgs/{portal.org_a}/products/Infusion%20pump/versions/9.9/sboms",
        content=payload,
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
    )
    assert api.status_code == 422 and words in api.json()["detail"]
    assert _counts(portal) == before


def test_an_upload_over_the_limit_is_413_and_nothing_is_stored(portal: Portal) -> None:
    c = portal.client()
    csrf = login(c, "a_admin")
    before = _counts(portal)
    big = b" " * (MAX_UPLOAD_BYTES + 1)
    r = _upload_page(
        c, csrf, f"/orgs/{portal.org_a}/versions/{portal.ids['a_version']}/sboms", big, "big.json"
    )
    assert r.status_code == 413 and "50 MiB" in r.text
    headers = _token(portal, "a_admin", portal.org_a, ("sbom:upload",))
    api = c.post(f"/api/v1/orgs/{portal.org_a}/products/P/versions/1/sboms", content=big, headers=headers)
    assert api.status_code == 413 and "50 MiB" in api.json()["detail"]
    assert _counts(portal) == before


def test_the_same_file_twice_is_a_conflict_shown_in_place(portal: Portal) -> None:
    c = portal.client()
    csrf = login(c, "a_admin")
    url = f"/orgs/{portal.org_a}/versions/{portal.ids['a_version']}/sboms"
    r = _upload_page(c, csrf, url, SBOM_A.read_bytes(), "again.json")
    assert r.status_code == 409 and "already stored" in r.text and "Nothing changed" in r.text


def test_viewers_and_other_tenants_cannot_upload(portal: Portal) -> None:
    before = _counts(portal)
    viewer = portal.client()
    csrf = login(viewer, "a_viewer")
    page = viewer.get(f"/orgs/{portal.org_a}/products").text
    assert "Upload an SBOM" not in page and "data-upload" not in page  # no form to a viewer
    url = f"/orgs/{portal.org_a}/versions/{portal.ids['a_version']}/sboms"
    assert _upload_page(viewer, csrf, url, SBOM_A.read_bytes(), "x.json").status_code == 403
    assert (
        _upload_page(
            viewer,
            csrf,
            f"/orgs/{portal.org_a}/sboms",
            SBOM_A.read_bytes(),
            "x.json",
            fields={"product": "P", "version": "1"},
        ).status_code
        == 403
    )
    r = viewer.post(f"/orgs/{portal.org_a}/products", data={"csrf_token": csrf, "name": "Sneaky"})
    assert r.status_code == 403
    r = viewer.post(
        f"/api/v1/orgs/{portal.org_a}/products/P/versions/1/sboms",
        content=SBOM_A.read_bytes(),
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 403
    # without the CSRF token, even an admin's upload is refused
    admin = portal.client()
    login(admin, "a_admin")
    r = admin.post(url, files={"file": ("x.json", SBOM_A.read_bytes(), "application/json")})
    assert r.status_code == 403
    assert _counts(portal) == before


def test_create_product_and_version_through_the_forms(portal: Portal) -> None:
    c = portal.client()
    csrf = login(c, "a_assessor")
    r = c.post(
        f"/orgs/{portal.org_a}/products",
        data={"csrf_token": csrf, "name": "Glucose monitor", "device_class": "II", "description": "CGM"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    product_url = r.headers["location"]
    again = c.post(f"/orgs/{portal.org_a}/products", data={"csrf_token": csrf, "name": "Glucose monitor"})
    assert again.status_code == 409 and "already has a product named" in again.text
    r = c.post(
        product_url + "/versions",
        data={
            "csrf_token": csrf,
            "version": "3.0",
            "released_on": "2026-01-15",
            "end_of_support": "2031-01-15",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and "/versions/" in r.headers["location"]
    page = c.get(r.headers["location"]).text
    assert "Glucose monitor" in page and "Released 2026-01-15" in page
    assert "Upload an SBOM for Glucose monitor 3.0" in page
    bad = c.post(
        product_url + "/versions", data={"csrf_token": csrf, "version": "3.1", "released_on": "soon"}
    )
    assert bad.status_code == 400 and "is a date" in bad.text
    dup = c.post(product_url + "/versions", data={"csrf_token": csrf, "version": "3.0"})
    assert dup.status_code == 409
    listing = c.get(f"/orgs/{portal.org_a}/products").text
    assert "Glucose monitor" in listing and "class II" in listing


# --- the CI use case: an API token ------------------------------------------------------------------------


def test_ci_pipeline_with_an_api_token_uploads_scans_and_reads_findings(portal: Portal) -> None:
    _vulns(portal)
    c = portal.client()
    ci = _token(portal, "a_admin", portal.org_a, ("read", "sbom:upload", "scan"))
    base = f"/api/v1/orgs/{portal.org_a}"
    r = c.post(
        f"{base}/products/Infusion%20pump/versions/2.0/sboms?kind=firmware&filename=pump-fw.cdx.json",
        content=SBOM_A.read_bytes(),
        headers={**ci, "Content-Type": "application/vnd.cyclonedx+json"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["product"] == "Infusion pump" and body["version"] == "2.0" and body["version_created"] is True
    assert body["components"] == 55 and body["kind"] == "firmware" and body["file_name"] == "pump-fw.cdx.json"
    assert body["format"] == "cyclonedx" and body["spec_version"] == "1.4" and body["valid"] is True
    version_id = body["version_id"]
    assert body["product_id"] == portal.ids["a_product"]  # the existing product, found by name in org A
    # multipart works too; the same bytes again are a conflict
    dup = c.post(
        f"{base}/products/Infusion%20pump/versions/2.0/sboms",
        files={"file": ("pump.json", SBOM_A.read_bytes(), "application/json")},
        headers=ci,
    )
    assert dup.status_code == 409 and "already stored" in dup.json()["detail"]

    before = c.get(f"{base}/versions/{version_id}/findings", headers=ci).json()
    assert before["total"] == 0  # the upload only stores; the scan matches

    scan = c.post(f"{base}/versions/{version_id}/scan?fail_on=high", headers=ci)
    assert scan.status_code == 200, scan.text
    s = scan.json()
    assert s["fail"] is True and s["failing"] == 2 and s["by_severity"]["critical"] == 2
    assert s["new_findings"] == 2 and s["open_findings"] == 2 and s["kev"] == 0
    again = c.post(f"{base}/versions/{version_id}/scan?fail_on=kev", headers=ci).json()
    assert again["fail"] is False and again["new_findings"] == 0 and again["open_findings"] == 2
    assert c.post(f"{base}/versions/{version_id}/scan", headers=ci).json()["fail"] is False

    findings = c.get(f"{base}/versions/{version_id}/findings", headers=ci).json()
    assert {f["vuln_id"] for f in findings["items"]} == WOLFSSL_CVES
    f = next(f for f in findings["items"] if f["vuln_id"] == "CVE-2022-42905")
    assert f["component"] == "WolfSSL" and f["severity"] == "critical" and f["cvss_score"] == 9.1
    assert f["nearest_fix"] == "5.5.2" and f["epss"] == pytest.approx(0.30511) and f["evidence"]
    assert c.get(f"{base}/versions/{version_id}/findings?severity=low", headers=ci).json()["total"] == 0

    comps = c.get(f"{base}/versions/{version_id}/components?q=WOLF", headers=ci).json()
    assert [x["name"] for x in comps["items"]] == ["WolfSSL"]
    assert comps["items"][0]["open_findings"] == 2 and comps["items"][0]["worst_severity"] == "critical"

    products = c.get(f"{base}/products", headers=ci).json()
    pump = next(p for p in products["products"] if p["name"] == "Infusion pump")
    v2 = next(v for v in pump["versions"] if v["version"] == "2.0")
    assert v2["open_findings"] == 2 and v2["findings"]["critical"] == 2 and v2["components"] == 55
    assert v2["past_end_of_support"] == 9  # the SBOM's no-longer-maintained / deprecated components

    # a KEV-listed CVE through a real NVD configuration: fail_on=kev fails, the KEV filter finds it
    r = c.post(f"{base}/products/Imaging%20workstation/versions/7/sboms", content=WINDOWS_SBOM, headers=ci)
    assert r.status_code == 201, r.text
    ws = r.json()["version_id"]
    kev = c.post(f"{base}/versions/{ws}/scan?fail_on=kev", headers=ci).json()
    assert kev["fail"] is True and kev["kev"] >= 1
    listed = c.get(f"{base}/versions/{ws}/findings?kev=true", headers=ci).json()
    assert "CVE-2019-0708" in {x["vuln_id"] for x in listed["items"]} and all(
        x["kev"] for x in listed["items"]
    )


def test_token_scopes_and_roles_limit_the_api(portal: Portal) -> None:
    c = portal.client()
    base = f"/api/v1/orgs/{portal.org_a}"
    version = portal.ids["a_version"]
    read_only = _token(portal, "a_admin", portal.org_a, ("read",))
    assert c.get(f"{base}/products", headers=read_only).status_code == 200
    r = c.post(f"{base}/products/P/versions/1/sboms", content=SBOM_A.read_bytes(), headers=read_only)
    assert r.status_code == 403
    assert c.post(f"{base}/versions/{version}/scan", headers=read_only).status_code == 403
    upload_only = _token(portal, "a_assessor", portal.org_a, ("sbom:upload",))
    assert c.post(f"{base}/versions/{version}/scan", headers=upload_only).status_code == 403
    assert c.get(f"{base}/products", headers=upload_only).status_code == 403
    assert c.get(f"{base}/products").status_code == 401  # no credentials at all


def test_scan_says_when_the_vulnerability_database_is_empty(portal: Portal) -> None:
    c = portal.client()
    ci = _token(portal, "a_admin", portal.org_a, ("scan",))
    s = c.post(
        f"/api/v1/orgs/{portal.org_a}/versions/{portal.ids['a_version']}/scan?fail_on=critical", headers=ci
    )
    assert s.status_code == 200
    assert s.json()["fail"] is True and s.json()["advisories_available"] is False
    assert "empty" in s.json()["message"]


# --- tenancy on every route of the feature ----------------------------------------------------------------


def _routes(portal: Portal, org: int, tenant: str) -> list[tuple[str, str, bool]]:
    """(method, url, has a nested object id) of every route of the portfolio feature."""
    ids = portal.ids
    p, v, s = ids[f"{tenant}_product"], ids[f"{tenant}_version"], ids[f"{tenant}_sbom"]
    return [
        ("GET", f"/orgs/{org}/products", False),
        ("POST", f"/orgs/{org}/products", False),
        ("POST", f"/orgs/{org}/sboms", False),
        ("GET", f"/orgs/{org}/products/{p}", True),
        ("POST", f"/orgs/{org}/products/{p}/versions", True),
        ("GET", f"/orgs/{org}/versions/{v}", True),
        ("GET", f"/orgs/{org}/versions/{v}?tab=components", True),
        ("GET", f"/orgs/{org}/versions/{v}?tab=sboms", True),
        ("GET", f"/orgs/{org}/versions/{v}?tab=timeline", True),
        ("POST", f"/orgs/{org}/versions/{v}/sboms", True),
        ("POST", f"/orgs/{org}/versions/{v}/scan", True),
        ("GET", f"/orgs/{org}/sboms/{s}/original", True),
        ("GET", f"/api/v1/orgs/{org}/products", False),
        ("POST", f"/api/v1/orgs/{org}/products/Infusion%20pump/versions/1.0/sboms", False),
        ("GET", f"/api/v1/orgs/{org}/versions/{v}/components", True),
        ("GET", f"/api/v1/orgs/{org}/versions/{v}/findings", True),
        ("POST", f"/api/v1/orgs/{org}/versions/{v}/scan", True),
    ]


def test_no_cross_tenant_read_or_write_on_any_portfolio_route(shared_portal: Portal) -> None:
    portal = shared_portal
    before = _counts(portal)
    b_admin = portal.client()
    csrf = login(b_admin, "b_admin")
    token_b = _token(portal, "b_admin", portal.org_b, ("read", "sbom:upload", "scan"))
    upload: dict[str, Any] = {"files": {"file": ("x.json", SBOM_A.read_bytes(), "application/json")}}
    session = {
        "headers": {"X-CSRF-Token": csrf},
        "data": {"csrf_token": csrf, "product": "P", "version": "1"},
    }
    failures = []
    # org A in the path: B's admin and B's token are not members of A -> 404, whatever the method
    for method, url, _nested in _routes(portal, portal.org_a, "a"):
        extra: dict[str, Any] = upload if method == "POST" else {}
        r = b_admin.request(method, url, follow_redirects=False, **session, **extra)
        if r.status_code != 404:
            failures.append(f"b_admin {method} {url}: {r.status_code}")
        r = portal.client().request(method, url, headers=token_b, follow_redirects=False, **extra)
        if r.status_code != 404:
            failures.append(f"token_b {method} {url}: {r.status_code}")
    # org B in the path (B's own), org A's product/version/SBOM ids below it -> 404
    nested = [(m, u) for m, u, n in _routes(portal, portal.org_b, "a") if n]
    for method, url in nested:
        extra = upload if method == "POST" else {}
        r = b_admin.request(method, url, follow_redirects=False, **session, **extra)
        if r.status_code != 404:
            failures.append(f"b_admin (own org) {method} {url}: {r.status_code}")
        r = portal.client().request(method, url, headers=token_b, follow_redirects=False, **extra)
        if r.status_code != 404:
            failures.append(f"token_b (own org) {method} {url}: {r.status_code}")
    assert not failures, "\n".join(failures)
    assert len(nested) == 12
    assert _counts(portal) == before
    # and B's own pages and API never show A's product
    assert "Infusion pump" not in b_admin.get(f"/orgs/{portal.org_b}/products").text
    api = portal.client().get(f"/api/v1/orgs/{portal.org_b}/products", headers=token_b).json()
    assert [p["name"] for p in api["products"]] == ["Imaging viewer"]


# --- search, filters, findings (read-only, shared portal) -----------------------------------------------


def _expected(predicate: Any) -> list[str]:
    sbom = read_sbom(SBOM_A).sbom
    assert sbom is not None
    return sorted(c.name for c in sbom.components if predicate(c))


def _names(c: TestClient, url: str, headers: dict[str, str] | None = None) -> list[str]:
    out: list[str] = []
    page = 1
    while True:
        body = c.get(f"{url}&page={page}&per_page=20", headers=headers).json()
        out.extend(x["name"] for x in body["items"])
        if page >= body["pages"]:
            return sorted(out)
        page += 1


def test_component_search_and_filters_return_the_right_rows(matched: Portal) -> None:
    portal = matched
    c = portal.client()
    read = _token(portal, "a_admin", portal.org_a, ("read",))
    base = f"/api/v1/orgs/{portal.org_a}/versions/{portal.ids['a_version']}/components?x=1"
    everything = _names(c, base, read)
    assert everything == _expected(lambda x: True) and len(everything) == 55
    assert _names(c, base + "&q=nlog", read) == _expected(
        lambda x: "nlog" in x.name.lower() or "nlog" in (x.purl or "").lower()
    )
    assert _names(c, base + "&q=pkg:github/", read) == _expected(
        lambda x: (x.purl or "").startswith("pkg:github/")
    )
    assert _names(c, base + "&q=100%25", read) == []  # a LIKE wildcard is searched literally
    assert _names(c, base + "&type=firmware", read) == _expected(lambda x: x.type.value == "firmware")
    ended = _expected(
        lambda x: (
            x.support is not None
            and x.support.level is not None
            and x.support.level.value == "no-longer-maintained"
        )
    )
    assert _names(c, base + "&level=no-longer-maintained", read) == ended and ended
    assert _names(c, base + "&eos=past", read) == ended  # this SBOM gives no dates, only levels
    assert _names(c, base + "&findings=with", read) == ["WolfSSL"]
    assert len(_names(c, base + "&findings=without", read)) == 54
    assert c.get(base + "&type=gadget", headers=read).status_code == 422  # an unknown type: refused, no 500
    assert c.get(base + "&level=bogus", headers=read).status_code == 422

    # the page: full page normally, the results fragment for htmx, same rows
    browser = portal.client()
    login(browser, "a_viewer")
    url = f"/orgs/{portal.org_a}/versions/{portal.ids['a_version']}?tab=components&q=nlog"
    full = browser.get(url)
    part = browser.get(url, headers={"HX-Request": "true"})
    assert "<html" in full.text and "<html" not in part.text and part.headers["vary"] == "HX-Request"
    for name in _expected(lambda x: "nlog" in x.name.lower()):
        assert f"<strong>{name}</strong>" in part.text
    assert "Autofac" not in part.text
    assert 'hx-trigger="input changed delay:300ms, submit"' in full.text
    page2 = browser.get(
        f"/orgs/{portal.org_a}/versions/{portal.ids['a_version']}?tab=components&page=2",
        headers={"HX-Request": "true"},
    )
    assert "51–55 of 55" in page2.text
    bad = browser.get(
        f"/orgs/{portal.org_a}/versions/{portal.ids['a_version']}?tab=components&eos=later",
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 400 and "unknown end-of-support filter" in bad.text


def test_findings_tab_filters_by_severity_and_kev(matched: Portal) -> None:
    portal = matched
    c = portal.client()
    login(c, "a_viewer")
    url = f"/orgs/{portal.org_a}/versions/{portal.ids['a_version']}?tab=findings"
    hx = {"HX-Request": "true"}
    assert all(cve in c.get(url, headers=hx).text for cve in WOLFSSL_CVES)
    assert all(cve in c.get(url + "&severity=critical", headers=hx).text for cve in WOLFSSL_CVES)
    low = c.get(url + "&severity=low", headers=hx).text
    assert "CVE-" not in low and "No open finding matches" in low
    assert "CVE-" not in c.get(url + "&kev=1", headers=hx).text
    only = c.get(url + "&q=42905", headers=hx).text
    assert "CVE-2022-42905" in only and "CVE-2023-3724" not in only


def test_products_page_aggregates_and_download_of_the_original(matched: Portal) -> None:
    portal = matched
    c = portal.client()
    login(c, "a_viewer")
    page = c.get(f"/orgs/{portal.org_a}/products")
    assert page.status_code == 200
    row = page.text.split("Infusion pump", 1)[1].split("</tr>", 1)[0]
    assert ">55<" in row and "2 critical" in row and ">9<" in row  # components, findings, past EoS
    assert "Imaging viewer" not in page.text
    r = c.get(f"/orgs/{portal.org_a}/sboms/{portal.ids['a_sbom']}/original")
    assert r.status_code == 200 and r.content == SBOM_A.read_bytes()
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment;")
    sboms = c.get(f"/orgs/{portal.org_a}/versions/{portal.ids['a_version']}?tab=sboms").text
    assert "CycloneDX 1.4" in sboms and "/ 100" in sboms and "Download original" in sboms


def test_list_pages_run_a_fixed_number_of_queries(portal: Portal) -> None:
    """No N+1: the products page and the API list cost the same number of SQL statements with 3 device
    versions as with 120 (the aggregates are GROUP BY queries over the page's versions)."""
    c = portal.client()
    login(c, "a_viewer")
    read = _token(portal, "a_admin", portal.org_a, ("read",))
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("x")

    def measure() -> tuple[int, int]:
        statements.clear()
        event.listen(portal.store.engine, "before_cursor_execute", count)
        try:
            assert c.get(f"/orgs/{portal.org_a}/products").status_code == 200
            page = len(statements)
            statements.clear()
            assert c.get(f"/api/v1/orgs/{portal.org_a}/products", headers=read).status_code == 200
            return page, len(statements)
        finally:
            event.remove(portal.store.engine, "before_cursor_execute", count)

    small = measure()
    with portal.store.session() as db:
        org = db.get(Organisation, portal.org_a)
        assert org is not None
        for i in range(40):
            product = prod_svc.create_product(db, f"Device {i:03d}", organisation=org.name)
            for v in range(3):
                prod_svc.import_sbom(
                    db, product, f"{v}.0", WINDOWS_SBOM.replace(b"SP1", f"SP{i}-{v}".encode())
                )
    large = measure()
    assert large == small
    with portal.store.session() as db:
        assert inventory.version_summaries(db, portal.org_a, per_page=500).total == 121


def test_sbom_content_is_escaped_everywhere_it_is_shown(portal: Portal) -> None:
    """Component names come from uploaded files: they are text in every page, fragment and chart."""
    evil = "<img src=x onerror=alert(1)>"
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"component": {"type": "device", "name": "Pump", "bom-ref": "pump"}},
        "components": [
            {
                "type": "library",
                "bom-ref": "evil",
                "name": evil,
                "version": "1.0",
                "purl": "pkg:npm/%3Cscript%3E@1.0",
                "properties": [{"name": "End-of-Support", "value": "2020-01-01"}],
            }
        ],
    }
    c = portal.client()
    csrf = login(c, "a_admin")
    r = _upload_page(
        c,
        csrf,
        f"/orgs/{portal.org_a}/sboms",
        json.dumps(doc).encode(),
        "<b>evil</b>.json",
        fields={"product": "<script>alert(1)</script>", "version": "1"},
    )
    assert r.status_code == 201, r.text
    assert "<b>evil" not in r.text and "<script>alert" not in r.text and "&lt;script&gt;" in r.text
    version = c.get(f"/orgs/{portal.org_a}/products?q=script").text
    assert "<script>alert" not in version and "&lt;script&gt;alert(1)&lt;/script&gt;" in version
    with portal.store.session() as db:
        vid = db.scalars(select(ProductVersion.id).join(Product).where(Product.name.contains("script"))).one()
    for tab in ("components", "sboms", "timeline", "findings"):
        page = c.get(f"/orgs/{portal.org_a}/versions/{vid}?tab={tab}").text
        assert evil not in page and "<script>alert" not in page, tab
    timeline = c.get(f"/orgs/{portal.org_a}/versions/{vid}?tab=timeline").text
    assert "<svg" in timeline and "&lt;img src=x" in timeline
