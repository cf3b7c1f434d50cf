"""`medcyber scan`: a real store (SQLite and PostgreSQL) filled by the importers, real SBOMs, every format."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from medcyber.cli.scan import scan
from medcyber.services import vulndb
from medcyber.store import Store

runner = CliRunner()
PYPI_PACKAGES = ("django", "jinja2", "pyyaml", "requests", "urllib3")


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:  # a group, so the command is invoked as "scan" as under `medcyber`
        pass

    app.command("scan")(scan)
    return app


APP = _app()


def _cdx(components: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"component": {"type": "device", "name": "Infusion pump", "bom-ref": "device"}},
        "components": components,
    }


def _pypi(name: str, version: str) -> dict[str, Any]:
    return {
        "type": "library",
        "bom-ref": f"{name}@{version}",
        "name": name,
        "version": version,
        "purl": f"pkg:pypi/{name}@{version}",
    }


PYPI_COMPONENTS: list[dict[str, Any]] = [
    _pypi("django", "3.2.0"),
    _pypi("Jinja2", "2.10"),
    _pypi("PyYAML", "5.3"),
    _pypi("requests", "2.19.1"),
    _pypi("urllib3", "1.26.16"),
    {"type": "library", "bom-ref": "mystery", "name": "in-house-lib", "version": "1.0"},
]
WINDOWS: dict[str, Any] = {
    "type": "operating-system",
    "bom-ref": "win7",
    "name": "Windows 7",
    "version": "SP1",
    "cpe": "cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:x64:*",
}


@pytest.fixture
def filled(store: Store, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MEDCYBER_HOME", str(tmp_path / "home"))
    osv = shared_data / "osv" / "pypi" / "vulns"
    epss = tmp_path / "epss.csv.gz"
    epss.write_bytes(
        gzip.compress(
            b"#model_version:v2025.03.14,score_date:2025-06-01T00:00:00+0000\n"
            b"cve,epss,percentile\nCVE-2019-0708,0.94467,0.99979\nCVE-2023-43804,0.00123,0.4567\n"
        )
    )
    with store.session() as session:
        vulndb.import_osv(session, [osv / p for p in PYPI_PACKAGES])
        vulndb.import_nvd(session, [shared_data / "nvd" / "cves"])
        vulndb.import_kev(session, shared_data / "kev" / "known_exploited_vulnerabilities.json")
        vulndb.import_epss(session, epss)
    return store.safe_url if "***" not in store.safe_url else str(store.engine.url)


@pytest.fixture
def sboms(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, comps in (("pypi", PYPI_COMPONENTS), ("with-windows", [*PYPI_COMPONENTS, WINDOWS])):
        p = tmp_path / f"{name}.cdx.json"
        p.write_text(json.dumps(_cdx(comps)), encoding="utf-8")
        out[name] = p
    return out


def _run(*args: str) -> tuple[int, str]:
    """Exit code and stdout + stderr."""
    r = runner.invoke(APP, ["scan", *args])
    return r.exit_code, r.output


def _json(*args: str) -> tuple[int, Any]:
    r = runner.invoke(APP, ["scan", *args, "--format", "json"])
    return r.exit_code, json.loads(r.stdout)


def test_json_output(filled: str, sboms: dict[str, Path]) -> None:
    code, data = _json(str(sboms["with-windows"]), "--database", filled, "--as-of", "2025-06-01")
    assert code == 0
    assert set(data) >= {"sbom", "findings", "not_evaluated", "stats"}
    by_id = {(f["name"], f["id"]): f for f in data["findings"]}
    f = by_id[("requests", "CVE-2018-18074")]
    for key in (
        "purl",
        "id",
        "aliases",
        "summary",
        "severity",
        "kev",
        "epss",
        "matched",
        "fixed",
        "nearest_fix",
    ):
        assert key in f
    assert f["purl"] == "pkg:pypi/requests@2.19.1" and f["nearest_fix"] == "2.20.0"
    assert "support_status" in f and "eol" in f
    u = by_id[("urllib3", "CVE-2023-43804")]
    assert u["severity"]["level"] == "high" and u["severity"]["score"] == 8.1
    assert u["epss"] == {
        "cve": "CVE-2023-43804",
        "score": 0.00123,
        "percentile": 0.4567,
        "date": "2025-06-01",
    }
    assert u["nearest_fix"] == "1.26.17"
    bk = by_id[("Windows 7", "CVE-2019-0708")]
    assert bk["kev"]["in_kev"] is True and bk["kev"]["date_added"] == "2021-11-03"
    assert bk["severity"]["level"] == "critical" and bk["epss"]["score"] == 0.94467
    assert bk["status"] == "affected" and bk["matched"][0].startswith("cpe:2.3:o:microsoft:windows_7:-:sp1")
    assert data["not_evaluated"] == [
        {
            "ref": "mystery",
            "name": "in-house-lib",
            "version": "1.0",
            "purl": None,
            "cpe": None,
            "reason": "no purl and no CPE",
        }
    ]
    assert data["stats"]["components"] == 7 and data["stats"]["kev"] >= 1
    # one finding per component per vulnerability
    keys = [(f["ref"], f["id"]) for f in data["findings"]]
    assert len(keys) == len(set(keys))


def test_sarif_shape(filled: str, sboms: dict[str, Path], tmp_path: Path) -> None:
    out_file = tmp_path / "scan.sarif"
    code, _ = _run(
        str(sboms["with-windows"]), "--format", "sarif", "--out", str(out_file), "--database", filled
    )
    assert code == 0
    sarif = json.loads(out_file.read_text())
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "medcyber"
    rule_ids = [r["id"] for r in rules]
    assert len(rule_ids) == len(set(rule_ids))
    assert run["results"]
    for res in run["results"]:
        assert res["ruleId"] == rule_ids[res["ruleIndex"]]
        assert res["level"] in ("error", "warning", "note", "none")
        assert res["message"]["text"]
        (loc,) = res["locations"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == sboms["with-windows"].as_posix()
        assert loc["logicalLocations"][0]["name"] and loc["logicalLocations"][0]["kind"] == "module"
    bk = next(r for r in run["results"] if r["ruleId"] == "CVE-2019-0708")
    assert bk["level"] == "error" and bk["properties"]["kev"] is True
    for r in rules:
        assert r["shortDescription"]["text"] and r["defaultConfiguration"]["level"]


def test_table_and_html(filled: str, sboms: dict[str, Path], tmp_path: Path) -> None:
    code, out = _run(str(sboms["pypi"]), "--database", filled)
    assert code == 0
    assert "CVE-2018-18074" in out and "not evaluated" in out.lower() and "in-house-lib" in out
    html = tmp_path / "scan.html"
    code, _ = _run(str(sboms["with-windows"]), "--format", "html", "--out", str(html), "--database", filled)
    assert code == 0
    text = html.read_text()
    assert text.startswith("<!DOCTYPE html>") and "CVE-2019-0708" in text and "KEV" in text
    assert "<script" not in text and "http" not in text.split("<body>")[0].replace("https://", "")  # no CDN


@pytest.mark.parametrize(
    ("sbom", "fail_on", "code"),
    [
        ("pypi", None, 0),
        ("pypi", "critical", 0),  # the PyPI components' worst scored finding is high (8.1)
        ("pypi", "high", 1),
        ("pypi", "medium", 1),
        ("pypi", "kev", 0),
        ("with-windows", "critical", 1),  # BlueKeep on Windows 7 SP1
        ("with-windows", "kev", 1),
    ],
)
def test_fail_on_exit_codes(
    filled: str, sboms: dict[str, Path], sbom: str, fail_on: str | None, code: int
) -> None:
    args = [str(sboms[sbom]), "--format", "json", "--database", filled]
    if fail_on:
        args += ["--fail-on", fail_on]
    got, out = _run(*args)
    assert got == code, out


def test_usage_and_store_errors(filled: str, sboms: dict[str, Path], tmp_path: Path) -> None:
    assert _run(str(sboms["pypi"]), "--fail-on", "severe", "--database", filled)[0] == 2
    assert _run(str(sboms["pypi"]), "--format", "xml", "--database", filled)[0] == 2
    code, out = _run(str(tmp_path / "missing.json"), "--database", filled)
    assert code == 1 and "no such file" in out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": 3}]}))
    code, out = _run(str(bad), "--database", filled)
    assert code == 1 and "--lenient" in out
    # a directory where the SQLite file should be: the store cannot be opened
    code, out = _run(str(sboms["pypi"]), "--database", f"sqlite:///{tmp_path}")
    assert code == 3


def test_empty_store_says_what_to_do(
    tmp_path: Path, sboms: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDCYBER_HOME", str(tmp_path / "home"))
    code, out = _run(str(sboms["pypi"]), "--database", f"sqlite:///{tmp_path / 'empty.db'}")
    assert code == 1
    assert "no advisories in the store" in out and "medcyber vulns sync" in " ".join(out.split())


def test_medical_device_sbom(filled: str, shared_data: Path) -> None:
    sbom = shared_data / "sbom" / "medical-device-case-study" / "narrow.sbom.json"
    code, data = _json(str(sbom), "--database", filled, "--fail-on", "critical")
    assert code == 1  # wolfSSL 4.8.1: CVE-2022-42905 (9.1 critical)
    assert {f["id"] for f in data["findings"] if f["name"] == "WolfSSL"} == {
        "CVE-2022-42905",
        "CVE-2023-3724",
    }


def test_index_is_cached_per_generation(filled: str, tmp_path: Path) -> None:
    from medcyber.vulns import matcher

    store = Store(filled)
    try:
        with store.session() as session:
            first = matcher.load_index(session)
            assert matcher.load_index(session) is first  # the process cache
            matcher._PROCESS_CACHE.clear()
            again = matcher.load_index(session)  # from the pickle in MEDCYBER_HOME/cache
            assert again is not first and again.stats() == first.stats()
            assert list((tmp_path / "home" / "cache").glob("vuln-index-*.pickle"))
            vulndb.bump_generation(session)
            rebuilt = matcher.load_index(session)
            assert rebuilt.generation != first.generation
    finally:
        store.dispose()
