"""Monitoring: findings stored per device version, incremental re-matching, "new since last run" and
"which device versions does this advisory affect" -- on a real store (SQLite and PostgreSQL) filled by the
real importers with PyPA advisories and NVD records, and real SBOM imports."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from medcyber.cli.main import app as main_app
from medcyber.services import monitoring, products, vulndb
from medcyber.store import Store
from medcyber.store.models import Base, MatchRunRow, VersionFindingIdRow, VersionFindingRow
from medcyber.vulns.matcher import load_index, scan_sbom

MONITOR_TABLES = {
    "match_runs",
    "monitored_versions",
    "version_packages",
    "version_findings",
    "version_finding_ids",
}
PACKAGES = ("django", "pyyaml")
runner = CliRunner()


def _component(name: str, version: str, **extra: Any) -> dict[str, Any]:
    return {"type": "library", "bom-ref": f"{name}@{version}", "name": name, "version": version, **extra}


def _pypi(name: str, version: str) -> dict[str, Any]:
    return _component(name, version, purl=f"pkg:pypi/{name}@{version}")


def _zlib(version: str) -> dict[str, Any]:
    return _component("zlib", version, cpe=f"cpe:2.3:a:zlib:zlib:{version}:*:*:*:*:*:*:*")


def _cdx(device: str, components: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "metadata": {"component": {"type": "device", "name": device, "bom-ref": "device"}},
            "components": components,
        }
    ).encode()


V1 = [_pypi("django", "3.2.10"), _pypi("PyYAML", "5.3"), _zlib("1.2.11")]
V2 = [_pypi("django", "4.2.0"), _pypi("pyyaml", "5.4"), _zlib("1.2.13")]


@pytest.fixture
def osv_dir(shared_data: Path, tmp_path: Path) -> Path:
    """A copy of the PyPA records of the packages the SBOMs use (the tests modify some)."""
    dest = tmp_path / "osv"
    for pkg in PACKAGES:
        shutil.copytree(shared_data / "osv" / "pypi" / "vulns" / pkg, dest / pkg)
    return dest


@pytest.fixture
def fleet(
    store: Store, shared_data: Path, osv_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Store:
    monkeypatch.setenv("MEDCYBER_HOME", str(tmp_path / "home"))
    with store.session() as s:
        assert vulndb.import_osv(s, [osv_dir]).problems == []
        vulndb.import_nvd(s, [shared_data / "nvd" / "cves"])
        products.import_sbom(s, "Infusion pump", "1.0", _cdx("Infusion pump", V1), name="pump-1.0.cdx.json")
        products.import_sbom(s, "Infusion pump", "2.0", _cdx("Infusion pump", V2), name="pump-2.0.cdx.json")
    return store


def _rows(store: Store) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """Every stored finding: (version, component, vuln id) -> all its columns."""
    with store.session() as s:
        out = {}
        for f, version in s.execute(
            select(VersionFindingRow, monitoring.ProductVersion.version).join(
                monitoring.ProductVersion,
                monitoring.ProductVersion.id == VersionFindingRow.product_version_id,
            )
        ):
            cols = tuple(getattr(f, c.key) for c in VersionFindingRow.__table__.columns)
            out[(version, f.component_name, f.vuln_id)] = cols
        return out


def _open(store: Store) -> set[tuple[str, str, str]]:
    with store.session() as s:
        return {
            (f.version, f.component, f.vuln_id)
            for f in monitoring._stored(
                s.execute(monitoring._stored_select().where(VersionFindingRow.resolved_at.is_(None)))
            )
        }


def _modified_copy(src: Path, dest: Path, edit: Any) -> Path:
    data = yaml.safe_load(src.read_text())
    edit(data)
    data["modified"] = "2030-01-01T00:00:00Z"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(data))
    return dest


def _no_longer_affects_53(data: dict[str, Any]) -> None:
    (aff,) = data["affected"]
    aff["ranges"][0]["events"] = [{"introduced": "5.1"}, {"fixed": "5.3"}]
    aff["versions"] = [v for v in aff["versions"] if v != "5.3"]


NEW_DJANGO = {
    "id": "PYSEC-2099-1",
    "modified": "2030-01-02T00:00:00Z",
    "published": "2030-01-02T00:00:00Z",
    "aliases": ["CVE-2099-10001", "GHSA-test-test-test"],
    "summary": "A test advisory for Django 3.2 before 3.2.99",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "Django"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "3.2"}, {"fixed": "3.2.99"}]}],
        }
    ],
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
}


# ------------------------------------------------------------------------------------------- schema


def test_migration_0004_up_down_and_matches_the_models(store: Store) -> None:
    assert store.current_revision() == store.head_revision()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if any(t in repr(d) for t in MONITOR_TABLES)] == []
    store.downgrade("0003")
    assert not MONITOR_TABLES & set(inspect(store.engine).get_table_names())
    store.upgrade("head")
    assert set(inspect(store.engine).get_table_names()) >= MONITOR_TABLES


# --------------------------------------------------------------------------------------------- runs


def test_full_run_stores_what_a_scan_reports(fleet: Store) -> None:
    with fleet.session() as s:
        summary = monitoring.run_full(s)
        assert summary.run_id is not None and summary.trigger == "full" and summary.versions_matched == 2
        index = load_index(s)
        expected = set()
        for version in ("1.0", "2.0"):
            sbom = products.version_sbom(s, "Infusion pump", version)
            scan = scan_sbom(sbom, index, as_of=dt.date(2025, 6, 1), lifecycle=False)
            expected |= {(version, f.name, f.id) for f in scan.findings}
        new = monitoring.new_findings(s)
    assert _open(fleet) == expected and summary.new_findings == len(expected)
    assert {(f.version, f.component, f.vuln_id) for f in new} == expected
    assert summary.versions_with_new == 2 and summary.resolved_findings == 0
    # the real advisories the issue names: PyYAML 5.3, Django 3.2.10, zlib 1.2.11 by CPE
    assert ("1.0", "PyYAML", "CVE-2020-1747") in expected
    assert ("1.0", "zlib", "CVE-2018-25032") in expected and ("2.0", "zlib", "CVE-2018-25032") not in expected
    assert ("1.0", "zlib", "CVE-2022-37434") in expected
    assert any(v == "1.0" and c == "django" for v, c, _ in expected)
    zlib = next(f for f in new if f.vuln_id == "CVE-2018-25032")
    assert zlib.cpe and "zlib" in zlib.cpe and zlib.evidence and zlib.nearest_fix == "1.2.12"


@pytest.mark.parametrize("query", ["CVE-2020-1747", "PYSEC-2020-96", "GHSA-6757-jp84-gxfx"])
def test_affected_by_any_alias(fleet: Store, query: str) -> None:
    with fleet.session() as s:
        monitoring.run_full(s)
        found = monitoring.affected(s, query)
    assert [(f.product, f.version, f.component, f.vuln_id) for f in found] == [
        ("Infusion pump", "1.0", "PyYAML", "CVE-2020-1747")
    ]
    # the PyPA record has no CVSS vector and the NVD subset has no record of this CVE
    assert found[0].status == "affected" and found[0].severity == "unknown" and not found[0].kev
    assert found[0].nearest_fix == "5.3.1" and found[0].first_seen_at is not None


def test_every_id_and_alias_is_indexed(fleet: Store) -> None:
    with fleet.session() as s:
        monitoring.run_full(s)
        ids = set(
            s.scalars(
                select(VersionFindingIdRow.vuln_id)
                .join(VersionFindingRow, VersionFindingRow.id == VersionFindingIdRow.finding_id)
                .where(VersionFindingRow.vuln_id == "CVE-2020-1747")
            )
        )
    assert {"CVE-2020-1747", "PYSEC-2020-96", "GHSA-6757-jp84-gxfx"} <= ids


def test_rerun_without_changes_finds_nothing_new(fleet: Store) -> None:
    with fleet.session() as s:
        first = monitoring.run_full(s)
    before = _rows(fleet)
    with fleet.session() as s:
        again = monitoring.run_full(s)
        inc = monitoring.run_incremental(s, [], trigger="manual")
        mon = monitoring.monitor(s)
        assert monitoring.new_findings(s) == []
    assert (again.new_findings, again.resolved_findings) == (0, 0)
    assert (inc.new_findings, inc.resolved_findings, inc.versions_matched) == (0, 0, 0)
    assert (mon.new_findings, mon.resolved_findings, mon.versions_matched) == (0, 0, 0)
    after = _rows(fleet)
    assert after.keys() == before.keys() and first.new_findings == len(before)
    # seen again in the full run: only last_run_id moved
    last_col = [c.key for c in VersionFindingRow.__table__.columns].index("last_run_id")
    assert all(after[k][last_col] == again.run_id for k in after)


def test_modified_advisory_resolves_exactly_that_finding(fleet: Store, osv_dir: Path, tmp_path: Path) -> None:
    with fleet.session() as s:
        monitoring.run_full(s)
    before = _rows(fleet)
    changed = _modified_copy(
        osv_dir / "pyyaml" / "PYSEC-2020-96.yaml",
        tmp_path / "changed" / "PYSEC-2020-96.yaml",
        _no_longer_affects_53,
    )
    with fleet.session() as s:
        report = vulndb.import_osv(s, [changed])
        assert report.changed_ids == ["PYSEC-2020-96"]
        summary = monitoring.run_incremental(s, report.changed_ids, trigger="import")
    assert (summary.new_findings, summary.resolved_findings) == (0, 1)
    assert summary.advisories_considered == 1  # PYSEC-2020-96: no other stored record shares its ids
    assert summary.versions_matched == 2  # both versions have a pyyaml component: candidates
    after = _rows(fleet)
    key = ("1.0", "PyYAML", "CVE-2020-1747")
    cols = [c.key for c in VersionFindingRow.__table__.columns]
    resolved = dict(zip(cols, after[key], strict=True))
    assert resolved["resolved_at"] is not None and resolved["resolved_run_id"] == summary.run_id
    assert {k: v for k, v in after.items() if k != key} == {k: v for k, v in before.items() if k != key}
    with fleet.session() as s:
        assert monitoring.affected(s, "GHSA-6757-jp84-gxfx") == []
        assert [
            f.resolved_at is not None for f in monitoring.affected(s, "CVE-2020-1747", include_resolved=True)
        ] == [True]
        # the incremental result is the full result: a full run now changes nothing
        full = monitoring.run_full(s)
    assert (full.new_findings, full.resolved_findings) == (0, 0)


def test_new_advisory_appears_in_new_and_reopens_after_a_fix_is_reverted(
    fleet: Store, osv_dir: Path, tmp_path: Path
) -> None:
    with fleet.session() as s:
        monitoring.run_full(s)
    path = tmp_path / "new" / "PYSEC-2099-1.json"
    path.parent.mkdir()
    path.write_text(json.dumps(NEW_DJANGO))
    with fleet.session() as s:
        report = vulndb.import_osv(s, [path])
        summary = monitoring.run_incremental(s, report.changed_ids, trigger="import")
        new = monitoring.new_findings(s)
        again = monitoring.run_incremental(s, report.changed_ids, trigger="import")
    assert (summary.new_findings, summary.versions_with_new, summary.resolved_findings) == (1, 1, 0)
    assert summary.versions_matched == 2  # both versions have django; 4.2.0 is not affected
    (f,) = new
    assert (f.product, f.version, f.component, f.component_version, f.vuln_id) == (
        "Infusion pump",
        "1.0",
        "django",
        "3.2.10",
        "CVE-2099-10001",
    )
    assert f.severity == "critical" and f.score == 9.8 and not f.kev and f.nearest_fix == "3.2.99"
    assert (again.new_findings, again.resolved_findings) == (0, 0)
    with fleet.session() as s:
        assert [x.version for x in monitoring.affected(s, "GHSA-test-test-test")] == ["1.0"]
        assert monitoring.new_findings(s) == []  # the latest run opened nothing
        assert [x.vuln_id for x in monitoring.new_findings(s, run_id=summary.run_id)] == ["CVE-2099-10001"]


def test_changed_preferred_id_renames_the_finding(fleet: Store, tmp_path: Path) -> None:
    record = {**NEW_DJANGO, "id": "PYSEC-2099-2", "aliases": ["GHSA-only-only-only"]}
    path = tmp_path / "a" / "PYSEC-2099-2.json"
    path.parent.mkdir()
    path.write_text(json.dumps(record))
    with fleet.session() as s:
        vulndb.import_osv(s, [path])
        monitoring.run_full(s)
        (first,) = monitoring.affected(s, "PYSEC-2099-2")
    assert first.vuln_id == "PYSEC-2099-2"
    # a GHSA record links it to a CVE: the preferred id becomes the CVE, the finding keeps its history
    ghsa = {
        **NEW_DJANGO,
        "id": "GHSA-only-only-only",
        "aliases": ["CVE-2099-20002"],
        "modified": "2030-02-01T00:00:00Z",
    }
    path2 = tmp_path / "b" / "GHSA-only-only-only.json"
    path2.parent.mkdir()
    path2.write_text(json.dumps(ghsa))
    with fleet.session() as s:
        report = vulndb.import_osv(s, [path2])
        summary = monitoring.run_incremental(s, report.changed_ids, trigger="import")
        (renamed,) = monitoring.affected(s, "PYSEC-2099-2")
    assert (summary.new_findings, summary.resolved_findings) == (0, 0)
    assert renamed.vuln_id == "CVE-2099-20002" and renamed.finding_id == first.finding_id
    assert renamed.first_seen_at == first.first_seen_at


def test_monitor_matches_new_sbom_versions_and_changes_since_the_last_run(
    fleet: Store, tmp_path: Path
) -> None:
    with fleet.session() as s:
        assert monitoring.monitor(s).trigger == "full"
        products.import_sbom(
            s, "Infusion pump", "3.0", _cdx("Infusion pump", [_pypi("PyYAML", "5.3")]), name="3.cdx"
        )
        assert len(monitoring.pending_versions(s)) == 1
    path = tmp_path / "n" / "PYSEC-2099-1.json"
    path.parent.mkdir()
    path.write_text(json.dumps(NEW_DJANGO))
    with fleet.session() as s:
        vulndb.import_osv(s, [path])  # imported without re-matching (as a library caller may do)
        summary = monitoring.monitor(s)
        new = {(f.version, f.component, f.vuln_id) for f in monitoring.new_findings(s)}
        assert monitoring.pending_versions(s) == []
    assert summary.trigger == "manual"
    assert ("1.0", "django", "CVE-2099-10001") in new
    assert {v for v, _, _ in new} == {"1.0", "3.0"} and ("3.0", "PyYAML", "CVE-2020-1747") in new
    with fleet.session() as s:
        runs = s.scalars(select(MatchRunRow).order_by(MatchRunRow.id)).all()
        assert [r.trigger for r in runs] == ["full", "manual"]


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_monitor_affected_new_and_import(fleet: Store, tmp_path: Path) -> None:
    def cli(*args: str) -> Any:
        return runner.invoke(main_app, ["--database", fleet.url, *args], catch_exceptions=False)

    r = cli("vulns", "new")
    assert r.exit_code == 1 and "no match run" in r.stderr
    r = cli("vulns", "monitor", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["run"]["trigger"] == "full" and data["run"]["new_findings"] == len(data["new"]) > 0
    r = cli("vulns", "affected", "GHSA-6757-jp84-gxfx", "--json")
    assert r.exit_code == 0, r.output
    aff = json.loads(r.stdout)
    assert aff["versions"] == 1 and [(a["version"], a["vuln_id"]) for a in aff["affected"]] == [
        ("1.0", "CVE-2020-1747")
    ]
    r = cli("vulns", "affected", "CVE-2020-1747")
    assert r.exit_code == 0 and "CVE-2020-1747" in r.stdout and "PyYAML 5.3" in r.stdout
    r = cli("vulns", "affected", "CVE-1999-99999")
    assert r.exit_code == 1 and "no advisory" in r.stderr
    path = tmp_path / "cli" / "PYSEC-2099-1.json"
    path.parent.mkdir()
    path.write_text(json.dumps(NEW_DJANGO))
    r = cli("vulns", "import", "osv", str(path))
    assert r.exit_code == 0 and "1 new finding(s) in 1 device version(s)" in r.stdout
    r = cli("vulns", "new", "--json")
    new = json.loads(r.stdout)
    assert [(n["version"], n["component"], n["vuln_id"]) for n in new["new"]] == [
        ("1.0", "django", "CVE-2099-10001")
    ]
    r = cli("vulns", "import", "osv", str(path), "--json")
    assert json.loads(r.stdout)["monitoring"]["new_findings"] == 0
    r = cli("vulns", "monitor")
    assert r.exit_code == 0 and "0 new finding(s)" in r.stdout
    r = cli("vulns", "new", "--run", "2", "--json")
    assert [n["vuln_id"] for n in json.loads(r.stdout)["new"]] == ["CVE-2099-10001"]
