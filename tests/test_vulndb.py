"""The vulnerability store on SQLite and PostgreSQL: idempotent imports, atomic failures, fast reads."""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest
import typer
import yaml
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from typer.testing import CliRunner

from medcyber.cli import common
from medcyber.cli import vulns as vulns_cli
from medcyber.services import vulndb
from medcyber.services.errors import NotFoundError
from medcyber.store import Store
from medcyber.store.models import AdvisoryRow, Base, EpssRow, KevRow, VulnImportRow
from medcyber.vulns.sources.osv import read_osv

EPSS_TEST = Path(__file__).parent / "data" / "epss" / "epss_scores-test.csv.gz"
VULN_TABLES = {
    "advisories",
    "advisory_aliases",
    "advisory_packages",
    "advisory_cpes",
    "kev",
    "epss",
    "vuln_imports",
    "vuln_sync_state",
    "db_generation",
}


def _count(store: Store, model: type) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_migration_0003_up_down_and_matches_the_models(store: Store) -> None:
    assert store.current_revision() == store.head_revision()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if any(t in repr(d) for t in VULN_TABLES)] == []
    store.downgrade("0002")
    assert not VULN_TABLES & set(inspect(store.engine).get_table_names())
    store.upgrade("0003")
    assert set(inspect(store.engine).get_table_names()) >= VULN_TABLES
    with store.session() as s:
        assert vulndb.db_generation(s) == 0


def test_pypa_import_is_idempotent_and_loads_back_fast(store: Store, shared_data: Path) -> None:
    pypa = shared_data / "osv/pypi/vulns"
    with store.session() as s:
        report = vulndb.import_osv(s, [pypa])
        assert (report.read, report.added, report.updated, report.unchanged) == (2661, 2661, 0, 0)
        assert report.withdrawn == 10 and report.problems == [] and len(report.changed_ids) == 2661
        gen = vulndb.db_generation(s)
    assert gen == 1
    with store.session() as s:
        again = vulndb.import_osv(s, [pypa])
        assert (again.added, again.updated, again.unchanged, again.changed_ids) == (0, 0, 2661, [])
        assert vulndb.db_generation(s) == gen  # nothing changed: the matcher keeps its index
    expected = {p.value.id: p.value for p in read_osv([pypa]) if p.value}
    with store.session() as s:
        start = time.perf_counter()
        loaded = vulndb.load_advisories(s)
        elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    assert {a.id: a for a in loaded} == expected
    with store.session() as s:
        assert len(vulndb.load_advisories(s, ecosystems=["PyPI"])) == 2661
        assert vulndb.load_advisories(s, ecosystems=["npm"]) == []
        assert [a.id for a in vulndb.load_advisories(s, ids=["PYSEC-2021-76", "NOPE"])] == ["PYSEC-2021-76"]
        by_alias = vulndb.advisories_by_ids(s, ["GHSA-v6wp-4m6f-gcjg"])
        assert [a.id for a in by_alias] == ["PYSEC-2021-76"]
        assert vulndb.advisories_by_ids(s, ["GHSA-v6wp-4m6f-gcjg"], aliases=False) == []
        ids = vulndb.advisory_ids_for_package(s, "PyPI", "AIOHTTP")
        assert "PYSEC-2021-76" in ids and all(i.startswith("PYSEC-") for i in ids)
        assert vulndb.advisory_ids_for_package(
            s, "PyPI", "aiohttp_session"
        ) == vulndb.advisory_ids_for_package(s, "PyPI", "aiohttp-session")
        row = s.scalar(select(AdvisoryRow).where(AdvisoryRow.id == "PYSEC-2021-76"))
        assert row.location == str(pypa / "aiohttp/PYSEC-2021-76.yaml") and len(row.sha256) == 64


