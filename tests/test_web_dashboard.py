"""The organisation dashboard and its aggregates (services/portfolio.py), on SQLite and PostgreSQL.

* the page's figures equal what the other services compute, on the seeded portal after importing the real
  NVD and KEV data of ../shared/data and running monitoring;
* tenancy: a member of another organisation gets 404, anonymous callers are sent to sign in;
* the aggregates on known inserted data (severity counts, KEV-first risk order, end of support, the
  supportability horizon, another organisation's rows left out), and a fixed number of queries whatever
  the number of device versions.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event

from medcyber.lifecycle.analysis import analyse
from medcyber.lifecycle.catalog import Catalog
from medcyber.maturity.bank import load_bank
from medcyber.maturity.scoring import Answer
from medcyber.services import assessments as assess_svc
from medcyber.services import demo, inventory, monitoring, portfolio, vulndb
from medcyber.services import products as prod_svc
from medcyber.store import Store
from medcyber.store.models import MatchRunRow, Organisation, ProductVersion, VersionFindingRow
from webkit import SHARED_DATA, login

NVD = SHARED_DATA / "nvd" / "cves"
KEV = SHARED_DATA / "kev" / "known_exploited_vulnerabilities.json"
AS_OF = dt.date(2026, 6, 1)


def _figure(html: str, name: str) -> str:
    m = re.search(rf'id="fig-{re.escape(name)}">([^<]*)<', html)
    assert m, f"no figure {name} on the page"
    return m.group(1).strip().replace(",", "")


@pytest.fixture
def monitored(portal):  # type: ignore[no-untyped-def]
    """The seeded portal with the real NVD records and KEV catalogue imported, then monitoring run."""
    with portal.store.session() as s:
        vulndb.import_paths(s, "nvd", [NVD])
        vulndb.import_paths(s, "kev", [KEV])
        summary = monitoring.monitor(s)
    portal.ids["run"] = summary.run_id or 0
    return portal


def test_dashboard_figures_equal_the_services(monitored) -> None:  # type: ignore[no-untyped-def]
    portal = monitored
    client = portal.client()
    login(client, "a_viewer")
    resp = client.get(f"/orgs/{portal.org_a}")
    assert resp.status_code == 200, resp.text[:500]
    html = resp.text

    with portal.store.session() as s:
        org = s.get(Organisation, portal.org_a)
        assert org is not None
        # counts: the demo service's definition of the same figures
        expected = demo.portfolio_counts(s, [portal.org_a])
        # findings: the stored findings of the monitoring run (every one is new in the first run)
        stored = [
            f for f in monitoring.new_findings(s, run_id=portal.ids["run"]) if f.organisation == org.name
        ]
        by_sev = Counter(f.severity for f in stored)
        # end of support: the lifecycle analysis of the version's SBOM with declared values only
        # (an empty catalogue derives nothing), on the same day as the page
        today = dt.date.today()
        sbom = prod_svc.load_sbom(s, portal.ids["a_sbom"])
        report = analyse(sbom, as_of=today, catalog=Catalog(products={}))
        summaries = inventory.version_summaries(s, portal.org_a, page=1, per_page=50).items
        score = assess_svc.score_of(assess_svc.latest_complete(s, org))  # type: ignore[arg-type]

    assert stored, "the real NVD data should find the WolfSSL CVEs in the medical device SBOM"
    for key in ("products", "versions", "sboms", "components"):
        assert int(_figure(html, key)) == expected[key], key
    assert int(_figure(html, "open")) == expected["open_findings"] == len(stored)
    assert int(_figure(html, "kev")) == expected["kev_findings"] == sum(f.kev for f in stored)
    for level in ("critical", "high", "medium", "low", "none", "unknown"):
        assert int(_figure(html, f"sev-{level}")) == by_sev.get(level, 0), level
    assert int(_figure(html, "past-eos")) == len(report.legacy) == sum(v.past_eos for v in summaries)
    assert len(report.legacy) > 0  # the case-study SBOM declares components no longer maintained
    upcoming = [c for c in report.components if c.eol and today < c.eol <= portfolio.one_year_after(today)]
    assert int(_figure(html, "due-eos")) == len(upcoming)
    # maturity: the latest complete assessment's composite and the benchmark position
    assert _figure(html, "composite") == f"{score.composite:.2f}"
    assert "other organisations" in html and "fifth" in html
    # the top-risk table links to the version page
    assert f'href="/orgs/{portal.org_a}/versions/{portal.ids["a_version"]}"' in html
    assert "<svg" in html  # trend and severity charts, inline


def test_dashboard_tenancy(shared_portal) -> None:  # type: ignore[no-untyped-def]
    portal = shared_portal
    client = portal.client()
    anonymous = client.get(f"/orgs/{portal.org_a}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    login(client, "b_admin")
    other = client.get(f"/orgs/{portal.org_a}")
    assert other.status_code == 404
    assert "Alpha Devices" not in other.text
    own = client.get(f"/orgs/{portal.org_b}")
    assert own.status_code == 200 and "Beta Health" in own.text
    viewer = portal.client()
    login(viewer, "a_viewer")
    page = viewer.get(f"/orgs/{portal.org_a}")
    assert page.status_code == 200 and "Alpha Devices" in page.text
    assert "Imaging viewer" not in page.text  # org B's product never shows on org A's dashboard
    assert "Continue the questionnaire" not in page.text  # a viewer cannot answer


def test_dashboard_assessment_in_progress(portal) -> None:  # type: ignore[no-untyped-def]
    bank = load_bank()
    with portal.store.session() as s:
        org = s.get(Organisation, portal.org_a)
        assert org is not None
        started = assess_svc.start_assessment(s, org)
        for q in bank.questions[:12]:
            assess_svc.save_answer(s, started, Answer(question_id=q.id, level=2))
        aid = started.id
    client = portal.client()
    login(client, "a_assessor")
    html = client.get(f"/orgs/{portal.org_a}").text
    assert f"12 of {len(bank.questions)} questions answered" in html
    assert "Continue the questionnaire" in html
    with portal.store.session() as s:
        overview = portfolio.maturity(s, s.get(Organisation, portal.org_a))  # type: ignore[arg-type]
        assert overview.in_progress is not None and overview.in_progress.assessment.id == aid
        assert overview.latest is not None and overview.latest.id == portal.ids["a_assessment"]


# --- the aggregates on known data ---------------------------------------------------------------------


def _component(i: int, *, eos: str | None = None, level: str | None = None) -> dict[str, Any]:
    props = []
    if eos is not None:
        props.append({"name": "End-of-Support", "value": eos})
    if level is not None:
        props.append({"name": "Level of Support", "value": level})
    c: dict[str, Any] = {"type": "library", "bom-ref": f"c{i}", "name": f"lib{i}", "version": "1.0"}
    if props:
        c["properties"] = props
    return c


def _sbom(name: str, comps: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "metadata": {"component": {"type": "device", "name": name, "bom-ref": "device"}},
            "components": comps,
        }
    ).encode()


def _finding(
    vid: int, ref: str, vuln: str, severity: str, *, kev: bool = False, resolved: bool = False
) -> Any:
    now = dt.datetime(2026, 5, 1)
    return VersionFindingRow(
        product_version_id=vid,
        component_ref=ref,
        component_name=ref,
        vuln_id=vuln,
        severity=severity,
        kev=kev,
        status="affected",
        evidence="test",
        first_seen_at=now,
        resolved_at=now if resolved else None,
    )


def _seed(store: Store, org_name: str, extra_versions: int = 0) -> dict[str, int]:
    """Org with product P: v1 (4 criticals), v2 (1 KEV high, 1 low, 1 resolved critical), v3 (no SBOM);
    components with declared support around AS_OF."""
    with store.session() as s:
        org = assess_svc.get_or_create_organisation(s, org_name)
        v1 = prod_svc.import_sbom(
            s,
            "P",
            "1",
            _sbom(
                "P",
                [
                    _component(0, eos="2026-01-31"),  # past (date)
                    _component(1, level="No longer maintained"),  # past (level)
                    _component(2, eos="2026-09-30"),  # due, horizon of v1
                    _component(3, eos="2030-01-01"),
                    _component(4),
                ],
            ),
            organisation=org_name,
        ).version_id
        v2 = prod_svc.import_sbom(
            s,
            "P",
            "2",
            _sbom("P", [_component(0, eos="2027-03-31"), _component(5, eos="2028-01-01"), _component(6)]),
            organisation=org_name,
        ).version_id
        pv2 = s.get(ProductVersion, v2)
        assert pv2 is not None
        pv2.end_of_support = dt.date(2030, 1, 1)  # planned beyond its horizon: bounded
        product = prod_svc.find_product(s, "P", organisation=org_name)
        v3 = prod_svc.get_or_create_version(s, product, "3").id
        s.add_all([_finding(v1, f"c{i}", f"CVE-2026-000{i}", "critical") for i in range(4)])
        s.add_all(
            [
                _finding(v2, "c0", "CVE-2021-44228", "high", kev=True),
                _finding(v2, "c5", "CVE-2026-0100", "low"),
                _finding(v2, "c6", "CVE-2026-0101", "critical", resolved=True),
            ]
        )
        for k in range(extra_versions):
            vid = prod_svc.import_sbom(
                s,
                "P",
                f"x{k}",
                _sbom("P", [_component(0, eos="2027-06-30"), _component(7)]),
                organisation=org_name,
            ).version_id
            s.add(_finding(vid, "c7", "CVE-2026-0200", "medium"))
        s.flush()
        return {"org": org.id, "v1": v1, "v2": v2, "v3": v3}


def test_portfolio_aggregates_known_data(store: Store) -> None:
    a = _seed(store, "Known A")
    _seed(store, "Known B", extra_versions=3)  # another tenant's rows must not count
    with store.session() as s:
        c = portfolio.counts(s, a["org"])
        assert (c.products, c.versions, c.versions_with_sbom, c.sboms, c.components) == (1, 3, 2, 2, 8)

        f = portfolio.findings(s, a["org"])
        assert f.open == 6 and f.kev == 1 and f.versions_affected == 2 and f.versions_with_kev == 1
        assert f.conditional == 0
        assert f.by_severity == {"critical": 4, "high": 1, "medium": 0, "low": 1, "none": 0, "unknown": 0}

        risk = portfolio.riskiest_versions(s, a["org"])
        # KEV first: v2 (1 KEV, 0 open criticals) outranks v1 (4 criticals); v3 has no findings
        assert [r.version_id for r in risk] == [a["v2"], a["v1"]]
        assert (risk[0].kev, risk[0].high, risk[0].low, risk[0].open) == (1, 1, 1, 2)
        assert (risk[1].critical, risk[1].open) == (4, 4)
        assert [r.version_id for r in portfolio.riskiest_versions(s, a["org"], limit=1)] == [a["v2"]]

        sup = portfolio.support(s, a["org"], as_of=AS_OF)
        assert (sup.past, sup.past_versions) == (2, 1)  # c0 by date and c1 by level, both in v1
        # due by 2027-06-01: v1's c2 (2026-09-30) and v2's c0 (2027-03-31)
        assert (sup.due, sup.due_versions, sup.dated) == (2, 2, 5)
        assert sup.horizon == dt.date(2026, 9, 30)
        assert [(h.version_id, h.horizon, h.components) for h in sup.nearest] == [
            (a["v1"], dt.date(2026, 9, 30), ["lib2 1.0"]),
            (a["v2"], dt.date(2027, 3, 31), ["lib0 1.0"]),
        ]
        assert sup.versions_with_horizon == 2 and sup.versions_bounded == 1
        assert sup.nearest[1].bounds_device and not sup.nearest[0].bounds_device
        assert {(u.name, u.versions) for u in sup.top_unsupported} == {("lib0", 1), ("lib1", 1)}


def test_portfolio_queries_do_not_grow_with_versions(store: Store) -> None:
    small = _seed(store, "Small")
    large = _seed(store, "Large", extra_versions=25)

    def statements(org_id: int) -> tuple[int, portfolio.Portfolio]:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        event.listen(store.engine, "before_cursor_execute", count)
        try:
            with store.session() as s:
                result = portfolio.overview(s, org_id, as_of=AS_OF)
        finally:
            event.remove(store.engine, "before_cursor_execute", count)
        return len(seen), result

    n_small, _ = statements(small["org"])
    n_large, big = statements(large["org"])
    assert big.counts.versions == 28 and big.findings.by_severity["medium"] == 25
    assert n_small == n_large, "the dashboard's queries must not depend on the number of versions"
    assert n_large <= 12


def test_dashboard_without_portfolio_or_assessment(store: Store) -> None:
    """An organisation with nothing yet: the aggregates are zero and empty, not errors."""
    with store.session() as s:
        org = assess_svc.get_or_create_organisation(s, "Empty")
        o = portfolio.overview(s, org.id, as_of=AS_OF)
        m = portfolio.maturity(s, org)
    assert o.counts == portfolio.PortfolioCounts(0, 0, 0, 0, 0)
    assert o.findings.open == 0 and o.riskiest == [] and o.support.nearest == []
    assert o.support.horizon is None and o.support.past == 0
    assert m.latest is None and m.score is None and m.position is None and m.in_progress is None


def test_one_year_after() -> None:
    assert portfolio.one_year_after(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)
    assert portfolio.one_year_after(dt.date(2026, 12, 6)) == dt.date(2027, 12, 6)


def test_cached_overview_follows_every_change(store: Store) -> None:
    a = _seed(store, "Cached A")

    def view() -> portfolio.Portfolio:
        with store.session() as s:
            return portfolio.cached_overview(s, a["org"], as_of=AS_OF)

    first = view()
    assert view() is first  # nothing changed: the same computed overview
    with store.session() as s:  # an SBOM imported (an audited change of the organisation's inventory)
        doc = _sbom("P", [_component(8, eos="2026-07-01")])
        prod_svc.import_sbom(s, "P", "3", doc, organisation="Cached A")
    second = view()
    assert second.counts.sboms == first.counts.sboms + 1 and second.support.horizon == dt.date(2026, 7, 1)
    with store.session() as s:  # the device's planned end of support edited
        pv = s.get(ProductVersion, a["v1"])
        assert pv is not None
        pv.end_of_support = dt.date(2031, 1, 1)
    third = view()
    assert third.support.versions_bounded == second.support.versions_bounded + 1
    with store.session() as s:  # a match run that opens a finding
        run = MatchRunRow(started_at=dt.datetime(2026, 6, 1), generation=0, trigger="manual")
        s.add(run)
        s.flush()
        s.add(_finding(a["v3"], "c8", "CVE-2026-0300", "high", kev=True))
    fourth = view()
    assert fourth.findings.open == third.findings.open + 1 and fourth.findings.kev == 2
    assert [r.version_id for r in fourth.riskiest] == [a["v2"], a["v3"], a["v1"]]
    with store.session() as s:  # another day: computed again
        assert portfolio.cached_overview(s, a["org"], as_of=AS_OF + dt.timedelta(days=1)) is not fourth