def _copy_records(shared_data: Path, dest: Path, names: list[str]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(shared_data / "osv/pypi/vulns/aiohttp" / name, dest / name)


def test_changed_and_older_records(store: Store, shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "osv"
    _copy_records(shared_data, folder, ["PYSEC-2021-76.yaml", "PYSEC-2023-120.yaml"])
    with store.session() as s:
        vulndb.import_osv(s, [folder])
        gen = vulndb.db_generation(s)
    rec = yaml.safe_load((folder / "PYSEC-2021-76.yaml").read_text())
    rec["modified"] = "2025-01-01T00:00:00Z"
    rec["aliases"] = ["CVE-2021-21330", "GHSA-TEST-ALIAS"]
    (folder / "PYSEC-2021-76.yaml").write_text(yaml.safe_dump(rec))
    with store.session() as s:
        report = vulndb.import_osv(s, [folder])
        assert (report.updated, report.unchanged, report.changed_ids) == (1, 1, ["PYSEC-2021-76"])
        assert vulndb.db_generation(s) == gen + 1
        assert [a.id for a in vulndb.advisories_by_ids(s, ["GHSA-TEST-ALIAS"])] == ["PYSEC-2021-76"]
        assert vulndb.advisories_by_ids(s, ["GHSA-v6wp-4m6f-gcjg"]) == []
    # an older copy of the same record does not overwrite the newer one
    rec["modified"] = "2020-01-01T00:00:00Z"
    rec["details"] = "stale"
    (folder / "PYSEC-2021-76.yaml").write_text(yaml.safe_dump(rec))
    with store.session() as s:
        report = vulndb.import_osv(s, [folder])
        assert (report.updated, report.older) == (0, 1)
        (adv,) = vulndb.load_advisories(s, ids=["PYSEC-2021-76"])
        assert adv.details != "stale" and adv.modified.year == 2025


def test_malformed_records_are_listed_and_the_rest_imported(
    store: Store, shared_data: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "osv"
    _copy_records(shared_data, folder, ["PYSEC-2021-76.yaml", "PYSEC-2023-120.yaml"])
    (folder / "bad.yaml").write_text("id: BAD-1\nmodified: 2023-01-01T00:00:00Z\ndetails: [oops\n")
    (folder / "noid.json").write_text(json.dumps({"modified": "2023-01-01T00:00:00Z"}))
    with store.session() as s:
        report = vulndb.import_osv(s, [folder])
    assert (report.read, report.added, len(report.problems)) == (2, 2, 2)
    assert {Path(p.location).name for p in report.problems} == {"bad.yaml", "noid.json"}
    with store.session() as s:
        log = s.scalars(select(VulnImportRow)).one()
        assert (log.read, log.added, log.problem_count) == (2, 2, 2)


def test_a_corrupted_archive_leaves_the_store_as_it_was(
    store: Store, shared_data: Path, tmp_path: Path
) -> None:
    with store.session() as s:
        vulndb.import_osv(s, [shared_data / "osv/pypi/vulns/aiohttp"])
    before = (_count(store, AdvisoryRow), _count(store, VulnImportRow))
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted((shared_data / "osv/pypi/vulns").rglob("*.yaml"))[:600]:
            zf.writestr(
                f.name.replace(".yaml", ".json"), json.dumps(yaml.safe_load(f.read_text()), default=str)
            )
    data = archive.read_bytes()
    archive.write_bytes(data[: int(len(data) * 0.9)])  # truncated: no central directory
    with pytest.raises(vulndb.VulnImportError, match="nothing was imported"), store.session() as s:
        vulndb.import_osv(s, [shared_data / "osv/pypi/vulns/django", archive])
    assert (_count(store, AdvisoryRow), _count(store, VulnImportRow)) == before
    # a bad CRC deep in the archive, after records of the same import were already written in the session
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for f in sorted((shared_data / "osv/pypi/vulns").rglob("*.yaml"))[:600]:
            zf.writestr(
                f.name.replace(".yaml", ".json"), json.dumps(yaml.safe_load(f.read_text()), default=str)
            )
    raw = bytearray(archive.read_bytes())
    raw[int(len(raw) * 0.8)] ^= 0x20
    archive.write_bytes(bytes(raw))
    with pytest.raises(vulndb.VulnImportError), store.session() as s:
        vulndb.import_osv(s, [archive])
    assert (_count(store, AdvisoryRow), _count(store, VulnImportRow)) == before
    with store.session() as s:
        assert vulndb.db_generation(s) == 1


def test_nvd_kev_epss_and_show(store: Store, shared_data: Path, tmp_path: Path) -> None:
    with store.session() as s:
        nvd = vulndb.import_nvd(s, [shared_data / "nvd/cves", shared_data / "nvd/api-page-example.json"])
        # the page repeats three records of the folder: read twice, stored once, no problem
        assert (nvd.read, nvd.added, nvd.unchanged, nvd.problems) == (38, 35, 3, [])
        assert vulndb.advisory_ids_for_cpe(s, "treck", "tcp/ip") == [
            "CVE-2020-11896",
            "CVE-2020-11897",
            "CVE-2020-11898",
            "CVE-2020-11901",
        ]
        # a platform of a "running on" condition is not a vulnerable product
        assert "CVE-2017-0144" not in vulndb.advisory_ids_for_cpe(s, "microsoft", "windows_7")
        assert "CVE-2017-0144" in vulndb.advisory_ids_for_cpe(
            s, "microsoft", "windows_7", vulnerable_only=False
        )
        kev = vulndb.import_kev(s, shared_data / "kev/known_exploited_vulnerabilities.json")
        assert (kev.read, kev.added) == (1404, 1404)
        epss = vulndb.import_epss(s, EPSS_TEST)
        assert (epss.read, epss.added, epss.problems) == (235, 235, [])
    with store.session() as s:
        index = vulndb.kev_index(s)
        assert len(index) == 1404 and index["CVE-2017-0144"].date_added.year == 2022
        scores = vulndb.epss_index(s)
        assert len(scores) == 235 and 0 <= scores["CVE-2017-0144"].epss <= 1
        assert set(vulndb.epss_index(s, ["CVE-2017-0144", "CVE-1999-0001"])) == {"CVE-2017-0144"}
        (shown,) = vulndb.show(s, "CVE-2017-0144")
        assert shown.advisory.source == "nvd" and [k.cve_id for k in shown.kev] == ["CVE-2017-0144"]
        assert [e.cve_id for e in shown.epss] == ["CVE-2017-0144"]
        with pytest.raises(NotFoundError):
            vulndb.show(s, "CVE-1999-0001")
        gen = vulndb.db_generation(s)
    # the same KEV and EPSS again: nothing changes; a catalogue without an entry removes it
    doc = json.loads((shared_data / "kev/known_exploited_vulnerabilities.json").read_text())
    doc["vulnerabilities"] = [v for v in doc["vulnerabilities"] if v["cveID"] != "CVE-2017-0144"]
    doc["vulnerabilities"][0]["dueDate"] = "2030-01-01"
    smaller = tmp_path / "kev.json"
    smaller.write_text(json.dumps(doc))
    with store.session() as s:
        assert vulndb.import_epss(s, EPSS_TEST).unchanged == 235
        assert (
            vulndb.import_kev(s, shared_data / "kev/known_exploited_vulnerabilities.json").unchanged == 1404
        )
        assert vulndb.db_generation(s) == gen
        report = vulndb.import_kev(s, smaller)
        assert (report.updated, report.removed, report.unchanged) == (1, 1, 1402)
        assert "CVE-2017-0144" not in vulndb.kev_index(s)
    assert _count(store, KevRow) == 1403 and _count(store, EpssRow) == 235


# --- the command line ----------------------------------------------------------------------------

runner = CliRunner()
root = typer.Typer()


@root.callback()
def _root() -> None:
    common.state.database_url = os.environ.get("MEDCYBER_DATABASE_URL")


root.add_typer(vulns_cli.app, name="vulns")


@pytest.fixture
def cli(store: Store):  # type: ignore[no-untyped-def]
    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(
            root, list(args), env={"MEDCYBER_DATABASE_URL": store.url}, catch_exceptions=False
        )

    return invoke


def test_cli_import_stats_show(cli, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "osv"
    _copy_records(shared_data, folder, ["PYSEC-2021-76.yaml"])
    (folder / "bad.yaml").write_text("id: [\n")
    result = cli("vulns", "import", "osv", str(folder), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (report,) = data["reports"]
    assert (report["read"], report["added"], len(report["problems"])) == (1, 1, 1)
    assert report["problems"][0]["location"].endswith("bad.yaml") and data["generation"] == 1
    result = cli("vulns", "import", "osv", str(folder))
    assert result.exit_code == 0 and "bad.yaml" in result.stderr and "invalid YAML" in result.stderr
    assert (
        cli("vulns", "import", "kev", str(shared_data / "kev/known_exploited_vulnerabilities.json")).exit_code
        == 0
    )
    assert cli("vulns", "import", "epss", str(EPSS_TEST)).exit_code == 0
    stats = json.loads(cli("vulns", "stats", "--json").stdout)
    assert (
        stats["advisories"]["osv"] == 1 and stats["kev"]["entries"] == 1404 and stats["epss"]["scores"] == 235
    )
    shown = cli("vulns", "show", "CVE-2021-21330")
    assert shown.exit_code == 0 and "PYSEC-2021-76" in shown.stdout and "aiohttp" in shown.stdout
    missing = cli("vulns", "show", "CVE-1999-0001")
    assert missing.exit_code == 1 and "no advisory" in missing.stderr


def test_cli_failed_import_exits_1_cleanly(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "all.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    result = cli("vulns", "import", "osv", str(bad))
    assert result.exit_code == 1
    assert "corrupted zip" in result.stderr and "Traceback" not in result.output + result.stderr
    result = cli("vulns", "import", "nvd", str(tmp_path / "missing.json"))
    assert result.exit_code == 1 and "no such file" in result.stderr
    stats = json.loads(cli("vulns", "stats", "--json").stdout)
    assert stats["advisories"] == {"osv": 0, "nvd": 0} and stats["recent_imports"] == []
